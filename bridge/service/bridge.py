"""The bridge service: the parts wired together and run.

Data flows one way: AMI event -> domain event -> live roster -> history and subscribers.
Commands come back through the feature modules (entry desk, moderation) as AMI actions,
and the roster changes only when Asterisk reports that they happened.

Each feature is a module of ``bridge.service``; docs/architecture.md ("Where each thing
is") says which module holds what.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime

from panoramisk.message import Message

from bridge.asterisk import ami_events
from bridge.asterisk.ami import AmiClient
from bridge.asterisk.conference import ConferenceBridge
from bridge.asterisk.name_recording import names_folder
from bridge.domain.accounts import Right, Via
from bridge.domain.nodes import DEFAULT_MAX_CALLERS_PER_NODE, NodeSpec
from bridge.domain.practice import PracticeChanged
from bridge.domain.rooms import RoomSpec
from bridge.domain.roster import Switchboard
from bridge.domain.speakers import StackChanged, StackView
from bridge.errors import NoSuchModerator, NoSuchRoom
from bridge.service import health, heap
from bridge.service.accounts import Accounts
from bridge.service.alerts import Alerts
from bridge.service.audit import AuditTrail
from bridge.service.bars import CallerBars
from bridge.service.breakout_store import SavedBreakouts
from bridge.service.breakouts import RoomBreakouts
from bridge.service.cues import RoomCues
from bridge.service.dialout import DialOut
from bridge.service.directory import CallDirectory, FilePins
from bridge.service.entry import EntryDesk
from bridge.service.feed import EventFeed
from bridge.service.first_time import FirstTimeShares
from bridge.service.holders import RoomHolders
from bridge.service.keys import RoomKeys
from bridge.service.labels import CallerLabels
from bridge.service.metrics import Metrics
from bridge.service.moderation import Moderation
from bridge.service.names import CallerNames
from bridge.service.nodes import NodeLinks
from bridge.service.pbx_directory import PbxDirectory
from bridge.service.polls import RoomPolls
from bridge.service.practice import RoomPractice
from bridge.service.reports import CallReports
from bridge.service.rooms_on_demand import RoomsOnDemand
from bridge.service.roster import Change, LiveRoster, RoomFeatureChange
from bridge.service.sessions import reading, writing
from bridge.service.speakers import SpeakerFloor
from bridge.service.stack_io import HistoryTurns, StackStorage
from bridge.service.tokens import ApiTokens
from bridge.settings import Settings
from bridge.store.breakouts import record_stints
from bridge.store.cues import own_cues
from bridge.store.db import Database
from bridge.store.history import HistoryWriter, label_open_leg, open_leg_totals
from bridge.store.known_callers import known_labels
from bridge.store.polls import record_poll
from bridge.store.room_cache import revision_probe

log = logging.getLogger(__name__)


class BridgeService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        file_pins: FilePins | None = None,
        practice_pins: FilePins | None = None,
        nodes: Sequence[NodeSpec] = (),
        max_callers_per_node: int = DEFAULT_MAX_CALLERS_PER_NODE,
    ) -> None:
        self.settings = settings
        self.db = db
        self.history = HistoryWriter(db.sessions)
        self.reports = CallReports(
            db,
            settings.recordings_dir,
            settings.history_retention_days,
            settings.recording_retention_days,
            audit_written=lambda: self.audit.flushed(),
        )
        self.ami = AmiClient.of_settings(settings, self._on_ami_event, self._on_ami_link)
        # Which Asterisk holds a room: every feature asks it. One node holds them all, or
        # (the nodes file) each room is placed on one of several nodes, each with its link.
        self.node_links: NodeLinks | None = None
        self._node_resync = asyncio.Lock()
        if nodes:
            self.node_links = NodeLinks(
                settings,
                db.sessions,
                nodes,
                lambda: self.switchboard,
                self._on_ami_event,
                self._on_node_link,
                max_callers_per_node=max_callers_per_node,
            )
            self.ami = self.node_links.links[nodes[0].name]
            self.pbx_directory = self.node_links.directory
        else:
            self.pbx_directory = PbxDirectory.single(
                ConferenceBridge(self.ami, settings.sounds_dir)
            )
        self.pbx_directory.start_whispers()
        self.roster = LiveRoster(
            self.pbx_directory.snapshot, reading(db.sessions, open_leg_totals), self.history.submit
        )
        self.metrics = Metrics(lambda: self.switchboard, self._pbx_up, self._practice_rooms)
        self.bars = CallerBars(self.switchboard)
        self.desk = EntryDesk(
            settings,
            db,
            self.switchboard,
            self.roster.notify,
            self.metrics.pin_outcome,
            bars=self.bars,
        )
        if self.node_links is not None:
            self.desk.placement = self.node_links.place
            self.metrics.watch_nodes(self.node_links.listing)
            self.node_links.cascade.on_change = lambda link: self._publish_room(link.room, link)
        self.moderation = Moderation(
            self.pbx_directory,
            self.switchboard,
            self.roster.lock_seen,
            self._find_room,
            settings.recordings_dir,
            self.reports.recording_started,
            order_removal=self.roster.receive,
        )
        self.feed = EventFeed(self._stack_view)
        self.roster.watch(self.feed.on_roster)
        history_turns = HistoryTurns(db.sessions, self._talk_time_of)
        self.first_time = FirstTimeShares(history_turns, self.switchboard, self._talk_time_of)
        self.speakers = SpeakerFloor(
            self.switchboard,
            self._publish_change,
            self.pbx_directory,
            self._find_room,
            StackStorage(db.sessions),
            self.first_time,  # each turn on to history
            self.metrics,
        )
        self.polls = RoomPolls(
            self.switchboard, self._publish_room, writing(db.sessions, record_poll)
        )
        self.labels = CallerLabels(
            self.switchboard,
            self._publish_room,
            reading(db.sessions, known_labels),
            writing(db.sessions, label_open_leg),
        )
        self.breakouts = RoomBreakouts(
            self.pbx_directory,
            self.switchboard,
            self.roster.receive,
            self._publish_room,
            writing(db.sessions, record_stints),
            self._find_room,
            self._stack_order,
            self.labels.name_of,
            lambda channel: self.keys.settled(channel),  # the keys are wired just below
            SavedBreakouts(db.sessions),
        )
        self.keys = RoomKeys(
            self.speakers,
            self.polls,
            self.breakouts,
            self.switchboard,
            self._publish_room,
            self._find_room,
        )
        self.names = CallerNames(
            names_folder(settings.recordings_dir),
            settings.sounds_dir,
            self.keys,
            self.pbx_directory,
            self._find_room,
        )
        self.cues = RoomCues(
            self.pbx_directory,
            self.switchboard,
            reading(db.sessions, own_cues),
            settings.sounds_dir,
            self._find_room,
        )
        self.accounts = Accounts(settings, db)
        self._credentials = revision_probe(db.url, "credentials_revision")
        self.tokens = ApiTokens(db, revision_now=self._credentials)
        self.audit = AuditTrail(db, self.switchboard)
        self.on_demand = RoomsOnDemand(
            db, self.desk.rooms, self.switchboard, self._find_room, self.accounts.rights_changed
        )
        self.directory = CallDirectory(db, self.desk.rooms, file_pins)
        self.holders = RoomHolders(self.switchboard, self._file_role)
        self.practice = RoomPractice(
            self._find_room,
            practice_pins or dict,
            self._pin_opens,
            target=(settings.local_host, settings.sip_port),
            extension=settings.entry_extension,
            workdir=settings.state_dir / "practice",
            max_callers=settings.practice_max_callers,
            changed=lambda room: self._publish_room(room, PracticeChanged(room)),
        )
        self.desk.pin_prompted = self.practice.pin_asked
        self.dialout = DialOut(
            settings,
            db,
            self.pbx_directory,
            self._find_room,
            self.desk.enter_room,
            self._publish_room,
        )
        self.alerts = Alerts(db, self.dialout, self.audit, settings.recordings_dir, self._find_room)
        # Every feature hears the roster's events, in this order.
        for feature in (
            self.bars, self.moderation, self.first_time, self.speakers, self.polls,
            self.breakouts, self.keys, self.names, self.metrics, self.labels, self.holders,
            self.dialout,
        ):  # fmt: skip
            self.roster.add_listener(feature.on_event)

    @property
    def switchboard(self) -> Switchboard:
        """The live state (read it; only the roster writes it)."""
        return self.roster.switchboard

    def _publish_change(self, change: Change) -> None:
        """A stack's change: to the panels, and to the push feed."""
        self.roster.changes.publish(change)
        if isinstance(change.event, StackChanged) and change.room is not None:
            self.feed.on_stack_changed(change.room)

    def _publish_room(
        self,
        room: str,
        change: RoomFeatureChange,
    ) -> None:
        """A room's feature changed (its poll, calls out, a label, breakouts, practice):
        to the panels."""
        self.roster.changes.publish(Change(room, change))

    def _stack_order(self, room: str) -> list[str]:
        """The channels on the room's speaker stack, speaker first, in their order."""
        stack = self.speakers.snapshot(room) or {"speaker": None, "queue": []}
        ahead = [stack["speaker"]] if stack["speaker"] else []
        return [str(entry["channel"]) for entry in [*ahead, *stack["queue"]]]

    def _stack_view(self, room: str) -> StackView | None:
        stack = self.speakers.stacks.get(room)
        return None if stack is None else stack.show(time.time())

    def _on_ami_event(self, message: Message) -> None:
        self.metrics.ami_events.inc()
        self.dialout.on_ami(message)
        event = ami_events.to_domain(message)
        if event is not None:
            self.roster.receive(event)

    async def _on_ami_link(self, up: bool) -> None:
        await self.roster.on_pbx_link(up)

    async def _on_node_link(self, node: str, up: bool) -> None:
        """One node's link of several: the roster is lost only when every link is."""
        (log.info if up else log.warning)("nodes.link node=%s up=%s", node, up)
        if not up and self.node_links is not None:
            await self.node_links.node_lost(node)
        async with self._node_resync:  # one resync at a time: it holds the events meanwhile
            if up or not self._pbx_up():
                await self.roster.on_pbx_link(up)
            else:
                await self.roster.resync()  # that node's rooms are gone from the lists

    def _pbx_up(self) -> bool:
        if self.node_links is not None:
            return self.node_links.any_up()
        return self.ami.connected.is_set()

    async def _file_role(self, username: str, room: str) -> Right | None:
        """A moderator's role in ``room`` as the rooms file gives it."""
        principal = await self.accounts.principal_for(username, Via.SESSION)
        if principal is None:
            raise NoSuchModerator(username)
        return principal.role_in(room)

    def _talk_time_of(self, channel: str, at: float) -> float:
        return self.speakers.talk_time_of(channel, at)

    async def _find_room(self, name: str) -> RoomSpec | None:
        return (await self.desk.rooms.current(self.db.sessions)).active.get(name)

    def _practice_rooms(self) -> set[str]:
        """Practice rooms, as the room cache last read them (for the metrics)."""
        return {name for name, spec in self.desk.rooms.index.active.items() if spec.practice}

    async def _pin_opens(self, room: str, pin: str) -> bool:
        match = await self.desk.rooms.match(self.db.sessions, pin)
        return match is not None and match.room.name == room and not match.retired

    async def find_room(self, name: str) -> RoomSpec:
        """The active room of that name; ``NoSuchRoom`` when the rooms file has none."""
        spec = await self._find_room(name)
        if spec is None:
            raise NoSuchRoom(name, "there is no such room")
        return spec

    async def room_specs(self) -> list[RoomSpec]:
        """Every active room, by name (from the room cache: no query while unchanged)."""
        return list((await self.desk.rooms.current(self.db.sessions)).active.values())

    async def rooms_opened_on_demand(self) -> dict[str, datetime]:
        """The active rooms opened on demand, each with when its time is up."""
        return (await self.desk.rooms.current(self.db.sessions)).on_demand

    async def readiness(self) -> health.Readiness:
        pbx_up = self._pbx_up() and self.switchboard.pbx_connected
        return await health.check(self.db, pbx_up)

    # ---- lifecycle --------------------------------------------------------------------

    async def run(self) -> None:
        """Run the AMI link and the history writer until cancelled; a part that fails
        takes the whole service down with its cause (the caller decides what then)."""
        async with asyncio.TaskGroup() as group:
            if self.node_links is not None:
                group.create_task(self.node_links.run(), name="ami-nodes")
            else:
                group.create_task(self.ami.run(), name="ami")
            group.create_task(self.history.run(), name="history")
            group.create_task(self._checkpoint_talk_time(), name="talk-checkpoint")
            group.create_task(self.speakers.run(), name="speaker-stack")
            group.create_task(self.dialout.run(), name="dialout")
            group.create_task(
                self.reports.keep_retention(self.settings.history_purge_every_seconds),
                name="history-retention",
            )
            group.create_task(
                self.on_demand.keep_closing(self.settings.on_demand_close_check_seconds),
                name="rooms-on-demand",
            )
            group.create_task(heap.keep_trimming(), name="heap-trim")

    async def _checkpoint_talk_time(self) -> None:
        while True:
            await asyncio.sleep(self.settings.talk_checkpoint_seconds)
            self.history.submit(self.switchboard.checkpoint(time.time()))

    async def close(self, ending_calls: bool = False) -> None:
        """Stop; ``ending_calls`` when Asterisk stops too, so every call ends here and now
        (its leave events would never reach us). Otherwise the calls go on without us and
        the next start resyncs and carries on their history."""
        self.feed.close()  # scripts' streams end now: none holds the web server's stop
        await self.practice.close()  # simulated callers hang up while we still hear it
        self.breakouts.stop_clocks()  # no group ends by its timer on links about to close
        # Then: no event may land after what we write below.
        await (self.node_links.close() if self.node_links else self.ami.close())
        now = time.time()
        if ending_calls:
            self.history.submit(self.switchboard.shut_down(now))
        else:
            self.history.submit(self.switchboard.checkpoint(now))
        await self.history.flushed(timeout=10)
        waits = {
            "stack.unsaved_at_stop": self.speakers.flushed,
            "polls.unwritten_at_stop": self.polls.flushed,
            "breakouts.unwritten_at_stop": self.breakouts.flushed,
            "entry.failures_unwritten_at_stop": self.desk.flushed,
            "audit.unwritten_at_stop": self.audit.flushed,
            "labels.unkept_at_stop": self.labels.flushed,
        }
        for unwritten, flushed in waits.items():
            try:
                await asyncio.wait_for(flushed(), timeout=10)
            except TimeoutError:
                log.error(unwritten)
        self.audit.stop()
        if self._credentials is not None:
            self._credentials.close()
        if not self.history.idle:
            log.error("history.unwritten_at_stop effects=%d", self.history.pending)
        self.moderation.close()
        self.speakers.close()
        self.names.close()
        self.labels.close()
        self.polls.stop()
        self.breakouts.stop()
        self.desk.close()
        self.pbx_directory.whispers.cancel()
