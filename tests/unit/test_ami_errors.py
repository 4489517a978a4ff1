"""Asterisk's error replies become named exceptions a moderator can read."""

from __future__ import annotations

import pytest

from bridge.asterisk.ami import error_for
from bridge.errors import (
    ActionRefused,
    AlreadyRecording,
    NoSuchParticipant,
    NoSuchRoom,
    NotRecording,
)

MUTE = {"Action": "ConfbridgeMute", "Conference": "ga", "Channel": "PJSIP/anonymous-0001"}


@pytest.mark.parametrize(
    ("action", "message", "kind"),
    [
        (MUTE, "No active conferences.", NoSuchRoom),
        (MUTE, "No Conference by that name found.", NoSuchRoom),
        (MUTE, "No Channel by that name found in Conference.", NoSuchParticipant),
        ({"Action": "ConfbridgeStartRecord", "Conference": "ga"},
         "Conference is already being recorded.", AlreadyRecording),
        ({"Action": "ConfbridgeStopRecord", "Conference": "ga"},
         "Internal error while stopping recording.", NotRecording),
        (MUTE, "Permission denied", ActionRefused),
    ],
)  # fmt: skip
def test_asterisk_error_text_maps_to_a_named_exception(
    action: dict[str, str], message: str, kind: type
) -> None:
    assert isinstance(error_for(action, message), kind)


def test_a_missing_participant_is_named_with_room_and_channel() -> None:
    error = error_for(MUTE, "No Channel by that name found in Conference.")
    assert str(error) == "'PJSIP/anonymous-0001' is not in room 'ga' (any more)"


def test_an_unknown_failure_keeps_asterisks_words() -> None:
    assert str(error_for(MUTE, "Permission denied")) == "ConfbridgeMute failed: Permission denied"
