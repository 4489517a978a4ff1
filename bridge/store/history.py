"""Call history: one row per call (a room from first join to last leave) and one per
participant leg, written from the roster's effects as events arrive.

After a restart of the service the roster rebuilds from Asterisk, and the effects it
emits find the rows still open and continue them: the same call goes on in the same row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import ScalarSelect, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.domain.roster import (
    CallClosed,
    CallOpened,
    Effect,
    HistoryReconciled,
    LegClosed,
    LegOpened,
    LegReasonCorrected,
    LegUpdated,
)
from bridge.store.models import Call, Leg, Room

log = logging.getLogger(__name__)


def _when(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


async def _open_call(session: AsyncSession, room: str) -> Call | None:
    return await session.scalar(
        select(Call)
        .where(Call.room_name == room, Call.ended_at.is_(None))
        .order_by(Call.id.desc())
        .limit(1)
    )


async def _ensure_call(session: AsyncSession, room: str, at: float) -> Call:
    """The room's open call; opened now if there is none (a restart continues the row)."""
    call = await _open_call(session, room)
    if call is None:
        room_id = await session.scalar(select(Room.id).where(Room.name == room))
        call = Call(room_id=room_id, room_name=room, started_at=_when(at))
        session.add(call)
        await session.flush()
    return call


def _open_call_ids(room: str) -> Select[int]:
    return select(Call.id).where(Call.room_name == room, Call.ended_at.is_(None))


def _last_leg_of(room: str, channel: str) -> ScalarSelect[int]:
    """The id of the channel's latest leg in the room (a channel name is never reused)."""
    return (
        select(Leg.id)
        .join(Call)
        .where(Call.room_name == room, Leg.channel == channel)
        .order_by(Leg.id.desc())
        .limit(1)
        .scalar_subquery()
    )


async def _open_leg(session: AsyncSession, room: str, channel: str) -> Leg | None:
    return await session.scalar(
        select(Leg)
        .join(Call)
        .where(
            Call.room_name == room,
            Call.ended_at.is_(None),
            Leg.channel == channel,
            Leg.left_at.is_(None),
        )
        .order_by(Leg.id.desc())
        .limit(1)
    )


async def open_leg_totals(
    session: AsyncSession, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[float, int]]:
    """Talk time and turns of open legs, by (room, channel), for those in ``wanted``."""
    rows = await session.execute(
        select(Call.room_name, Leg.channel, Leg.talk_time, Leg.turns)
        .join(Call)
        .where(
            Call.ended_at.is_(None),
            Leg.left_at.is_(None),
            Leg.channel.in_({channel for _, channel in wanted}),
        )
        .order_by(Leg.id)  # the newest open leg of a channel wins, as in _open_leg
    )
    return {
        (room, channel): (talk_time, turns)
        for room, channel, talk_time, turns in rows
        if (room, channel) in wanted
    }


async def apply_effects(session: AsyncSession, effects: Iterable[Effect]) -> None:
    """Write effects into the session (the caller commits)."""
    for effect in effects:
        match effect:
            case CallOpened():
                await _ensure_call(session, effect.room, effect.at)
            case CallClosed():
                await session.execute(
                    update(Call)
                    .where(Call.room_name == effect.room, Call.ended_at.is_(None))
                    .values(ended_at=_when(effect.at))
                )
            case LegOpened():
                call = await _ensure_call(session, effect.room, effect.at)
                if await _open_leg(session, effect.room, effect.channel) is None:
                    session.add(
                        Leg(
                            call_id=call.id,
                            channel=effect.channel,
                            caller_id=effect.caller_id[:80],
                            caller_name=effect.caller_name[:120],
                            role=str(effect.role),
                            joined_at=_when(effect.at),
                        )
                    )
                    await session.flush()
            case LegUpdated():
                # The commonest write (every talk spurt's end, every checkpoint): one UPDATE,
                # no row read into the session first.
                await session.execute(
                    update(Leg)
                    .where(
                        Leg.call_id.in_(_open_call_ids(effect.room)),
                        Leg.channel == effect.channel,
                        Leg.left_at.is_(None),
                    )
                    .values(talk_time=effect.talk_time, turns=effect.turns)
                    .execution_options(synchronize_session=False)
                )
            case LegClosed():
                leg = await _open_leg(session, effect.room, effect.channel)
                if leg is not None:
                    leg.left_at = _when(effect.at)
                    leg.leave_reason = effect.reason.value if effect.reason else None
                    leg.talk_time = max(leg.talk_time, effect.talk_time)
                    leg.turns = max(leg.turns, effect.turns)
            case LegReasonCorrected():
                await session.execute(
                    update(Leg)
                    .where(Leg.id == _last_leg_of(effect.room, effect.channel))
                    .values(leave_reason=effect.reason.value)
                    .execution_options(synchronize_session=False)
                )
            case HistoryReconciled():
                await _reconcile(session, effect)
        await session.flush()


async def _reconcile(session: AsyncSession, effect: HistoryReconciled) -> None:
    when = _when(effect.at)
    open_legs = (
        await session.execute(select(Leg, Call.room_name).join(Call).where(Leg.left_at.is_(None)))
    ).all()
    for leg, room in open_legs:
        if (room, leg.channel) not in effect.live_channels:
            leg.left_at = when
    open_calls = (await session.scalars(select(Call).where(Call.ended_at.is_(None)))).all()
    for call in open_calls:
        if call.room_name not in effect.live_rooms:
            call.ended_at = when


BATCH_WINDOW = 0.05  # seconds


class HistoryWriter:
    """Writes effects in the background, in batches, so the AMI reader never waits on disk."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], max_pending: int = 50_000
    ) -> None:
        self._sessions = sessions
        self._queue: asyncio.Queue[Effect] = asyncio.Queue(max_pending)
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, effects: Sequence[Effect]) -> None:
        for effect in effects:
            try:
                self._queue.put_nowait(effect)
            except asyncio.QueueFull:
                log.error("history.backlog_full dropped=%s", type(effect).__name__)
                continue
            self._idle.clear()

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            # What comes within BATCH_WINDOW joins this transaction: a busy room's trickle
            # of talk spurts is written a few times a second, not once per spurt.
            await asyncio.sleep(BATCH_WINDOW)
            while not self._queue.empty() and len(batch) < 500:
                batch.append(self._queue.get_nowait())
            try:
                async with self._sessions.begin() as session:
                    await apply_effects(session, batch)
            except Exception:
                log.exception("history.batch_failed effects=%d (retrying one by one)", len(batch))
                await self._write_one_by_one(batch)
            if self._queue.empty():
                self._idle.set()

    async def _write_one_by_one(self, batch: list[Effect]) -> None:
        """One bad effect must not take the others down with it."""
        for effect in batch:
            try:
                async with self._sessions.begin() as session:
                    await apply_effects(session, [effect])
            except Exception as exc:
                log.error("history.effect_dropped effect=%s reason=%r", type(effect).__name__, exc)

    @property
    def idle(self) -> bool:
        return self._idle.is_set()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def flushed(self, timeout: float = 10.0) -> None:
        """Wait until every submitted effect is written (tests, shutdown), ``timeout`` at
        most; what is still unwritten then is said, not passed over in silence."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("history.not_flushed pending=%d after_seconds=%g", self.pending, timeout)


async def label_open_leg(session: AsyncSession, room: str, channel: str, label: str) -> bool:
    """Keep the label moderators gave the caller on ``channel`` on their open leg in
    ``room``'s open call (for the report); False when there is none (yet)."""
    open_call = select(Call.id).where(Call.room_name == room, Call.ended_at.is_(None))
    done = await session.execute(
        update(Leg)
        .where(Leg.call_id.in_(open_call), Leg.channel == channel, Leg.left_at.is_(None))
        .values(label=label[:80])
    )
    return bool(getattr(done, "rowcount", 0))
