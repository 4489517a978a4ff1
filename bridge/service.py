"""The bridge service: where Asterisk's events meet the domain, and commands go out.

Data flows one way: AMI event -> domain event -> roster (Switchboard) -> effects to the
history writer and changes to subscribers. Moderator commands go out as AMI actions, and
the roster changes only when Asterisk reports that they happened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from panoramisk.message import Message

from bridge.asterisk import ami_events, recorder
from bridge.asterisk.agi import PinOutcome
from bridge.asterisk.ami import (
    ActionFailed,
    AlreadyRecording,
    AmiClient,
    AmiError,
    NoSuchParticipant,
    NoSuchRoom,
    NotRecording,
)
from bridge.domain.entry import (
    Admission,
    LiveRoomFacts,
    LockoutPolicy,
    Refusal,
    admit,
    lockout_bucket,
)
from bridge.domain.events import (
    DomainEvent,
    LockChanged,
    PbxLost,
    RecordingChanged,
    Resynced,
    RoomStarted,
    SeenParticipant,
    SeenRoom,
)
from bridge.domain.roster import Switchboard
from bridge.hub import Hub
from bridge.settings import Settings
from bridge.store import lockouts, rooms
from bridge.store.db import Database
from bridge.store.history import HistoryWriter, open_leg_totals

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """What subscribers hear: which room changed (None: the whole switchboard) and why."""

    room: str | None
    event: DomainEvent


def recording_name(room: str, at: datetime) -> str:
    return f"{room}-{at.strftime('%Y%m%d-%H%M%S')}.wav"


class BridgeService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.switchboard = Switchboard()
        self.changes: Hub[Change] = Hub()
        self.history = HistoryWriter(db.sessions)
        self.policy = LockoutPolicy(
            threshold=settings.lockout_threshold,
            window=timedelta(seconds=settings.lockout_window_seconds),
            duration=timedelta(seconds=settings.lockout_duration_seconds),
            anonymous_threshold=settings.anonymous_lockout_threshold,
        )
        self.ami = AmiClient(
            host="127.0.0.1",
            port=settings.ami_port,
            username=settings.ami_username,
            secret=settings.ensure_ami_secret(),
            on_event=self.on_ami_event,
            on_connected=self.on_ami_connected,
            action_timeout=settings.ami_action_timeout,
            ping_every=settings.ami_ping_seconds,
        )
        self.entry_requests = 0  # FastAGI dialogues started since the service started
        self.dialogues: set[str] = set()  # channels in the PIN dialogue right now
        self._held: list[DomainEvent] | None = None  # events held back during a resync
        self._changed = asyncio.Event()
        self._pin_lock = asyncio.Lock()  # one PIN decision at a time keeps lockout counts exact
        self._background: set[asyncio.Task[None]] = set()

    # ---- AMI in ---------------------------------------------------------------------

    def on_ami_event(self, message: Message) -> None:
        event = ami_events.to_domain(message)
        if event is None:
            return
        if self._held is not None:
            self._held.append(event)  # a resync is reading Asterisk's lists: apply after it
            return
        self.apply(event)

    def apply(self, event: DomainEvent) -> None:
        effects = self.switchboard.apply(event)
        if effects:
            self.history.submit(effects)
        if isinstance(event, RoomStarted):
            self._record_if_configured(event.room)
        self.changes.publish(Change(getattr(event, "room", None), event))
        self._notify()

    def _notify(self) -> None:
        """Wake everyone in wait_until(): something changed."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds after some event (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    async def on_ami_connected(self, up: bool) -> None:
        if not up:
            self.apply(PbxLost(time.time()))
            return
        await self.resync()

    async def resync(self) -> None:
        """Rebuild the roster from Asterisk's own lists; close what Asterisk no longer has."""
        at = time.time()
        # Events that arrive while the lists are read would be undone by the snapshot
        # (a join after its room's list reads as a ghost): hold them, replay them after.
        self._held = []
        try:
            listed = await self._list("ConfbridgeListRooms")
            snapshot = []
            recorded = []
            for name, locked in ami_events.seen_rooms(listed):
                people = await self._list("ConfbridgeList", Conference=name)
                snapshot.append(SeenRoom(name, locked, ami_events.seen_participants(people)))
                if ami_events.has_recorder(people):
                    recorded.append(RecordingChanged(name, True, at))
            channels = await self._list("CoreShowChannels")
            alive = tuple(
                str(c.get("Channel", "")) for c in channels if c.get("Event") == "CoreShowChannel"
            )
            snapshot = await self._with_earlier_history(snapshot)
            self.apply(Resynced(tuple(snapshot), at, alive))
            for recording in recorded:
                self.apply(recording)
        finally:
            held, self._held = self._held, None
            for event in held:
                self.apply(event)
        log.info(
            "roster.resynced rooms=%d participants=%d",
            len(snapshot),
            sum(len(r.participants) for r in snapshot),
        )

    async def _with_earlier_history(self, snapshot: list[SeenRoom]) -> list[SeenRoom]:
        """Participants new to this roster but with an open leg in history are still in a
        call that began before this service did: bring their talk time and turns along."""
        new = {
            (room.room, person.channel)
            for room in snapshot
            for person in room.participants
            if self.switchboard.room_of(person.channel) != room.room
        }
        if not new:
            return snapshot
        async with self.db.sessions() as session:
            earlier = await open_leg_totals(session, new)
        return [
            replace(
                room,
                participants=tuple(
                    _with_totals(p, earlier.get((room.room, p.channel))) for p in room.participants
                ),
            )
            for room in snapshot
        ]

    async def _list(self, action: str, **fields: str) -> list[Message]:
        try:
            return await self.ami.send({"Action": action, **fields}, timeout=10)
        except NoSuchRoom:
            return []  # "No active conferences." is Asterisk's way of saying: an empty list

    # ---- the shared number (FastAGI EntryDesk) ------------------------------------

    def call_entered(self, channel: str, caller_id: str) -> None:
        self.entry_requests += 1
        self.dialogues.add(channel)
        log.debug("entry.call channel=%s", channel)
        self._notify()

    def dialogue_ended(self, channel: str) -> None:
        self.dialogues.discard(channel)
        self._notify()

    async def is_locked_out(self, caller_id: str) -> bool:
        caller_id = caller_id[:80]
        async with self.db.sessions() as session:
            found = await lockouts.active_lockout(session, lockout_bucket(caller_id), _now())
        if found is not None:
            log.warning("entry.locked_out caller=%s until=%s", caller_id, found.until.isoformat())
        return found is not None

    async def try_pin(self, caller_id: str, digits: str) -> PinOutcome:
        bucket = lockout_bucket(caller_id[:80])  # SIP puts no bound on a caller ID
        async with self._pin_lock, self.db.sessions.begin() as session:
            now = _now()
            if await lockouts.active_lockout(session, bucket, now) is not None:
                return PinOutcome(Refusal.LOCKED_OUT)
            match = await rooms.match_pin(session, digits)
            live = self.switchboard.room(match.room.name) if match else None
            facts = LiveRoomFacts(live.count, live.locked) if live else LiveRoomFacts()
            decision = admit(
                match.room if match else None,
                match.role if match else None,
                match.retired if match else False,
                facts,
            )
            if decision is Refusal.WRONG_PIN:
                locked_now = await lockouts.record_failure(session, bucket, now, self.policy)
                log.info(
                    "entry.pin_attempt caller=%s result=wrong locked_out=%s", caller_id, locked_now
                )
                return PinOutcome(decision, locked_out_now=locked_now)
            await lockouts.record_success(session, bucket, now)
        result = decision.role if isinstance(decision, Admission) else decision.value
        log.debug("entry.pin_attempt caller=%s result=%s", caller_id, result)
        return PinOutcome(decision)

    # ---- moderator actions (AMI out) --------------------------------------------

    async def _act(self, action: str, room: str, **fields: str) -> None:
        await self.ami.send({"Action": action, "Conference": room, **fields})

    async def _act_on(self, action: str, room: str, channel: str) -> None:
        # Asterisk said this participant left: acting now would race their departure
        # (ConfBridge lists a leaving channel for a moment after ConfbridgeLeave).
        live = self.switchboard.room(room)
        if self.switchboard.pbx_connected and (live is None or channel not in live.participants):
            raise NoSuchParticipant(room, channel)
        try:
            await self._act(action, room, Channel=channel)
        except NoSuchRoom:
            # ConfBridge says "no conference" for a channel that left a room that then ended.
            raise NoSuchParticipant(room, channel) from None

    async def mute(self, room: str, channel: str) -> None:
        await self._act_on("ConfbridgeMute", room, channel)

    async def unmute(self, room: str, channel: str) -> None:
        await self._act_on("ConfbridgeUnmute", room, channel)

    async def kick(self, room: str, channel: str) -> None:
        await self._act_on("ConfbridgeKick", room, channel)

    async def mute_all(self, room: str) -> None:
        """Mute everyone but the moderators."""
        await self._act("ConfbridgeMute", room, Channel="participants")

    async def unmute_all(self, room: str) -> None:
        await self._act("ConfbridgeUnmute", room, Channel="participants")

    async def lock(self, room: str) -> None:
        await self._act("ConfbridgeLock", room)
        await self._refresh_lock(room)

    async def unlock(self, room: str) -> None:
        await self._act("ConfbridgeUnlock", room)
        await self._refresh_lock(room)

    async def _refresh_lock(self, room: str) -> None:
        # ConfBridge sends no event for a lock, so ask Asterisk what it now holds.
        for name, locked in ami_events.seen_rooms(await self._list("ConfbridgeListRooms")):
            if name == room:
                self.apply(LockChanged(room, locked, time.time()))

    async def start_recording(self, room: str) -> Path:
        """Send the bridge's recorder into the room (see bridge/asterisk/recorder.py)."""
        live = self.switchboard.room(room)
        if self.switchboard.pbx_connected and live is None:
            raise NoSuchRoom(room)
        if live is not None and live.recording:
            raise AlreadyRecording(room)
        path = self.settings.recordings_dir / recording_name(room, datetime.now())
        self.settings.recordings_dir.mkdir(parents=True, exist_ok=True)
        try:
            await self.ami.send(recorder.start_action(path.stem))
        except ActionFailed:
            # The dialplan refused it: the room emptied, or a recorder got there first.
            raise ActionFailed(f"room '{room}' cannot be recorded now") from None
        return path

    async def stop_recording(self, room: str) -> None:
        if not recorder.hung_up_any(await self.ami.send(recorder.stop_action(room))):
            raise NotRecording(room)

    async def end(self, room: str) -> None:
        """End the call for everyone in the room."""
        await self._act("ConfbridgeKick", room, Channel="all")

    def _record_if_configured(self, room: str) -> None:
        task = asyncio.get_running_loop().create_task(self._auto_record(room))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _auto_record(self, room: str) -> None:
        async with self.db.sessions() as session:
            spec = await rooms.find_room(session, room)
        if spec is None or not spec.record:
            return
        try:
            path = await self.start_recording(room)
            log.info("recording.auto_started room=%s file=%s", room, path.name)
        except AmiError as exc:
            log.warning("recording.auto_start_failed room=%s reason=%s", room, exc)

    # ---- what the panel and CLI read --------------------------------------------

    def status(self) -> dict[str, Any]:
        now = time.time()
        return {
            "pbx": "connected" if self.switchboard.pbx_connected else "disconnected",
            "entry_calls": len(self.switchboard.entry_calls),
            "rooms": {name: self.room_status(name, now) for name in sorted(self.switchboard.rooms)},
        }

    def room_status(self, name: str, now: float | None = None) -> dict[str, Any]:
        now = now or time.time()
        live = self.switchboard.room(name)
        if live is None:
            return {"room": name, "live": False, "participants": []}
        return {
            "room": name,
            "live": True,
            "locked": live.locked,
            "recording": live.recording,
            "started_at": live.started_at,
            "participants": [
                {
                    "channel": p.channel,
                    "caller_id": p.caller_id,
                    "caller_name": p.caller_name,
                    "role": str(p.role),
                    "muted": p.muted,
                    "talking": p.talking,
                    "joined_at": p.joined_at,
                    "talk_time": round(p.talk_time_at(now), 2),
                    "turns": p.turns,
                }
                for p in sorted(live.participants.values(), key=lambda p: p.joined_at)
            ],
        }

    # ---- lifecycle --------------------------------------------------------------

    async def run(self) -> None:
        """Run the AMI supervisor and the history writer until cancelled."""
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
        if not self.history.idle:
            log.error("history.unwritten_at_stop effects=%d", self.history.pending)
        for task in list(self._background):
            task.cancel()


def _with_totals(person: SeenParticipant, totals: tuple[float, int] | None) -> SeenParticipant:
    if totals is None:
        return person
    return replace(person, earlier_talk_time=totals[0], earlier_turns=totals[1])


def _now() -> datetime:
    return datetime.now(UTC)
