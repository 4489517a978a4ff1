"""A caller whose number is in the directory of known numbers is labelled "name, place" as
they join, in the roster and the API, until a moderator gives another label."""

from __future__ import annotations

import time

from bridge.domain.events import ParticipantJoined, Role, RoomStarted
from bridge.domain.known_callers import known_caller
from bridge.service.room_view import room_view
from bridge.store.known_callers import IMPORTED, store_known
from tests.adapters.conftest import Web
from tests.support import eventually

ROOM = "e2e-open"


async def test_a_known_number_is_labelled_at_entry_until_a_moderator_labels_it(
    web_app: Web,
) -> None:
    service = web_app.service
    async with service.db.sessions() as session, session.begin():
        await store_known(
            session,
            [known_caller("+1 555 012 3456", "Alex", "Occupy Oakland")],
            IMPORTED,
            replace=False,
        )
    now = time.time()
    service.roster.receive(RoomStarted(ROOM, now))
    service.roster.receive(
        ParticipantJoined(ROOM, "PJSIP/anonymous-1", "15550123456", Role.PARTICIPANT, True, now)
    )
    service.roster.receive(
        ParticipantJoined(ROOM, "PJSIP/anonymous-2", "5550100", Role.PARTICIPANT, True, now)
    )
    spec = await service.find_room(ROOM)

    def labels() -> dict[str, str]:
        return room_view(service, spec).names

    await eventually(lambda: labels() == {"PJSIP/anonymous-1": "Alex, Occupy Oakland"}, timeout=5)
    service.labels.give(ROOM, "PJSIP/anonymous-1", "Alex (facilitator)")
    assert labels() == {"PJSIP/anonymous-1": "Alex (facilitator)"}
