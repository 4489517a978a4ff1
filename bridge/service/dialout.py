"""Dial-out, live: moderators' numbers checked and queued, dialled at each trunk's pace
through the PBX that holds the room, and each call followed from Asterisk's events to its
end (``bridge.domain.dialout`` decides; this module carries it out).

A request is checked whole before anything is dialled (``DialOutRefused`` names the first
problem): each number E.164 and allowed by its trunk's prefixes, a trunk named by
``--trunk`` known, the moderator's daily cap. Then the dialler (``run``) originates what
the book says is due, sleeping until the next call may start or something ends.

How an unanswered attempt ended comes from two events that arrive in either order: the
callee channel's ``Hangup`` (its cause: busy, rejected, no answer) and the
``OriginateResponse`` (its reason: still ringing at the timeout, busy, congestion). The
first is kept for ``PAIRING_SECONDS`` while the other comes. An Originate not answered in
time may ring all the same: its call stays ``ringing`` until its events or ring time end it.
Events lost with a link to Asterisk are made up for after the resync (``_lost``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bridge.asterisk.alert import ALERT_CONTEXT
from bridge.asterisk.dialout import (
    CALL_ID_PREFIX,
    DIALOUT_CONTEXT,
    CalleeChannel,
    CalleeHungUp,
    Offer,
    OriginateEnded,
    dial_event,
)
from bridge.asterisk.title_prompts import make_title_prompts, title_prompt
from bridge.domain.dialout import (
    CallOut,
    CallState,
    DialBook,
    DialOutChanged,
    DialRefused,
    check_daily,
    choose_trunk,
    read_callees,
    state_for_cause,
)
from bridge.domain.entry import Admission, PinOutcome, Refusal
from bridge.domain.events import DomainEvent, ParticipantJoined, Resynced
from bridge.domain.languages import DEFAULT_LANGUAGE
from bridge.domain.rooms import RoomSpec
from bridge.domain.trunks import TrunkSpec
from bridge.errors import BridgeError, DialOutRefused, NoSuchRoom, PbxUnconfirmed
from bridge.service.pbx_directory import PbxDirectory
from bridge.service.tasks import Tasks
from bridge.settings import Settings
from bridge.store.db import Database
from bridge.store.dialouts import dialled_since, keep_calls
from bridge.store.rooms import active_rooms
from bridge.store.trunks import stored_trunks

log = logging.getLogger(__name__)

PAIRING_SECONDS = 1.0
UNCONFIRMED_GRACE_SECONDS = 10.0


class DialOut:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        directory: PbxDirectory,
        find_room: Callable[[str], Awaitable[RoomSpec | None]],
        enter_room: Callable[[str], Awaitable[PinOutcome]],
        publish: Callable[[str, DialOutChanged], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.db = db
        self.directory = directory
        self._find_room = find_room
        self._enter_room = enter_room
        self._publish = publish
        self.clock = clock
        self.book = DialBook({}, settings.dialout_retry_seconds)
        self._prefix = f"{CALL_ID_PREFIX}{secrets.token_hex(4)}"
        self._rooms: dict[str, RoomSpec] = {}  # room -> its settings, for the offer
        self._channels: dict[str, str] = {}  # call id -> the callee's channel
        self._answered: dict[str, str] = {}  # the callee's channel -> call id
        self._outcomes: dict[str, CallState] = {}  # how an offer was refused
        self._halves: dict[str, tuple[int | None, int | None]] = {}  # (cause, reason) so far
        self._pairing: set[str] = set()  # calls with one of their two ending events
        self._asking = asyncio.Lock()
        self._wake = asyncio.Event()
        self._checks = Tasks(log, "dialout.check_failed")  # after a resync: calls lost with it
        self._unwritten: asyncio.Queue[tuple[list[CallOut], float]] = asyncio.Queue()

    # ---- what moderators ask -----------------------------------------------------------

    async def start(
        self,
        room: str,
        actor: str,
        lines: list[str],
        trunk: str | None,
        confirm: bool,
        retries: int,
        retry_after: float | None = None,
    ) -> list[CallOut]:
        """Queue the numbers of ``lines`` (``NUMBER[, NAME]`` each) to be called into
        ``room``, each tried ``retries`` more times ``retry_after`` seconds apart (None:
        ``Settings.dialout_retry_seconds``); refused whole, with nothing dialled, at the
        first problem."""
        spec = await self._find_room(room)
        if spec is None:
            raise NoSuchRoom(room, "there is no such room")
        return await self.queue(
            spec, actor, lines, trunk, confirm, retries, retry_after=retry_after
        )

    async def queue(
        self,
        spec: RoomSpec | None,
        actor: str,
        lines: list[str],
        trunk: str | None,
        confirm: bool,
        retries: int,
        alert: str = "",
        retry_after: float | None = None,
    ) -> list[CallOut]:
        """Check ``lines`` whole and queue their numbers: into ``spec``'s room, or as
        ``alert``'s numbers (``spec`` None: an alert with no room to join). ``retry_after``:
        seconds between attempts (None: ``Settings.dialout_retry_seconds``)."""
        async with self._asking:  # one at a time: the daily cap counts the rows written
            room, now = (spec.name if spec else ""), self.clock()
            trunks = await self._trunks()
            try:
                callees = read_callees(lines)
                if not callees:
                    raise DialRefused("no number to dial")
                chosen = [(c, choose_trunk(trunks, c.number, trunk).name) for c in callees]
                check_daily(
                    actor, len(callees), await self._dialled_today(actor, now),
                    self.settings.dialout_daily_limit,
                )  # fmt: skip
            except DialRefused as exc:
                raise DialOutRefused(str(exc)) from None
            if spec is not None:
                self._rooms[room] = spec
                await self._make_titles([spec])  # a room opened since the start, or renamed
            added = self.book.add(
                room, chosen, asked_by=actor, confirm=confirm, retries=retries, now=now,
                prefix=self._prefix, alert=alert, retry_after=retry_after,
            )  # fmt: skip
            self._unwritten.put_nowait((added, now))
            await self._unwritten.join()  # counted before the next request is checked
        log.info("dialout.queued room=%s alert=%s by=%s numbers=%d", room, alert, actor, len(added))
        if not alert:
            self._publish(room, DialOutChanged(room))
        self._wake.set()
        return added

    async def cancel(self, room: str, number: str | None) -> list[CallOut]:
        return await self._hang_up(self.book.cancel(room, number, self.clock()))

    async def cancel_alert(self, alert: str) -> list[CallOut]:
        return await self._hang_up(self.book.cancel_alert(alert, self.clock()))

    async def _hang_up(self, cancelled: list[CallOut]) -> list[CallOut]:
        for call in cancelled:
            channel = self._channels.get(call.id)
            if call.up and channel:
                try:
                    await self.directory.bridge_for(call.room).hang_up(channel)
                except BridgeError as exc:  # gone already: its Hangup event ends it
                    log.info("dialout.cancel_hangup call=%s detail=%s", call.id, exc)
        self._keep(cancelled)
        self._wake.set()
        return cancelled

    def calls_of(self, room: str) -> list[CallOut]:
        return self.book.calls_of(room)

    def dialled_in(self, room: str) -> frozenset[str]:
        """The channels in ``room`` that were called in (by a dial-out or an alert)."""
        return frozenset(
            c.channel
            for c in self.book.calls.values()
            if c.room == room and c.state is CallState.JOINED and c.up
        )

    # ---- the callee's dialogue (the ``dialout`` FastAGI route) -------------------------

    def answered(self, call_id: str, channel: str) -> Offer | None:
        call = self.picked_up(call_id, channel)
        if call is None:
            return None
        spec = self._rooms.get(call.room)
        language, prompt = self.spoken_room(call.room)
        return Offer(
            call.room, spec.title if spec else call.room, call.confirm,
            self.settings.dialout_key_seconds, language, prompt,
        )  # fmt: skip

    def spoken_room(self, room: str) -> tuple[str, str | None]:
        """How a callee offered ``room`` (a dial-out's or an alert's) hears it: in the room's
        language, named by its title prompt (None where none was made)."""
        spec = self._rooms.get(room)
        prompt = title_prompt(self.settings.recordings_dir, room)
        return (spec.language if spec else DEFAULT_LANGUAGE), (str(prompt) if prompt else None)

    def picked_up(self, call_id: str, channel: str) -> CallOut | None:
        """The callee answered (a dial-out's or an alert's): None when the call is no
        longer one to go on with (cancelled meanwhile, or not ours)."""
        call = self.book.answered(call_id, channel, self.clock())
        if call is None:
            return None
        self._answered[channel] = call_id
        self._keep([call])
        return call

    def heard(self, call_id: str) -> None:
        call = self.book.heard(call_id, self.clock())
        if call is not None:
            self._keep([call])

    def refused_offer(self, call_id: str, outcome: CallState) -> None:
        self._outcomes.setdefault(call_id, outcome)

    async def enter_room(self, room: str) -> Admission | Refusal:
        return (await self._enter_room(room)).decision

    # ---- Asterisk's events -------------------------------------------------------------

    def on_ami(self, message: Any) -> None:
        event = dial_event(message)
        if event is None or event.call_id not in self.book.calls:
            return
        if isinstance(event, CalleeChannel):
            self._channels[event.call_id] = event.channel
            return
        call = self.book.calls[event.call_id]
        if isinstance(event, CalleeHungUp) and call.state is not CallState.RINGING:
            outcome = self._outcomes.pop(call.id, CallState.DECLINED)
            self._ended(call.id, outcome)
            return
        if isinstance(event, OriginateEnded) and event.success:
            return  # answered: the dialogue takes it from here
        cause, reason = self._halves.pop(call.id, (None, None))
        if isinstance(event, CalleeHungUp):
            cause = event.cause
        else:
            reason = event.reason
        if call.id in self._pairing:
            self._pairing.discard(call.id)
            self._ended(call.id, state_for_cause(cause, reason))
            return
        self._halves[call.id] = (cause, reason)
        self._pairing.add(call.id)
        asyncio.get_running_loop().call_later(PAIRING_SECONDS, self._paired, call.id)

    def on_event(self, event: DomainEvent) -> None:
        """The roster's events: a callee who reached the room has joined; a resync."""
        if isinstance(event, ParticipantJoined) and event.channel in self._answered:
            call = self.book.joined(self._answered[event.channel], self.clock())
            if call is not None:
                self._keep([call])
        elif isinstance(event, Resynced) and any(c.up for c in self.book.calls.values()):
            self._checks.start(self._lost())

    async def _lost(self) -> None:
        """A call whose Asterisk no longer has its channel is over (its Hangup was lost with
        the link); one never seen ringing has its ring time to show it did."""
        for call in [c for c in self.book.calls.values() if c.up]:
            channel = self._channels.get(call.id) or call.channel
            if not channel:
                self._fail_unless_rang(call)
            elif await self.directory.bridge_for(call.room).has_channel(channel) is False:
                log.warning("dialout.lost call=%s state=%s", call.id, call.state)
                gone = CallState.FAILED if call.state is CallState.RINGING else CallState.DECLINED
                self._ended(call.id, self._outcomes.get(call.id, gone))

    def _paired(self, call_id: str) -> None:
        if call_id in self._pairing:
            self._pairing.discard(call_id)
            cause, reason = self._halves.pop(call_id, (None, None))
            self._ended(call_id, state_for_cause(cause, reason))

    def _ended(self, call_id: str, outcome: CallState) -> None:
        call = self.book.ended(call_id, outcome, self.clock())
        channel = self._channels.pop(call_id, "")
        self._answered.pop(channel, None)
        self._outcomes.pop(call_id, None)
        if call is not None:
            log.info("dialout.ended call=%s state=%s", call_id, call.state)
            self._keep([call])
            self._wake.set()  # a slot of its trunk is free

    # ---- the dialler -------------------------------------------------------------------

    async def run(self) -> None:
        """Dial what is due, and write the calls' rows, until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._dial_forever(), name="dialout-dialler")
            group.create_task(self._write_forever(), name="dialout-rows")
            group.create_task(self._make_titles(), name="dialout-titles")

    async def _dial_forever(self) -> None:
        while True:
            self._wake.clear()
            started, wake = self.book.due(self.clock())
            for call in started:
                await self._dial(call)
            if started:
                continue  # the next may be due at once (another trunk)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wake)

    async def _dial(self, call: CallOut) -> None:
        trunk = self.book.trunks[call.trunk]
        self._keep([call])
        try:
            await self.directory.bridge_for(call.room).dial_out(
                call.id, trunk.name, call.number, trunk.outbound.caller_id,
                self.settings.dialout_ring_seconds,
                ALERT_CONTEXT if call.alert else DIALOUT_CONTEXT,
            )  # fmt: skip
        except PbxUnconfirmed as exc:  # a late answer: the phone may be ringing all the same
            log.warning("dialout.originate_unconfirmed call=%s detail=%s", call.id, exc)
            self._fail_unless_rang(call)
        except BridgeError as exc:
            log.warning("dialout.originate_failed call=%s detail=%s", call.id, exc)
            self._ended(call.id, CallState.FAILED)
        else:
            log.info("dialout.dialled call=%s room=%s trunk=%s", call.id, call.room, trunk.name)

    def _fail_unless_rang(self, call: CallOut) -> None:
        wait = self.settings.dialout_ring_seconds + UNCONFIRMED_GRACE_SECONDS
        asyncio.get_running_loop().call_later(wait, self._never_rang, call.id, call.attempts)

    def _never_rang(self, call_id: str, attempt: int) -> None:  # past its ring time, unseen
        call = self.book.calls.get(call_id)
        seen = call_id in self._channels or call_id in self._pairing
        if call and call.attempts == attempt and call.up and not call.channel and not seen:
            log.warning("dialout.originate_failed call=%s detail=no channel rang", call_id)
            self._ended(call_id, CallState.FAILED)

    async def _write_forever(self) -> None:
        while True:
            calls, asked_at = await self._unwritten.get()
            try:
                async with self.db.sessions.begin() as session:
                    await keep_calls(session, calls, asked_at)
            except Exception:
                log.exception("dialout.write_failed calls=%d", len(calls))
            finally:
                self._unwritten.task_done()

    # ---- helpers -----------------------------------------------------------------------

    async def _make_titles(self, rooms: list[RoomSpec] | None = None) -> None:
        """The title prompts of ``rooms`` (every active room: the service's start) made
        where missing or stale; a failure leaves the generic words, never stops a call.
        Without a trunk nobody is called in: nothing to make."""
        if rooms is None:
            if not await self._trunks():
                return
            async with self.db.sessions() as session:
                rooms = await active_rooms(session)
        try:
            made = await asyncio.to_thread(
                make_title_prompts, self.settings.recordings_dir, rooms, None
            )
        except OSError as exc:
            log.warning("dialout.titles_failed detail=%s", exc)
            return
        for line in made:
            log.info("dialout.title %s", line)

    def _keep(self, calls: list[CallOut]) -> None:
        if calls:
            self._unwritten.put_nowait((calls, self.clock()))
            for room in {c.room for c in calls if not c.alert}:
                self._publish(room, DialOutChanged(room))

    async def _trunks(self) -> list[TrunkSpec]:
        async with self.db.sessions() as session:
            trunks = await stored_trunks(session)
        self.book.set_trunks({t.name: t for t in trunks})
        return trunks

    async def _dialled_today(self, actor: str, now: float) -> int:
        day = datetime.fromtimestamp(now, UTC)
        midnight = day.replace(hour=0, minute=0, second=0, microsecond=0)
        async with self.db.sessions() as session:
            return await dialled_since(session, actor, midnight)
