"""The labels moderators give callers, per room, for the rest of the runtime: shown in the
roster, the stack and the speaker box (the live-room view's ``names``), in the API and in
``stack show --json`` (``"name"`` beside ``caller_id``). A caller whose number is in the
directory of known numbers (``bridge.domain.known_callers``) is labelled "name, place" when
they join, until a moderator gives another label; the directory is read again from the
database at a join when the copy in memory is older than ``KNOWN_FOR`` seconds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bridge.domain.events import DomainEvent, ParticipantJoined
from bridge.domain.known_callers import number_key
from bridge.domain.labels import BadLabel, CallerMarked, RoomLabels
from bridge.domain.roster import Switchboard
from bridge.errors import BadField, NoSuchParticipant
from bridge.service.tasks import Writer

log = logging.getLogger(__name__)

KNOWN_FOR = 5.0  # seconds the directory read from the database is trusted


class CallerLabels:
    def __init__(
        self,
        switchboard: Switchboard,
        publish: Callable[[str, CallerMarked], None],
        load_known: Callable[[], Awaitable[dict[str, str]]],
        keep: Callable[[str, str, str], Awaitable[object]] | None = None,
    ) -> None:
        self.switchboard = switchboard
        self._publish = publish
        self._rooms: dict[str, RoomLabels] = {}
        self._load_known = load_known
        self.known: dict[str, str] = {}  # number_key -> "name, place"
        self._known_at = float("-inf")
        self._loading: asyncio.Task[None] | None = None
        self._keep = keep  # (room, channel, label): on the caller's leg, for the report
        # Labels given and not yet on their legs, oldest first; a newer label for the same
        # caller replaces one still waiting. One writer takes them in turn.
        self._unwritten: dict[tuple[str, str], str] = {}
        self._writer = Writer(self._write, "labels-kept")

    def give(self, room: str, channel: str, text: str) -> str:
        """Label the caller on ``channel`` (an empty text takes the label away)."""
        live = self.switchboard.room(room)
        person = live.participants.get(channel) if live else None
        if person is None:
            raise NoSuchParticipant(room, channel)
        try:
            label = self._rooms.setdefault(room, RoomLabels()).give(person.caller_id, channel, text)
        except BadLabel as exc:
            raise BadField(f"label: {exc}") from None
        self._publish(room, CallerMarked(room))
        if self._keep is not None:
            self._unwritten.pop((room, channel), None)
            self._unwritten[(room, channel)] = label
            self._writer.wake()
        return label

    async def _write(self) -> None:
        """Keep the labels waiting, oldest first, one at a time. Forty labels given in a
        burst are forty short writes in a row, not forty writers at once waiting on SQLite's
        lock (six of 43 once waited past its 15 s and were lost)."""
        keep = self._keep
        assert keep is not None  # nothing waits otherwise
        while self._unwritten:
            (room, channel), label = next(iter(self._unwritten.items()))
            try:
                await keep(room, channel, label)
            except Exception:  # the label stays on the panel; the report goes without it
                log.exception("labels.unkept room=%s channel=%s", room, channel)
            if self._unwritten.get((room, channel)) == label:  # not replaced meanwhile
                del self._unwritten[(room, channel)]

    def name_of(self, room: str, caller_id: str, channel: str) -> str:
        labels = self._rooms.get(room)
        given = labels.of(caller_id, channel) if labels else ""
        return given or (self.known.get(number_key(caller_id), "") if caller_id else "")

    def on_event(self, event: DomainEvent) -> None:
        stale = time.monotonic() - self._known_at > KNOWN_FOR
        if isinstance(event, ParticipantJoined) and stale and self._loading is None:
            self._loading = asyncio.get_running_loop().create_task(self._refresh(event.room))

    async def _refresh(self, room: str) -> None:
        """Read the directory again; the room's panels redraw if it named anyone new."""
        try:
            known = await self._load_known()
        except Exception:
            log.exception("labels.directory_unread")
            return
        finally:
            self._loading = None
        changed = known != self.known
        self.known, self._known_at = known, time.monotonic()
        if changed:
            self._publish(room, CallerMarked(room))

    async def flushed(self) -> None:
        """The labels given so far are on their legs (or were logged as unkept)."""
        await self._writer.flushed()

    def close(self) -> None:
        if self._loading is not None:
            self._loading.cancel()
        self._writer.cancel()
