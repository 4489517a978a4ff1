"""Breakouts across a service restart, on the real Asterisk with SIPp callers: the callers
stay in their groups' conferences while no service runs; the restarted service carries the
breakout on (the same groups, ended by a moderator as before), or, when its end passed
while the service was down, ends it at start and brings everyone back to the main room."""

from __future__ import annotations

import asyncio
import time

from bridge.domain.breakouts import SplitBy, conference_name
from bridge.runtime import Runtime
from bridge.service import BridgeService
from bridge.store.breakouts import saved_breakouts
from tests.integration.conftest import Dial, unique_caller_id
from tests.support import AmiWatcher, event, eventually

ROOM, PIN = "e2e-breakout-restart", "6262#"


def running(runtime: Runtime) -> BridgeService:
    assert runtime.service is not None
    return runtime.service


async def four_callers_in_two_groups(
    dial: Dial, ami: AmiWatcher, service: BridgeService, minutes: float
) -> dict[str, set[str]]:
    """Four callers split into two groups; each group's channels once Asterisk has them there."""
    mark = ami.mark()
    ids = [unique_caller_id("brr") for _ in range(4)]
    await asyncio.gather(*(dial(PIN, caller_id=c, stay=120) for c in ids))
    channels = [
        str(
            (await ami.wait_for(event("ConfbridgeJoin", CallerIDNum=c), mark, timeout=60))[
                "Channel"
            ]
        )
        for c in ids
    ]
    await service.roster.wait_until(
        lambda: all(service.switchboard.room_of(c) == ROOM for c in channels)
    )
    shown = await service.breakouts.start(
        ROOM, groups=2, size=None, minutes=minutes, by=SplitBy.RANDOM
    )
    groups = {
        str(g["name"]): {str(m["channel"]) for m in g["members"]}  # type: ignore[index]
        for g in shown["groups"]  # type: ignore[attr-defined]
    }
    assert sorted(c for members in groups.values() for c in members) == sorted(channels)
    for group, members in groups.items():
        for channel in members:
            await ami.wait_for(
                event("ConfbridgeJoin", Channel=channel, Conference=conference_name(ROOM, group)),
                since=mark,
                timeout=30,
            )
    return groups


async def in_conference(service: BridgeService, conference: str) -> set[str]:
    items = await service.pbx_directory.bridge_for(ROOM)._list(
        "ConfbridgeList", Conference=conference
    )
    return {
        str(i["Channel"])
        for i in items
        if i.get("Event") == "ConfbridgeList" and str(i["Channel"]).startswith("PJSIP/")
    }


async def everyone_back_in_the_main_room(service: BridgeService, channels: set[str]) -> None:
    async def back() -> bool:
        live = service.switchboard.room(ROOM)
        return (
            live is not None
            and all(live.participants[c].group is None for c in channels if c in live.participants)
            and await in_conference(service, ROOM) == channels
        )

    await eventually(back, timeout=30)
    async with service.db.sessions() as session:
        assert ROOM not in await saved_breakouts(session)


async def test_a_breakout_goes_on_after_a_service_restart_and_ends_as_before(
    runtime: Runtime, dial: Dial, ami: AmiWatcher
) -> None:
    groups = await four_callers_in_two_groups(dial, ami, running(runtime), minutes=10)
    before = running(runtime).breakouts.show(ROOM)
    assert before is not None
    mark = ami.mark()

    await runtime.restart_service()
    service = running(runtime)
    await eventually(lambda: service.breakouts.show(ROOM) is not None, timeout=20)
    after = service.breakouts.show(ROOM)
    assert after is not None
    assert after["groups"] == before["groups"]
    assert after["ends_at"] == before["ends_at"]
    for group, members in groups.items():  # nobody was moved: they stayed where they were
        assert await in_conference(service, conference_name(ROOM, group)) == members
    everyone = set().union(*groups.values())
    assert not [
        e
        for e in ami.events[mark:]
        if e.get("Event") == "ConfbridgeJoin" and e.get("Channel") in everyone
    ]

    await service.breakouts.end(ROOM)
    await everyone_back_in_the_main_room(service, everyone)
    assert service.breakouts.show(ROOM) is None


async def test_a_breakout_whose_end_passed_while_the_service_was_down_ends_at_start(
    runtime: Runtime, dial: Dial, ami: AmiWatcher
) -> None:
    minutes = 0.5  # 30 seconds: the minimum is more than 0
    groups = await four_callers_in_two_groups(dial, ami, running(runtime), minutes=minutes)
    shown = running(runtime).breakouts.show(ROOM)
    assert shown is not None
    ends_at = float(shown["ends_at"])  # type: ignore[arg-type]

    await runtime.stop_service()
    try:
        for group, members in groups.items():  # no clock brings them back while none runs
            assert runtime.asterisk is not None
            _, listed = await runtime.asterisk.cli(
                f"confbridge list {conference_name(ROOM, group)}"
            )
            assert members <= {line.split()[0] for line in listed.splitlines() if line}, listed
        await asyncio.sleep(max(0.0, ends_at - time.time()) + 1)
    finally:  # the session's other tests need a service, whatever happened here
        await runtime.start_service()
        await runtime.wait_connected()

    service = running(runtime)
    await everyone_back_in_the_main_room(service, set().union(*groups.values()))
    assert service.breakouts.show(ROOM) is None
