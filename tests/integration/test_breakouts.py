"""Breakouts end to end: nine SIPp callers split by a list file into three groups with
`iobridge breakout`; each group's ConfBridge holds its three and nobody else (the main room
held open by the announcer meanwhile), and each talker is heard in their group's conference;
"two minutes left" and the broadcast reach every group; *0 in a group asks for a moderator;
`end` brings all nine back to the main room, no call dropped, the speaker stack as it was."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from bridge.cli import main
from bridge.domain.breakouts import conference_name
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.store.breakouts import BreakoutStint
from tests.integration.conftest import Dial, fresh_loopback, unique_caller_id
from tests.support import AmiWatcher, event, eventually

ROOM, PIN = "e2e-breakouts", "8989#"
GROUPS = ("group-1", "group-2", "group-3")


async def cli(settings: Settings, *args: str) -> Any:
    env = {
        "IOBRIDGE_STATE_DIR": str(settings.state_dir),
        "IOBRIDGE_HTTP_PORT": str(settings.http_port),
    }
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


async def members(service: BridgeService, conference: str) -> set[str]:
    items = await service.pbx_directory.bridge_for(ROOM)._list(
        "ConfbridgeList", Conference=conference
    )
    # The bridge's own announcer (a Local channel in [iobridge-announce]) is in a group for
    # the moment it plays "you are in group N" or a warning: a player, not a member.
    return {
        str(i["Channel"])
        for i in items
        if i.get("Event") == "ConfbridgeList" and "@iobridge-announce-" not in str(i["Channel"])
    }


def joins(conference: str, channel_prefix: str) -> Callable[[dict[str, Any]], bool]:
    def match(item: dict[str, Any]) -> bool:
        return (
            item.get("Event") == "ConfbridgeJoin"
            and item.get("Conference") == conference
            and str(item.get("Channel", "")).startswith(channel_prefix)
        )

    return match


def queue(service: BridgeService) -> list[str]:
    stack = service.speakers.snapshot(ROOM)
    return [] if stack is None else [e["channel"] for e in stack["queue"]]


async def test_nine_callers_meet_in_three_groups_and_come_back_with_their_stack_places(
    dial: Dial,
    ami: AmiWatcher,
    service: BridgeService,
    runtime_settings: Settings,
    tmp_path: Path,
) -> None:
    ids = [unique_caller_id("brk") for _ in range(9)]
    talkers = {ids[0], ids[3], ids[6]}  # one in each group
    hands = {ids[1]: ("*9", "*0"), ids[4]: ("*9",)}  # on the stack before; *0 in group-1
    mark = ami.mark()
    callers = await asyncio.gather(
        *(
            dial(
                PIN,
                caller_id=c,
                audio=c in talkers,
                later_keys=hands.get(c, ()),
                stay=90,
                local_ip=fresh_loopback(),
            )
            for c in ids
        )
    )
    channel = {}
    for caller_id in ids:
        joined = await ami.wait_for(
            event("ConfbridgeJoin", CallerIDNum=caller_id, Conference=ROOM), since=mark, timeout=60
        )
        channel[caller_id] = str(joined["Channel"])
    await service.roster.wait_until(
        lambda: all(service.switchboard.room_of(c) == ROOM for c in channel.values())
    )
    for caller_id in (ids[4], ids[1]):  # the stack: ids[4] first, then ids[1]
        await callers[ids.index(caller_id)].press("*9")
        await eventually(lambda c=caller_id: channel[c] in queue(service), timeout=15)
    stack_before = queue(service)

    listed = tmp_path / "groups.yaml"
    listed.write_text(
        "".join(
            f"{g}: [{', '.join(repr(c) for c in ids[n * 3 : n * 3 + 3])}]\n"
            for n, g in enumerate(GROUPS)
        )
    )
    moved = ami.mark()
    # "two minutes left" 6 s after the start
    await cli(
        runtime_settings, "breakout", ROOM, "start", "--by", "list", "--file", str(listed),
        "--minutes", "2.1",
    )  # fmt: skip
    for n, group in enumerate(GROUPS):
        for caller_id in ids[n * 3 : n * 3 + 3]:
            await ami.wait_for(
                event(
                    "ConfbridgeJoin",
                    Channel=channel[caller_id],
                    Conference=conference_name(ROOM, group),
                ),
                since=moved,
                timeout=30,
            )
    for n, group in enumerate(GROUPS):
        expected = {channel[c] for c in ids[n * 3 : n * 3 + 3]}
        assert await members(service, conference_name(ROOM, group)) == expected
        talker = channel[ids[n * 3]]
        heard = await ami.wait_for(
            event("ConfbridgeTalking", Channel=talker, TalkingStatus="on"), since=moved, timeout=30
        )
        assert heard["Conference"] == conference_name(ROOM, group)
    assert await members(service, ROOM) == set()  # the main room is empty meanwhile
    # ... but for the announcer holding it open: no caller was the last to leave it (the last
    # waits in ConfBridge for the leave beeps queued before to play out: bench/README.md).
    await ami.wait_for(joins(ROOM, f"Local/{ROOM}@iobridge-announce"), since=moved, timeout=5)
    assert not [
        e
        for e in ami.events[moved:]
        if e.get("Event") == "ConfbridgeEnd" and e.get("Conference") == ROOM
    ]
    for group in GROUPS:  # the announcer, in each group
        conference = conference_name(ROOM, group)
        await ami.wait_for(joins(conference, f"Local/{conference}@iobridge-announce"), moved, 30)

    on = ami.mark()
    await cli(runtime_settings, "breakout", ROOM, "broadcast", "on")
    for group in GROUPS:  # each group's listener: ;2 in the group, ;1 in the main room
        conference = conference_name(ROOM, group)
        prefix = f"Local/{conference}@iobridge-broadcast-"
        await ami.wait_for(joins(conference, prefix), since=on, timeout=15)
        await ami.wait_for(joins(ROOM, prefix), since=on, timeout=15)
    await cli(runtime_settings, "breakout", ROOM, "broadcast", "off")

    await callers[1].press("*0")
    shown: dict[str, Any] = {}

    async def asked() -> bool:
        shown.update(json.loads(await cli(runtime_settings, "breakout", ROOM, "show", "--json")))
        return bool(shown["groups"][0]["wants_moderator"])

    await eventually(asked, timeout=15)
    assert [g["name"] for g in shown["groups"]] == list(GROUPS)
    assert [{m["caller_id"] for m in g["members"]} for g in shown["groups"]] == [
        set(ids[0:3]),
        set(ids[3:6]),
        set(ids[6:9]),
    ]

    back = ami.mark()
    await cli(runtime_settings, "breakout", ROOM, "end")
    for caller_id in ids:
        await ami.wait_for(
            event("ConfbridgeJoin", Channel=channel[caller_id], Conference=ROOM),
            since=back,
            timeout=30,
        )
    assert await members(service, ROOM) == set(channel.values())
    live = service.switchboard.room(ROOM)
    assert live is not None
    await service.roster.wait_until(
        lambda: all(p.group is None for p in live.participants.values())
    )
    assert queue(service) == stack_before
    async with service.db.sessions() as session:  # history: who was in which group, how long
        stints = list(
            await session.scalars(select(BreakoutStint).where(BreakoutStint.caller_id.in_(ids)))
        )
    assert {(s.caller_id, s.group_name) for s in stints} == {
        (c, GROUPS[n // 3]) for n, c in enumerate(ids)
    }
    assert all(s.ended_at > s.started_at for s in stints)
    hung_up = {e.get("Channel") for e in ami.events[mark:] if e.get("Event") == "Hangup"}
    assert not hung_up & set(channel.values())  # no call dropped
