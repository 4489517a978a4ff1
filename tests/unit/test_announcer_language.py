"""The announcer plays in the room's language: its playing half gets CHANNEL(language)."""

from __future__ import annotations

import pytest

from bridge.asterisk.announcer import (
    NAME_COUNT,
    RECORDING_STARTED,
    announce_action,
    cue_action,
    hold_action,
    name_action,
    name_count_action,
)
from bridge.errors import BadField


def test_an_announcement_plays_in_the_rooms_language() -> None:
    action = announce_action("asamblea", RECORDING_STARTED, "es")
    assert action["Variable"] == "CHANNEL(language)=es"


def test_a_cue_keeps_its_variables_and_adds_the_language() -> None:
    action = cue_action("asamblea", "/sounds/cue-starting", loops=False, language="fr")
    assert action["Variable"] == (
        "IOBRIDGE_CUE=/sounds/cue-starting,IOBRIDGE_CUE_ROOM=asamblea,CHANNEL(language)=fr"
    )


def test_english_unless_told_and_no_language_that_is_not_one() -> None:
    assert announce_action("lobby", RECORDING_STARTED)["Variable"] == "CHANNEL(language)=en"
    with pytest.raises(BadField):
        cue_action("lobby", "/sounds/cue-chime", loops=False, language="es,X=1")


def test_the_holder_stays_silent_in_a_room_or_in_none_that_is_not_a_room() -> None:
    action = hold_action("ga")
    assert (action["Channel"], action["Context"], action["Exten"]) == (
        "Local/ga@iobridge-announce/n",
        "iobridge-announce-play",
        "hold",
    )
    with pytest.raises(BadField):
        hold_action("ga;x")


def test_a_name_and_a_count_of_names_play_in_the_rooms_language() -> None:
    action = name_action("asamblea", "/names/asamblea-1.2", joined=True, language="es")
    assert action["Variable"] == "IOBRIDGE_CUE=/names/asamblea-1.2,CHANNEL(language)=es"
    counted = name_count_action("asamblea", joined=12, left=3, language="fr")
    assert counted["Exten"] == NAME_COUNT
    assert counted["Variable"] == "IOBRIDGE_JOINED=12,IOBRIDGE_LEFT=3,CHANNEL(language)=fr"


def test_a_count_of_nobody_is_not_announced() -> None:
    with pytest.raises(BadField):
        name_count_action("asamblea", joined=0, left=0)
    with pytest.raises(BadField):
        name_count_action("asamblea", joined=-1, left=2)
