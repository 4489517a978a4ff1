"""Call history for people: post-call reports, the list of calls, recordings and who
started them, the retention purge that redacts caller IDs once their time is up and
deletes recordings once theirs is, and a host's purge of one call now.

The report is built by ``bridge.reports`` from rows the store reads; this module fetches
them (the database, the recordings folder) and hands them over. The same object serves
the running service (panel, API) and the CLI, which opens the database itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from bridge.domain.privacy import retention_cutoff
from bridge.errors import ActionRefused, NoSuchCall, NoSuchRecording
from bridge.recordings import (
    list_recordings,
    recording_room,
    recording_started_at,
    wav_duration,
)
from bridge.reports import CallListItem, Report, build_report, call_list_item
from bridge.reports.build import RECORDING_SLACK
from bridge.reports.rows import RecordingFile
from bridge.store import reports, retention, turns
from bridge.store.audit import ActionRecord, add_action
from bridge.store.db import Database
from bridge.store.retention import PurgedCall, PurgeResult

log = logging.getLogger(__name__)

FIRST_PURGE_DELAY = 30.0  # seconds after start: let the resync settle first


@dataclass(frozen=True)
class RecordingInfo:
    file: str
    room: str
    started_at: datetime | None
    started_by: str | None  # None: not in the history (made before it was kept, or purged)
    duration: float
    size: int


@dataclass(frozen=True)
class CallPurge:
    """What a host's purge of one call did."""

    call: PurgedCall
    at: datetime
    recordings: tuple[str, ...]  # file names deleted


class CallReports:
    def __init__(
        self,
        db: Database,
        recordings_dir: Path,
        retention_days: int,
        recording_retention_days: int | None = None,  # None: recordings are kept
        audit_written: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        # The audit trail writes its rows after the action's answer: a report or a purge
        # waits for those still being written (the service's trail; none elsewhere).
        self._audit_written = audit_written
        self.recordings_dir = recordings_dir
        self.retention_days = retention_days
        self.recording_retention_days = recording_retention_days

    async def list_calls(
        self,
        room: str | None = None,
        limit: int = 50,
        rooms: Collection[str] | None = None,
        practice: bool = False,
    ) -> list[CallListItem]:
        """The newest calls first; only those in ``rooms`` when given. Practice rooms'
        calls only when their room is named, or ``practice`` (then only them)."""
        async with self.db.sessions() as session:
            rows = await reports.list_calls(
                session, room=room, limit=limit, rooms=rooms, practice=practice
            )
        now = datetime.now(UTC)
        return [call_list_item(row, now) for row in rows]

    async def room_of(self, call_id: int) -> str:
        """The room call ``call_id`` was in (rights to read its report follow the room)."""
        async with self.db.sessions() as session:
            room = await reports.call_room(session, call_id)
        if room is None:
            raise NoSuchCall(call_id)
        return room

    async def report(
        self,
        call_id: int,
        *,
        redact_caller_ids: bool,
        numbers: Callable[[str], str] | None = None,
    ) -> Report:
        """The report of call ``call_id``; ``redact_caller_ids`` unless the reader has
        rights to the call's room (then caller IDs show only their last two digits);
        ``numbers``: how a reader with rights sees numbers when not whole (an assistant)."""
        await self._settled()
        async with self.db.sessions() as session:
            history = await reports.load_call(session, call_id)
        if history is None:
            raise NoSuchCall(call_id)
        files = await asyncio.to_thread(self._recordings_of, history.call.room)
        return build_report(
            history,
            files,
            redact_caller_ids=redact_caller_ids,
            now=datetime.now(UTC),
            numbers=numbers,
        )

    def _recordings_of(self, room: str) -> list[RecordingFile]:
        if not self.recordings_dir.is_dir():
            return []
        return [
            RecordingFile(path.name, path.stat().st_size, wav_duration(path))
            for path in sorted(self.recordings_dir.glob(f"{room}-*.wav"))
        ]

    async def recordings(self, may_see: Callable[[str], bool]) -> list[RecordingInfo]:
        """The recordings on disk of the rooms ``may_see`` accepts, oldest first, with who
        started each (where the history says)."""
        found = [
            (room, item)
            for item in await asyncio.to_thread(list_recordings, self.recordings_dir)
            if (room := recording_room(item.path.name)) is not None and may_see(room)
        ]
        async with self.db.sessions() as session:
            starters = await reports.recording_starters(session, [i.path.name for _, i in found])
        return [
            RecordingInfo(
                file=item.path.name,
                room=room,
                started_at=recording_started_at(room, item.path.name),
                started_by=starters.get(item.path.name),
                duration=round(item.duration, 2),
                size=item.size,
            )
            for room, item in found
        ]

    def recording_file(self, name: str) -> tuple[str, Path]:
        """The room and path of recording ``name``; ``NoSuchRecording`` for anything that
        is not a recording's name in the folder (no path ever leaves it)."""
        room = recording_room(name)
        path = self.recordings_dir / name
        if room is None or not path.is_file():
            raise NoSuchRecording(name)
        return room, path

    async def recording_started(
        self, room: str, file_name: str, started_by: str, at: float
    ) -> None:
        async with self.db.sessions.begin() as session:
            await turns.record_recording_start(
                session, room=room, file_name=file_name, at=at, started_by=started_by
            )

    # ---- retention --------------------------------------------------------------------

    async def _settled(self) -> None:
        if self._audit_written is not None:
            await self._audit_written()

    async def purge(self, now: datetime | None = None) -> PurgeResult:
        """Redact caller IDs of calls that ended more than the retention period ago, and
        delete recordings last written more than theirs ago."""
        now = now or datetime.now(UTC)
        gone: list[Path] = []
        if self.recording_retention_days is not None:
            cutoff = retention_cutoff(now, self.recording_retention_days).timestamp()
            gone = await asyncio.to_thread(self._delete_recordings, cutoff)
        await self._settled()
        async with self.db.sessions.begin() as session:
            result = await retention.purge_history(
                session, retention_cutoff(now, self.retention_days), now
            )
            for room, started in _starts(gone):
                await retention.mark_recordings_purged(session, room, started, now)
        result = replace(result, recordings_deleted=tuple(path.name for path in gone))
        if not result.nothing_done:
            log.info(
                "history.purged calls=%d pin_failures=%d audit_rows=%d recordings=%d "
                "retention_days=%d recording_retention_days=%s",
                len(result.calls),
                result.pin_failures_deleted,
                result.audit_rows_redacted,
                len(gone),
                self.retention_days,
                self.recording_retention_days,
            )
        return result

    def _delete_recordings(self, written_before: float) -> list[Path]:
        gone = []
        for item in list_recordings(self.recordings_dir):
            if recording_room(item.path.name) and item.path.stat().st_mtime < written_before:
                item.path.unlink(missing_ok=True)
                gone.append(item.path)
        return gone

    async def purge_call(self, call_id: int, actor: str) -> CallPurge:
        """Delete call ``call_id``'s history and recordings now, for ``actor`` (the rights
        were checked by whoever asks); the audit trail keeps who, which call and when."""
        await self._settled()
        now = datetime.now(UTC)
        async with self.db.sessions.begin() as session:
            call = await reports.find_call(session, call_id)
            if call is None:
                raise NoSuchCall(call_id)
            if call.ended_at is None:
                raise ActionRefused(f"call {call_id} is still going on: purge it once it ends")
            if call.purged_at is not None:
                raise ActionRefused(
                    f"call {call_id} was purged on {call.purged_at:%Y-%m-%d %H:%M} UTC"
                )
            files = await asyncio.to_thread(
                self._recordings_between, call.room_name, call.started_at, call.ended_at
            )
            purged = await retention.purge_call(session, call, now)
            if files:
                call.recordings_purged_at = now
            record = ActionRecord(
                room=call.room_name,
                at=now,
                actor=actor,
                action="purge call",
                arguments=json.dumps({"call": call_id}),
                message=f"{purged.legs} stays, {purged.turns} turns, {purged.stack_events} "
                f"stack events, {purged.audit_rows} audit rows, {len(files)} recordings deleted",
                call_id=call_id,
            )
            await add_action(session, record)
        for path in files:  # once the history is gone: a failure here is said, not hidden
            await asyncio.to_thread(path.unlink, missing_ok=True)
        log.info("history.call_purged call=%d room=%s actor=%s", call_id, call.room_name, actor)
        return CallPurge(purged, now, tuple(path.name for path in files))

    def _recordings_between(self, room: str, begin: datetime, end: datetime) -> list[Path]:
        return [
            item.path
            for item in list_recordings(self.recordings_dir)
            if (started := recording_started_at(room, item.path.name)) is not None
            and begin - RECORDING_SLACK <= started <= end + RECORDING_SLACK
        ]

    async def keep_retention(self, every: float) -> None:
        """The service's own purge, now and then, until cancelled. A failed purge (the
        database away) is logged and tried again next time; it never stops the service."""
        await asyncio.sleep(min(FIRST_PURGE_DELAY, every))
        while True:
            try:
                await self.purge()
            except Exception as exc:  # the database may be away: try again next round
                log.error("history.purge_failed reason=%r", exc)
            await asyncio.sleep(every)


def _starts(files: list[Path]) -> list[tuple[str, datetime]]:
    """Each recording's room and start, as its name says."""
    found = []
    for path in files:
        room = recording_room(path.name)
        started = recording_started_at(room, path.name) if room else None
        if room and started:
            found.append((room, started))
    return found
