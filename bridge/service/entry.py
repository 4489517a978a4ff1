"""The entry desk: what the FastAGI dialogue on the shared number asks of the service.

Which PIN opens which room as what (the rules are in ``bridge.domain.entry``), lockouts
for guessing, and the count of callers in the dialogue right now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

from bridge.domain.entry import (
    Admission,
    LiveRoomFacts,
    LockoutPolicy,
    PinOutcome,
    Refusal,
    admit,
    lockout_bucket,
)
from bridge.domain.roster import Switchboard
from bridge.settings import Settings
from bridge.store import lockouts
from bridge.store.db import Database
from bridge.store.room_cache import RoomCache

log = logging.getLogger(__name__)

CALLER_ID_LIMIT = 80  # SIP puts no bound on a caller ID; the database does


class EntryDesk:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        switchboard: Switchboard,
        notify: Callable[[], None],
        count: Callable[[Admission | Refusal], None] | None = None,
    ) -> None:
        self.db = db
        self.switchboard = switchboard
        self._notify = notify
        self._count = count or (lambda _: None)  # metrics: admissions, refusals by reason
        self.policy = LockoutPolicy(
            threshold=settings.lockout_threshold,
            window=timedelta(seconds=settings.lockout_window_seconds),
            duration=timedelta(seconds=settings.lockout_duration_seconds),
            anonymous_threshold=settings.anonymous_lockout_threshold,
        )
        self.entry_requests = 0  # dialogues started since the service started
        self.dialogues: set[str] = set()  # channels in the PIN dialogue right now
        # Decisions for one lockout bucket run one at a time, so its counts stay exact;
        # callers in different buckets never wait for each other.
        self._bucket_locks = KeyedLocks()
        self.rooms = RoomCache()
        self._matched: list[tuple[str, datetime]] = []  # (bucket, when): not yet written
        self._writer: asyncio.Task[None] | None = None

    def call_entered(self, channel: str, caller_id: str) -> None:
        self.entry_requests += 1
        self.dialogues.add(channel)
        log.debug("entry.call channel=%s", channel)
        self._notify()

    def dialogue_ended(self, channel: str) -> None:
        self.dialogues.discard(channel)
        self._notify()

    async def is_locked_out(self, caller_id: str) -> bool:
        caller_id = caller_id[:CALLER_ID_LIMIT]
        async with self.db.sessions() as session:
            found = await lockouts.active_lockout(session, lockout_bucket(caller_id), _now())
        if found is not None:
            log.warning("entry.locked_out caller=%s until=%s", caller_id, found.until.isoformat())
            self._count(Refusal.LOCKED_OUT)
        return found is not None

    async def try_pin(self, caller_id: str, digits: str) -> PinOutcome:
        outcome = await self._judge_pin(caller_id, digits)
        self._count(outcome.decision)
        return outcome

    async def _judge_pin(self, caller_id: str, digits: str) -> PinOutcome:
        """Decide one typed PIN. The caller waits for two primary-key reads (their lockout,
        the rooms' revision) and, for a wrong PIN only, the write that counts it: a PIN that
        matched is written down after the caller is answered (``_write_matched``)."""
        bucket = lockout_bucket(caller_id[:CALLER_ID_LIMIT])
        async with self._bucket_locks.hold(bucket):
            now = _now()
            async with self.db.sessions() as session:
                if await lockouts.active_lockout(session, bucket, now) is not None:
                    return PinOutcome(Refusal.LOCKED_OUT)
                match = await self.rooms.match(session, digits)
            live = self.switchboard.room(match.room.name) if match else None
            facts = LiveRoomFacts(live.count, live.locked) if live else LiveRoomFacts()
            decision = admit(
                match.room if match else None,
                match.role if match else None,
                match.retired if match else False,
                facts,
            )
            if decision is Refusal.WRONG_PIN:
                async with self.db.sessions.begin() as session:
                    locked_now = await lockouts.record_failure(session, bucket, now, self.policy)
                log.info(
                    "entry.pin_attempt caller=%s result=wrong locked_out=%s", caller_id, locked_now
                )
                return PinOutcome(decision, locked_out_now=locked_now)
        self._matched.append((bucket, now))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_matched(), name="entry-attempts"
            )
        result = decision.role if isinstance(decision, Admission) else decision.value
        log.debug("entry.pin_attempt caller=%s result=%s", caller_id, result)
        return PinOutcome(decision)

    async def _write_matched(self) -> None:
        """Write the matched PINs down, in one transaction per batch. Only wrong PINs count
        towards a lockout, so these rows (the record of who got in) can wait: a commit each,
        under the caller's feet, cost milliseconds and, with callers deciding at once,
        SQLite's busy back-off (up to a second at 20 at once)."""
        while self._matched:
            batch, self._matched = self._matched, []
            try:
                async with self.db.sessions.begin() as session:
                    for bucket, at in batch:
                        await lockouts.record_success(session, bucket, at)
            except Exception:
                log.exception("entry.attempts_unwritten count=%d", len(batch))

    async def flushed(self) -> None:
        """Until every matched PIN so far is written (the service waits for it on stop)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)


class KeyedLocks:
    """One asyncio lock per key, made on first use and dropped when nobody holds or waits."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


def _now() -> datetime:
    return datetime.now(UTC)
