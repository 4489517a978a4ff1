"""A room in session for hours with callers coming and going: the service keeps nothing
per caller long gone (a soak's memory grew with every call until the room ended)."""

from __future__ import annotations

import time

import pytest

from bridge.domain.events import ParticipantJoined, ParticipantLeft, Role, TalkingChanged
from bridge.service.speakers import LEFT_KEPT
from tests.adapters.conftest import Web

ROOM = "e2e-open"


async def test_a_long_room_keeps_the_talk_time_of_recent_leavers_only(web_app: Web) -> None:
    roster, floor = web_app.service.roster, web_app.service.speakers
    start = time.time()
    holder = ParticipantJoined(ROOM, "PJSIP/holder-1", "100", Role.PARTICIPANT, False, start)
    roster.receive(holder)  # the room never empties: its call never ends
    for n in range(300):  # one caller every 10 s for 50 minutes, each talking 2 s
        at, channel = start + 10 * n, f"PJSIP/c-{n:05d}"
        roster.receive(ParticipantJoined(ROOM, channel, f"555{n}", Role.PARTICIPANT, False, at))
        roster.receive(TalkingChanged(ROOM, channel, True, at + 1))
        roster.receive(TalkingChanged(ROOM, channel, False, at + 3))
        roster.receive(ParticipantLeft(ROOM, channel, at + 5))
    assert floor.talk_times_kept <= LEFT_KEPT / 10 + 2
    # A turn that ends just after its speaker left still finds their talk time.
    assert floor.talk_time_of("PJSIP/c-00299", start + 3000) == pytest.approx(2.0)
    assert floor.talk_time_of("PJSIP/c-00000", start + 3000) == 0.0  # long gone: forgotten
