"""The recorder's AMI actions: a Local channel named after the recording, stopped by name."""

from __future__ import annotations

import re

import pytest

from bridge.asterisk.recorder import is_recorder, start_action, stop_action
from bridge.errors import BadField


def test_the_recorder_is_originated_into_the_dialplan_never_as_an_application() -> None:
    action = start_action("ga-20261126-101010")
    # Originate with an Application would need "system" for MixMonitor; the dialplan does it.
    assert "Application" not in action
    assert action["Channel"] == "Local/ga-20261126-101010@iobridge-recorder/n"
    assert (action["Context"], action["Exten"]) == ("iobridge-recorder-watch", action["Exten"])
    assert action["Async"] == "false"


def test_stopping_hangs_up_only_that_rooms_recorder() -> None:
    pattern = stop_action("ga")["Channel"]
    assert pattern.startswith("/") and pattern.endswith("/")
    regex = re.compile(pattern[1:-1].replace("\\/", "/"))
    assert regex.match("Local/ga-20261126-101010@iobridge-recorder-0000001a;1")
    assert not regex.match("Local/ga-national-20261126-101010@iobridge-recorder-0000001a;1")
    assert not regex.match("PJSIP/ga-20261126-101010")


@pytest.mark.parametrize("room", ["ga.*", "", "GA", "a/b", "x|y"])
def test_a_room_name_that_is_no_slug_never_reaches_the_regex(room: str) -> None:
    with pytest.raises(BadField):
        stop_action(room)


def test_the_recorder_is_recognised_by_its_channel_name() -> None:
    assert is_recorder("Local/ga-national-20261126-101010@iobridge-recorder-0000001a;2")
    assert not is_recorder("Local/ga-national-20261126-101010@iobridge-recorder-0000001a;3")
    assert not is_recorder("PJSIP/anonymous-00000003")
