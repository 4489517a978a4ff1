"""A speaker floor (the stack's service part) over a stand-in for a node's ConferenceBridge,
with a real roster and database: for adapter tests of what the stack asks the PBX to do."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from bridge.domain.rooms import RoomSpec
from bridge.service.metrics import Metrics
from bridge.service.pbx_directory import PbxDirectory
from bridge.service.roster import LiveRoster
from bridge.service.speakers import SpeakerFloor
from bridge.service.stack_io import HistoryTurns, StackStorage
from bridge.settings import Settings
from bridge.store.db import Database, upgrade
from bridge.store.pin_key import install_pin_key


async def no_room(name: str) -> RoomSpec | None:
    return None  # default rules: the rooms file plays no part here


async def no_earlier_totals(wanted: object) -> dict[tuple[str, str], tuple[float, int]]:
    return {}


@contextlib.asynccontextmanager
async def speaker_floor(
    tmp_path: Path, node: object
) -> AsyncIterator[tuple[SpeakerFloor, LiveRoster]]:
    """The floor and its roster, ``node`` standing for the one node's ConferenceBridge."""
    settings = Settings(state_dir=tmp_path)
    await upgrade(settings.effective_database_url, pin_key=install_pin_key(settings))
    db = Database(settings.effective_database_url)
    pbxs = PbxDirectory.single(node)  # type: ignore[arg-type]
    roster = LiveRoster(pbxs.snapshot, no_earlier_totals, lambda effects: None)
    speakers = SpeakerFloor(
        roster.switchboard,
        roster.changes.publish,
        pbxs,
        no_room,
        StackStorage(db.sessions),
        HistoryTurns(db.sessions, lambda channel, at: 0.0),
        Metrics(lambda: roster.switchboard, lambda: True),
    )
    roster.add_listener(speakers.on_event)
    running = asyncio.get_running_loop().create_task(speakers.run())
    try:
        yield speakers, roster
    finally:
        speakers.close()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await db.dispose()
