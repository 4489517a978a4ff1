"""Who is where, right now: the live rooms and their rosters, as Asterisk reported them.

``Switchboard.apply(event)`` is the reducer: it updates the state from one domain event and
returns the effects the outside world must carry out (history rows to write). It never reads
a clock or does I/O; time comes in on the events. Asterisk is the source of truth, so nothing
here changes because a command was sent, only because Asterisk said it happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bridge.domain import group_moves
from bridge.domain.events import (
    CallArrived,
    CallHandedOver,
    CallHungUp,
    DomainEvent,
    HangupRequested,
    LeaveReason,
    LockChanged,
    MainConferenceEmptied,
    MuteChanged,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantMoved,
    PbxLost,
    RecordingChanged,
    RemovalOrdered,
    Resynced,
    Role,
    RoomEnded,
    RoomStarted,
    SeenParticipant,
    SeenRoom,
    TalkingChanged,
)
from bridge.domain.roster_effects import (  # the reducer's effects, named here too
    CallClosed as CallClosed,
    CallOpened as CallOpened,
    Effect as Effect,
    HistoryReconciled as HistoryReconciled,
    LegClosed as LegClosed,
    LegOpened as LegOpened,
    LegReasonCorrected as LegReasonCorrected,
    LegUpdated as LegUpdated,
)

UNEXPLAINED_KEPT = 1000  # channels whose late hangup cause may still name why they left

# ---- state ------------------------------------------------------------------------------


@dataclass
class Participant:
    channel: str
    caller_id: str
    role: Role
    joined_at: float
    muted: bool = False
    talking: bool = False
    caller_name: str = ""
    talk_time: float = 0.0  # seconds, closed talking spurts only; see talk_time_at()
    talking_since: float | None = None
    turns: int = 0  # unmuted stretches in which the participant spoke
    in_turn: bool = False
    leaving: LeaveReason | None = None  # why they will leave, once known before they do
    group: str | None = None  # the breakout group they are in (None: the main room)
    moving: bool = False  # between conferences, moved by the bridge (``group_moves``)

    def talk_time_at(self, now: float) -> float:
        """Talk time so far, counting a spurt still under way up to ``now``."""
        running = max(0.0, now - self.talking_since) if self.talking_since is not None else 0.0
        return self.talk_time + running

    def start_talking(self, at: float) -> None:
        if self.talking:
            return
        self.talking = True
        self.talking_since = at
        if not self.in_turn:
            self.in_turn = True
            self.turns += 1

    def stop_talking(self, at: float) -> None:
        if self.talking and self.talking_since is not None:
            self.talk_time += max(0.0, at - self.talking_since)
        self.talking = False
        self.talking_since = None


@dataclass
class LiveRoom:
    name: str
    started_at: float
    participants: dict[str, Participant] = field(default_factory=dict)
    locked: bool = False
    recording: bool = False

    @property
    def count(self) -> int:
        return len(self.participants)


@dataclass(frozen=True)
class EntryCall:
    """A caller on the shared number who is not (yet) in a room: typing a PIN, say."""

    channel: str
    caller_id: str
    arrived_at: float


# ---- the reducer ------------------------------------------------------------------------


class Switchboard:
    """The live state of every room and of the shared number."""

    def __init__(self) -> None:
        self.rooms: dict[str, LiveRoom] = {}
        self.entry_calls: dict[str, EntryCall] = {}
        self.pbx_connected = False
        self._room_of: dict[str, str] = {}  # channel -> room, for events that lack the room
        # Channels that left with no reason known yet (-> room): a late hangup cause names it.
        self._left_unexplained: dict[str, str] = {}

    def room(self, name: str) -> LiveRoom | None:
        return self.rooms.get(name)

    def room_of(self, channel: str) -> str | None:
        return self._room_of.get(channel)

    def shut_down(self, at: float) -> list[Effect]:
        """The PBX is being stopped with us: every call ends now, for history too."""
        effects: list[Effect] = []
        for name in list(self.rooms):
            effects += self._close_room(name, at)
        self.entry_calls.clear()
        self.pbx_connected = False
        return effects

    def checkpoint(self, now: float) -> list[Effect]:
        """Talk time so far of everyone talking right now, for history: a spurt is written
        when it ends, and a service killed mid-spurt would otherwise lose all of it."""
        return [
            LegUpdated(room.name, person.channel, person.talk_time_at(now), person.turns)
            for room in self.rooms.values()
            for person in room.participants.values()
            if person.talking
        ]

    def explain(self, event: DomainEvent) -> DomainEvent:
        """The event as subscribers hear it: a leave says the reason learnt before it; a
        leave and join the bridge ordered are a move within the room; the hangup of someone
        still in a room is the leave ConfBridge did not report (lost, it must not leave a
        ghost in the stack, the keys or the bars, which hear leaves, not hangups)."""
        if isinstance(event, CallHungUp) and (room := self._room_of.get(event.channel)):
            gone = self._find(room, event.channel)
            group = gone.group if gone is not None else None
            event = ParticipantLeft(
                room, event.channel, event.at, event.reason or LeaveReason.HUNG_UP, group
            )
        elif (live := self.rooms.get(getattr(event, "room", ""))) is not None:
            moved = group_moves.explain_move(live.participants, event)
            if moved is not None:
                return moved
        if isinstance(event, ParticipantLeft):
            person = self._find(event.room, event.channel)
            if person is not None and person.leaving is not None:
                return replace(event, reason=person.leaving)
        return event

    def apply(self, event: DomainEvent) -> list[Effect]:
        match event:
            case CallArrived(channel=channel, caller_id=number, at=at):
                self.entry_calls[channel] = EntryCall(channel, number, at)
                return []
            case CallHandedOver():  # the call only relays the caller to their room's node
                self.entry_calls.pop(event.channel, None)
                return []
            case CallHungUp():
                self.entry_calls.pop(event.channel, None)
                room = self._room_of.get(event.channel)
                # ConfbridgeLeave normally comes first; a lost one must not leave a ghost.
                if room is None:
                    return self._explain_leave(event.channel, event.reason)
                return self._leave(room, event.channel, event.at, event.reason)
            case HangupRequested():
                room = self._room_of.get(event.channel)
                if room is None:
                    return self._explain_leave(event.channel, event.reason)
                person = self._find(room, event.channel) if room else None
                if person is not None and person.leaving is None:  # a kick ordered comes first
                    person.leaving = event.reason
                return []
            case RemovalOrdered():
                live = self.rooms.get(event.room)
                for person in live.participants.values() if live else ():
                    if event.channel in (None, person.channel):
                        person.leaving = event.reason
                return []
            case RoomStarted():
                return self._open_room(event.room, event.at)
            case RoomEnded():
                return self._close_room(event.room, event.at)
            case ParticipantJoined():
                return self._join(event)
            case ParticipantLeft():
                return self._leave(event.room, event.channel, event.at, event.reason)
            case ParticipantMoved():
                live = self.rooms.get(event.room)
                group_moves.apply_move(live.participants if live else None, event)
                return []
            case MainConferenceEmptied():
                return []
            case MuteChanged():
                return self._mute(event)
            case TalkingChanged():
                return self._talking(event)
            case RecordingChanged():
                if (live := self.rooms.get(event.room)) is not None:
                    live.recording = event.recording
                return []
            case LockChanged():
                if (live := self.rooms.get(event.room)) is not None:
                    live.locked = event.locked
                return []
            case Resynced():
                return self._resync(event)
            case PbxLost():
                self.pbx_connected = False
                return []

    def _open_room(self, name: str, at: float) -> list[Effect]:
        if name in self.rooms:
            return []
        self.rooms[name] = LiveRoom(name=name, started_at=at)
        return [CallOpened(name, at)]

    def _close_room(self, name: str, at: float) -> list[Effect]:
        live = self.rooms.get(name)
        if live is None:
            return []
        effects: list[Effect] = []
        for channel in list(live.participants):
            effects += self._leave(name, channel, at)
        del self.rooms[name]
        effects.append(CallClosed(name, at))
        return effects

    def _join(self, event: ParticipantJoined) -> list[Effect]:
        effects = self._open_room(event.room, event.at)
        live = self.rooms[event.room]
        self.entry_calls.pop(event.channel, None)
        if event.channel in live.participants:
            return effects
        previous = self._room_of.get(event.channel)
        if previous is not None and previous != event.room:
            moved = self._find(previous, event.channel)
            why = LeaveReason.MOVED if moved is not None and moved.moving else None
            effects += self._leave(previous, event.channel, event.at, why)
        live.participants[event.channel] = Participant(
            channel=event.channel,
            caller_id=event.caller_id,
            role=event.role,
            joined_at=event.at,
            muted=event.muted,
            caller_name=event.caller_name,
        )
        self._room_of[event.channel] = event.room
        effects.append(
            LegOpened(
                event.room, event.channel, event.caller_id, event.role, event.at, event.caller_name
            )
        )
        return effects

    def _leave(
        self, room: str, channel: str, at: float, reason: LeaveReason | None = None
    ) -> list[Effect]:
        """``reason``: what the leave's own event says; what the roster learnt before wins."""
        live = self.rooms.get(room)
        if live is None or channel not in live.participants:
            return []
        person = live.participants.pop(channel)
        self._room_of.pop(channel, None)
        person.stop_talking(at)
        why = person.leaving or reason
        if person.leaving is None:  # the leave's own word: a hangup cause may still come
            self._left_unexplained[channel] = room
            while len(self._left_unexplained) > UNEXPLAINED_KEPT:
                del self._left_unexplained[next(iter(self._left_unexplained))]
        return [LegClosed(room, channel, at, person.talk_time, person.turns, why)]

    def _explain_leave(self, channel: str, reason: LeaveReason | None) -> list[Effect]:
        """A hangup cause that arrived after its channel left: history gets the reason."""
        room = self._left_unexplained.pop(channel, None)
        if room is None or reason is None or reason is LeaveReason.HUNG_UP:
            return []
        return [LegReasonCorrected(room, channel, reason)]

    def _mute(self, event: MuteChanged) -> list[Effect]:
        person = self._find(event.room, event.channel)
        if person is None:
            return []
        person.muted = event.muted
        if not event.muted:
            return []
        # A muted participant's turn is over, whatever the talk detector last said.
        was_talking = person.talking
        person.stop_talking(event.at)
        person.in_turn = False
        if was_talking:
            return [LegUpdated(event.room, event.channel, person.talk_time, person.turns)]
        return []

    def _talking(self, event: TalkingChanged) -> list[Effect]:
        person = self._find(event.room, event.channel)
        if person is None:
            return []
        if event.talking:
            if person.muted:
                return []  # the detector hears a muted caller; they are not on the floor
            person.start_talking(event.at)
            return []
        if not person.talking:
            return []
        person.stop_talking(event.at)
        return [LegUpdated(event.room, event.channel, person.talk_time, person.turns)]

    def _find(self, room: str, channel: str) -> Participant | None:
        live = self.rooms.get(room)
        return live.participants.get(channel) if live else None

    def _resync(self, event: Resynced) -> list[Effect]:
        effects: list[Effect] = []
        seen_rooms = {seen.room: seen for seen in event.rooms}
        for name in [n for n in self.rooms if n not in seen_rooms]:
            effects += self._close_room(name, event.at)
        for seen in event.rooms:
            effects += self._resync_room(seen, event.at)
        if event.channels is not None:
            alive = set(event.channels)
            self.entry_calls = {c: e for c, e in self.entry_calls.items() if c in alive}
        self.pbx_connected = True
        effects.append(
            HistoryReconciled(
                live_rooms=frozenset(self.rooms),
                live_channels=frozenset(
                    (room.name, channel)
                    for room in self.rooms.values()
                    for channel in room.participants
                ),
                at=event.at,
            )
        )
        return effects

    def _resync_room(self, seen: SeenRoom, at: float) -> list[Effect]:
        effects = self._open_room(seen.room, at)
        live = self.rooms[seen.room]
        live.locked = seen.locked
        live.recording = seen.recording
        present = {p.channel: p for p in seen.participants}
        for channel in [c for c in live.participants if c not in present]:
            effects += self._leave(seen.room, channel, at)  # a ghost: Asterisk no longer has it
        for person in seen.participants:
            effects += self._resync_participant(seen.room, person, at)
        return effects

    def _resync_participant(self, room: str, seen: SeenParticipant, at: float) -> list[Effect]:
        known = self._find(room, seen.channel)
        effects: list[Effect] = []
        if known is None:
            effects += self._join(
                ParticipantJoined(
                    room, seen.channel, seen.caller_id, seen.role, seen.muted, at, seen.caller_name
                )
            )
            known = self.rooms[room].participants[seen.channel]
            known.talk_time = seen.earlier_talk_time
            known.turns = seen.earlier_turns
            # Unmuted, with turns in history: they may be mid-turn (a turn lasts while
            # unmuted), and that turn is in history already; speaking on is not a new one.
            known.in_turn = not seen.muted and seen.earlier_turns > 0
        known.muted = seen.muted
        known.group, known.moving = seen.group, False
        if seen.muted:
            known.in_turn = False  # muted while we were away: that turn is over, as in _mute
        if seen.talking and not seen.muted:
            known.start_talking(at)
        elif known.talking:
            known.stop_talking(at)
            effects.append(LegUpdated(room, seen.channel, known.talk_time, known.turns))
        return effects
