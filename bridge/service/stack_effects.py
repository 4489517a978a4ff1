"""The speaker stack's effects carried out: on Asterisk (unmute the speaker, mute the one
before, whisper to them), into the call's history, to subscribers, and the stacks saved.

One task does it all, in order: an unmute never overtakes the mute before it, and a
moderator's command or a caller's key is answered once its effects are carried out and its
stack saved. What only the room did (joins, talk) is saved a little later, coalesced
(``StackStorage``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from bridge.asterisk.conference import ConferenceBridge
from bridge.domain import speakers as domain
from bridge.domain.speakers import SpeakerStack
from bridge.errors import BridgeError
from bridge.service.roster import Change
from bridge.service.stack_io import (
    WHISPERS,
    CallOver,
    Noted,
    Outgoing,
    StackMetrics,
    StackStorage,
    TurnSink,
)

log = logging.getLogger(__name__)

Parcel = tuple[list[Outgoing], asyncio.Future[None] | None]  # effects; who waits for them


class StackCourier:
    def __init__(
        self,
        stacks: Mapping[str, SpeakerStack],
        publish: Callable[[Change], None],
        pbx: ConferenceBridge,
        storage: StackStorage,
        turns: TurnSink,
        metrics: StackMetrics,
    ) -> None:
        self.stacks = stacks  # the live rooms' stacks (the speaker floor's own dict)
        self.pbx = pbx
        self._publish = publish
        self._storage = storage
        self._turns = turns
        self._metrics = metrics
        self._outbox: asyncio.Queue[Parcel] = asyncio.Queue()

    def send(self, effects: Sequence[Outgoing]) -> None:
        """Carry these out after those sent before; nobody waits."""
        self._outbox.put_nowait((list(effects), None))

    async def carry_out(self, effects: Sequence[Outgoing]) -> None:
        """Carry these out after those sent before; return once they are, and saved."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbox.put_nowait((list(effects), done))
        await done

    async def run(self) -> None:
        """The one task that acts on Asterisk and saves stacks, in order; it never dies."""
        while True:
            parcel = await self._next(self._storage.due_in())
            if parcel is None:
                await self._save()
                continue
            effects, done = parcel
            try:
                for effect in effects:
                    await self._one(effect)
                if self._storage.due_in(now=done is not None) == 0.0:
                    await self._save()
            except Exception:
                log.exception("stack.delivery_failed effects=%d", len(effects))
            finally:
                if done is not None and not done.done():
                    done.set_result(None)

    async def _next(self, save_in: float | None) -> Parcel | None:
        """The next effects to carry out; None when a save comes due first."""
        if save_in == 0.0:
            return None
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(self._outbox.get(), save_in)
        return None

    async def _save(self) -> None:
        try:
            await self._storage.save(self.stacks)
        except Exception:
            log.exception("stack.save_failed")

    async def flushed(self) -> None:
        """Save what changed since the last save."""
        if self._storage.due_in() is not None:
            await self._save()

    async def _one(self, effect: Outgoing) -> None:
        try:
            match effect:
                case Noted():
                    await self._turns.noted(effect)
                case CallOver():
                    self._metrics.set_hands_raised(effect.room, 0)
                    await self._storage.drop(effect.room)
                case domain.Unmute():
                    await self.pbx.unmute(effect.room, effect.channel)
                case domain.Mute():
                    await self.pbx.mute(effect.room, effect.channel)
                case domain.Warn():
                    await self.pbx.whisper(effect.channel, WHISPERS["warning"])
                case domain.TurnStarted():
                    self._metrics.turn_started("called" if effect.lane is None else effect.lane)
                    await self._turns.started(effect)
                    await self.pbx.whisper(effect.channel, WHISPERS["floor"])
                case domain.TurnEnded():
                    await self._turns.ended(effect)
                    if effect.why is domain.TurnEnd.TIME_LIMIT:
                        await self.pbx.whisper(effect.channel, WHISPERS["time_up"])
                case domain.StackChanged():
                    self._storage.changed(effect.room)
                    if (stack := self.stacks.get(effect.room)) is not None:
                        queued = len(stack.show(time.time()).queue)
                        self._metrics.set_hands_raised(effect.room, queued)
                    self._publish(Change(effect.room, effect))
                case domain.Tell():
                    pass  # only a key press tells, and its answer goes back over FastAGI
        except BridgeError as exc:
            # The speaker left a moment ago, or Asterisk is away: the stack moves on.
            log.warning("stack.effect_failed effect=%s reason=%s", type(effect).__name__, exc)
