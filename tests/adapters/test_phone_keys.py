"""A moderator's keys on the phone reach the action table only for a moderator: a
participant's channel sending them (no menu of theirs has them) is refused and changes
nothing; any other key goes on to the room's keys."""

from __future__ import annotations

import time

from bridge.domain.events import ParticipantJoined, Role, RoomStarted
from bridge.phone_keys import MODERATOR_KEYS, PhoneKeypad, phone_actor
from tests.adapters.conftest import Web

ROOM = "e2e-panel"


async def test_a_participant_sending_a_moderators_key_is_refused(web_app: Web) -> None:
    service = web_app.service
    now = time.time()
    service.roster.receive(RoomStarted(ROOM, now))
    service.roster.receive(
        ParticipantJoined(ROOM, "PJSIP/anonymous-1", "5550123", Role.PARTICIPANT, False, now)
    )
    keypad = PhoneKeypad(service)
    for key in sorted(MODERATOR_KEYS):
        answer = await keypad.key_pressed(ROOM, "PJSIP/anonymous-1", "5550123", key)
        assert answer.heard == "key_not_available", key
    live = service.switchboard.room(ROOM)
    assert live is not None and not live.locked


def test_the_audit_names_a_phone_moderator_by_number_or_says_phone_moderator() -> None:
    assert phone_actor("5550123") == "5550123 (phone)"
    assert phone_actor("anonymous") == phone_actor("") == "phone moderator"
