"""The bridge service: the parts wired together and run.

Data flows one way: AMI event -> domain event -> live roster -> history and subscribers.
Commands come back through the feature modules (entry desk, moderation) as AMI actions,
and the roster changes only when Asterisk reports that they happened.

| feature | module |
| --- | --- |
| the live roster: AMI events in, resync, subscribers | ``bridge.service.roster`` |
| the shared number: PIN decisions, lockouts | ``bridge.service.entry`` |
| moderation: mute, kick, lock, end, recording | ``bridge.service.moderation`` |
"""

from __future__ import annotations

import asyncio
import logging
import time

from panoramisk.message import Message

from bridge.asterisk import ami_events
from bridge.asterisk.ami import AmiClient
from bridge.asterisk.conference import ConferenceBridge
from bridge.domain.rooms import RoomSpec
from bridge.domain.roster import Switchboard
from bridge.service.entry import EntryDesk
from bridge.service.moderation import Moderation
from bridge.service.roster import LiveRoster
from bridge.settings import Settings
from bridge.store import rooms
from bridge.store.db import Database
from bridge.store.history import HistoryWriter, open_leg_totals

log = logging.getLogger(__name__)


class BridgeService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.history = HistoryWriter(db.sessions)
        self.ami = AmiClient(
            host="127.0.0.1",
            port=settings.ami_port,
            username=settings.ami_username,
            secret=settings.ensure_ami_secret(),
            on_event=self._on_ami_event,
            on_connected=self._on_ami_link,
            action_timeout=settings.ami_action_timeout,
            ping_every=settings.ami_ping_seconds,
        )
        self.pbx = ConferenceBridge(self.ami)
        self.roster = LiveRoster(self.pbx.snapshot, self._earlier_totals, self.history.submit)
        self.desk = EntryDesk(settings, db, self.switchboard, self.roster.notify)
        self.moderation = Moderation(
            self.pbx,
            self.switchboard,
            self.roster.lock_seen,
            self._find_room,
            settings.recordings_dir,
        )
        self.roster.add_listener(self.moderation.on_event)

    @property
    def switchboard(self) -> Switchboard:
        """The live state (read it; only the roster writes it)."""
        return self.roster.switchboard

    def _on_ami_event(self, message: Message) -> None:
        event = ami_events.to_domain(message)
        if event is not None:
            self.roster.receive(event)

    async def _on_ami_link(self, up: bool) -> None:
        await self.roster.on_pbx_link(up)

    async def _earlier_totals(
        self, wanted: set[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[float, int]]:
        async with self.db.sessions() as session:
            return await open_leg_totals(session, wanted)

    async def _find_room(self, name: str) -> RoomSpec | None:
        async with self.db.sessions() as session:
            return await rooms.find_room(session, name)

    # ---- lifecycle --------------------------------------------------------------------

    async def run(self) -> None:
        """Run the AMI link and the history writer until cancelled; a part that fails
        takes the whole service down with its cause (the caller decides what then)."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.ami.run(), name="ami")
            group.create_task(self.history.run(), name="history")
            group.create_task(self._checkpoint_talk_time(), name="talk-checkpoint")

    async def _checkpoint_talk_time(self) -> None:
        while True:
            await asyncio.sleep(self.settings.talk_checkpoint_seconds)
            self.history.submit(self.switchboard.checkpoint(time.time()))

    async def close(self, ending_calls: bool = False) -> None:
        """Stop; ``ending_calls`` when Asterisk stops too, so every call ends here and now
        (its leave events would never reach us). Otherwise the calls go on without us and
        the next start resyncs and carries on their history."""
        await self.ami.close()  # first: no event may land after what we write below
        now = time.time()
        if ending_calls:
            self.history.submit(self.switchboard.shut_down(now))
        else:
            self.history.submit(self.switchboard.checkpoint(now))
        await self.history.flushed(timeout=10)
        try:
            await asyncio.wait_for(self.desk.flushed(), timeout=10)
        except TimeoutError:
            log.error("entry.attempts_unwritten_at_stop")
        if not self.history.idle:
            log.error("history.unwritten_at_stop effects=%d", self.history.pending)
        self.moderation.close()
