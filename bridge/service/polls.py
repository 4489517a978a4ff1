"""Temperature checks, live: one ``Poll`` (``bridge.domain.polls``) per room, opened and
closed by moderators, answered by callers' keys ``1``-``9`` (the ``keys`` FastAGI route,
through ``bridge.service.keys``). A change goes to the panels as a ``PollChanged``; a
closed poll (by a moderator, or because the call ended) goes into the call's history.

A room keeps its last poll, open or closed, until another is opened or the call ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bridge.domain.events import DomainEvent, ParticipantLeft, Resynced, RoomEnded
from bridge.domain.polls import NoPoll, Poll, PollChanged, PollError, Tally, Voter
from bridge.domain.roster import Switchboard
from bridge.errors import ActionRefused, BadField, NoSuchRoom

log = logging.getLogger(__name__)

# (the closed poll's tally, how many were present): history files it under the open call.
PollLog = Callable[[Tally, int], Awaitable[None]]


class RoomPolls:
    def __init__(
        self,
        switchboard: Switchboard,
        publish: Callable[[str, PollChanged], None],
        keep: PollLog,
    ) -> None:
        self.switchboard = switchboard
        self._publish = publish
        self._keep = keep
        self.polls: dict[str, Poll] = {}
        # How many were in the room at the poll's last change: what an ended call's poll
        # is kept with (by then the room is empty).
        self._present: dict[str, int] = {}
        self._keeping: set[asyncio.Task[None]] = set()

    # ---- moderators ----------------------------------------------------------------------

    async def open_poll(
        self, room: str, question: str, options: tuple[str, ...], block: bool
    ) -> Tally:
        """Open a poll in a live room; one still open there is closed (and kept) first."""
        if self.switchboard.room(room) is None:
            raise NoSuchRoom(room, "nobody is in the room: a poll needs callers")
        try:
            poll = Poll.open(room, question, options, block, time.time())
        except PollError as exc:
            raise BadField(str(exc)) from None
        await self._close_open(room)
        self.polls[room] = poll
        self._present[room] = self.present(room)
        log.info("poll.opened room=%s options=%d block=%s", room, len(poll.options), block)
        self._publish(room, PollChanged(room))
        return poll.tally()

    async def close_poll(self, room: str) -> Tally:
        poll = self.polls.get(room)
        if poll is None or not poll.is_open:
            raise ActionRefused(str(NoPoll(room)))
        await self._close_open(room)
        return poll.tally()

    def tally(self, room: str) -> Tally | None:
        """The room's poll now, open or last closed; None when it has had none this call."""
        poll = self.polls.get(room)
        return None if poll is None else poll.tally()

    def present(self, room: str) -> int:
        live = self.switchboard.room(room)
        return live.count if live else 0

    async def _close_open(self, room: str) -> None:
        poll = self.polls.get(room)
        if poll is None or not poll.is_open:
            return
        poll.close(time.time())
        tally = poll.tally()
        log.info("poll.closed room=%s voters=%d", room, tally.voters)
        self._publish(room, PollChanged(room))
        await self._kept(tally, self.present(room))

    # ---- callers' keys -----------------------------------------------------------------------

    def press(self, room: str, channel: str, key: str) -> str | None:
        """A caller's key: the label of what they chose, or None when it means nothing now
        (no open poll in their room, not an option): they then hear nothing at all."""
        room = self.switchboard.room_of(channel) or room
        poll = self.polls.get(room)
        live = self.switchboard.room(room)
        person = live.participants.get(channel) if live else None
        if poll is None or person is None:
            return None
        choice = poll.press(Voter(channel, person.caller_id, person.caller_name), key)
        if choice is None:
            return None
        self._present[room] = live.count if live else 0
        self._publish(room, PollChanged(room))
        return choice.label

    # ---- the roster in -----------------------------------------------------------------------

    def on_event(self, event: DomainEvent) -> None:
        match event:
            case ParticipantLeft():
                poll = self.polls.get(event.room)
                if poll is not None and poll.is_open:
                    self._present[event.room] = self.present(event.room)
                if poll is not None and poll.leave(event.channel):
                    self._publish(event.room, PollChanged(event.room))
            case RoomEnded():
                self._end(event.room)
            case Resynced():
                for room in [r for r in self.polls if self.switchboard.room(r) is None]:
                    self._end(room)

    def _end(self, room: str) -> None:
        """The call is over: an open poll is closed and kept, and the room's poll goes."""
        poll = self.polls.pop(room, None)
        present = self._present.pop(room, 0)
        if poll is None or not poll.is_open:
            return
        poll.close(time.time())
        self._publish(room, PollChanged(room))
        task = asyncio.get_running_loop().create_task(self._kept(poll.tally(), present))
        self._keeping.add(task)
        task.add_done_callback(self._keeping.discard)

    async def _kept(self, tally: Tally, present: int) -> None:
        try:
            await self._keep(tally, present)
        except Exception:
            log.exception("poll.not_kept room=%s", tally.room)

    async def flushed(self) -> None:
        """Polls of ended calls written (the service waits for it on stop)."""
        if self._keeping:
            await asyncio.gather(*self._keeping, return_exceptions=True)

    def stop(self) -> None:
        for task in list(self._keeping):
            task.cancel()
