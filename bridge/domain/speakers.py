"""The speaker stack of one room's call: who asked to speak, in which order, and who has the floor.

Pure, like the roster: no I/O, no asyncio, no clock. Every method that can change something
takes ``at`` (seconds since the epoch, as on the domain events) and returns the effects the
service must carry out. A moderator command that cannot be done raises a ``StackError`` whose
message is written for the moderator; a caller's key never raises, it always gets a ``Tell``.

Wiring (one ``SpeakerStack`` per live call of a room; drop it when the call ends)
-------------------------------------------------------------------------------------
- Create it with ``SpeakerStack.for_room(spec, auto_advance=..., rejoin_grace=...)`` when the
  call opens, or ``SpeakerStack.from_state(saved)`` after a restart; then ``resync(members, at)``
  with Asterisk's list, which ends the turn of a speaker who left while we were away.
- Roster in: ``join(channel, caller_id, role, at)``, ``leave(channel, at)``,
  ``note_speech(channel, turns, talk_time, at)`` with the roster's totals for that channel
  (``Participant.turns``, ``talk_time_at(at)``) whenever they move on.
- Keypad in: ``press(channel, Key.HAND | Key.DIRECT | Key.PROCESS | Key.PLACE, at)``
  (*9, *8, *7, *1).
- Moderators: ``call_next``, ``call``, ``end_turn``, ``move``, ``remove``, ``add``, ``clear``,
  ``set_priority``, ``set_policy``; ``set_rules`` after a rooms file sync.
- Clock: sleep until ``next_deadline()`` (None: nothing is due), then ``tick(now)``. Call it
  again after every method: any of them may move the deadline.
- Out: ``show(at)`` is the ``stack show`` data (``.as_json()`` is the CLI/API object),
  ``place_of(channel)`` a caller's place. Effects:

  ``Unmute``/``Mute(room, channel)``      ConfbridgeUnmute/ConfbridgeMute
  ``Warn(room, channel, seconds_left)``   the speaker alone hears "your time is nearly up"
  ``Tell(room, channel, heard, place)``   the key-presser alone hears ``heard`` (and the place)
  ``TurnStarted``/``TurnEnded``            history rows for the post-call report (the talk
                                          time of a turn is the roster's, not ours)
  ``StackChanged(room)``                  state changed: save ``to_state()``, publish ``show``

Decisions
---------
- Lanes are served process, direct, stack. Within a lane, ``priority`` entries go first. The
  process and direct lanes go in the order of the key presses; the policy orders the stack lane:
  ``fifo`` by raised hand, ``progressive`` by (has not spoken, fewer turns, less talk time,
  earlier hand).
- One entry per caller. *9 raises a hand in the stack lane, or, for anyone queued in any lane,
  withdraws the entry; the speaker's *9 means "I am done". *8 and *7 queue in their lane; pressed
  again they withdraw; pressed while queued in another lane they move the entry there, at the
  back of that lane (priority kept, a moderator's move dropped). The speaker's *7/*8/*1 answer
  ``HAVE_FLOOR``. Moderators' *9/*8/*7 answer ``KEY_NOT_AVAILABLE`` (they speak without asking);
  their *1 and a speaking moderator's *9 work. With ``keypad`` off, every key answers that.
- ``move(channel, place)``: ``place`` is the 1-based place in the serving order, as ``show``
  prints it, and must lie within the entry's own lane. The entry keeps that standing against the
  policy's order from then on (newcomers who rank ahead by the policy still go ahead), until a
  policy switch, a priority change or a lane change puts it back under the policy.
- A person is their caller ID (for the rejoin grace and the "has spoken" record) and a channel
  (for everything else). Withheld caller IDs (``entry.WITHHELD_CALLER_IDS``) identify nobody:
  such a caller's entry goes when they leave, and their record is their channel's alone.
- A caller who leaves keeps their entry, unseen, for ``rejoin_grace`` seconds; joining again
  with the same caller ID in that time puts it back, on the new channel. From ``left_at +
  rejoin_grace`` on (the deadline includes it), the entry is gone.
- "Has spoken" counts floor turns given here and the roster's turns and talk time, summed over
  every channel the person used in this call: turns = max(floor turns, roster turns).
- ``auto_advance`` calls the next when a turn ends by itself (done, left, time limit), not when
  a moderator ends it. A limit over 15 s warns once, 15 s before; at the limit the speaker is
  muted (moderators never are) and the turn ends.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bridge.domain.entry import WITHHELD_CALLER_IDS
from bridge.domain.events import Role
from bridge.domain.rooms import QueuePolicy, RoomSpec

DEFAULT_REJOIN_GRACE = 120.0  # seconds
WARNING_LEAD = 15.0  # seconds before the speaking time limit
STATE_VERSION = 1


class Lane(StrEnum):
    """Served in this order."""

    PROCESS = "process"  # point of process: how the call is run
    DIRECT = "direct"  # direct response to the current speaker
    STACK = "stack"  # raised hands


_LANE_RANK = {Lane.PROCESS: 0.0, Lane.DIRECT: 1.0, Lane.STACK: 2.0}


class Key(StrEnum):
    HAND = "hand"  # *9
    DIRECT = "direct"  # *8
    PROCESS = "process"  # *7
    PLACE = "place"  # *1


_KEY_LANE = {Key.HAND: Lane.STACK, Key.DIRECT: Lane.DIRECT, Key.PROCESS: Lane.PROCESS}


class Heard(StrEnum):
    """What a caller hears after a key; those with a place carry it."""

    HAND_RAISED = "hand_raised"
    DIRECT_RESPONSE = "direct_response"
    POINT_OF_PROCESS = "point_of_process"
    HAND_LOWERED = "hand_lowered"
    TURN_DONE = "turn_done"
    PLACE = "place"
    NOT_QUEUED = "not_queued"
    HAVE_FLOOR = "have_floor"
    KEY_NOT_AVAILABLE = "key_not_available"


_QUEUED_IN = {
    Lane.STACK: Heard.HAND_RAISED,
    Lane.DIRECT: Heard.DIRECT_RESPONSE,
    Lane.PROCESS: Heard.POINT_OF_PROCESS,
}


class TurnEnd(StrEnum):
    DONE = "done"  # the speaker pressed *9
    MODERATOR = "moderator"
    LEFT = "left"
    TIME_LIMIT = "time_limit"
    REPLACED = "replaced"  # someone else was given the floor


# ---- errors -------------------------------------------------------------------------------


class StackError(Exception):
    """A moderator command the stack cannot carry out; the message is for the moderator."""


class NotInRoom(StackError):
    def __init__(self, channel: str) -> None:
        super().__init__(f"{channel} is not in the room")
        self.channel = channel


class NotQueued(StackError):
    def __init__(self, channel: str) -> None:
        super().__init__(f"{channel} is not in the stack")
        self.channel = channel


class AlreadyQueued(StackError):
    def __init__(self, channel: str, lane: Lane, place: int) -> None:
        super().__init__(f"{channel} is already in the {lane} lane, at place {place}")
        self.channel, self.lane, self.place = channel, lane, place


class AlreadySpeaking(StackError):
    def __init__(self, channel: str) -> None:
        super().__init__(f"{channel} has the floor already")
        self.channel = channel


class NoSpeaker(StackError):
    def __init__(self) -> None:
        super().__init__("nobody has the floor")


class StackEmpty(StackError):
    def __init__(self) -> None:
        super().__init__("nobody is waiting to speak")


class PlaceOutOfLane(StackError):
    def __init__(self, channel: str, lane: Lane, place: int, first: int, last: int) -> None:
        where = f"place {first}" if first == last else f"places {first} to {last}"
        super().__init__(f"place {place}: {channel} is in the {lane} lane, which holds {where}")
        self.channel, self.lane, self.place, self.first, self.last = (
            channel,
            lane,
            place,
            first,
            last,
        )


class BadState(StackError):
    """A saved stack that cannot be read back."""


# ---- effects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unmute:
    room: str
    channel: str


@dataclass(frozen=True)
class Mute:
    room: str
    channel: str


@dataclass(frozen=True)
class Warn:
    """The speaker's time is nearly up; only they hear it."""

    room: str
    channel: str
    seconds_left: int


@dataclass(frozen=True)
class Tell:
    """The answer to a key, heard by that caller alone."""

    room: str
    channel: str
    heard: Heard
    place: int | None = None


@dataclass(frozen=True)
class TurnStarted:
    room: str
    channel: str
    caller_id: str
    lane: Lane | None  # None: called on by a moderator without being queued
    at: float


@dataclass(frozen=True)
class TurnEnded:
    room: str
    channel: str
    caller_id: str
    lane: Lane | None
    started_at: float
    ended_at: float
    why: TurnEnd


@dataclass(frozen=True)
class StackChanged:
    """Something changed: save ``to_state()`` and publish ``show()``."""

    room: str


Effect = Unmute | Mute | Warn | Tell | TurnStarted | TurnEnded | StackChanged


# ---- inputs and views ---------------------------------------------------------------------


@dataclass(frozen=True)
class StackRules:
    """The room settings the stack follows."""

    speaking_time_limit: float = 0.0  # seconds; 0: no limit
    auto_advance: bool = False
    rejoin_grace: float = DEFAULT_REJOIN_GRACE  # seconds; 0: a caller who leaves is gone
    keypad: bool = True  # False: callers' keys answer KEY_NOT_AVAILABLE


@dataclass(frozen=True)
class Member:
    """Someone in the room, as the roster knows them."""

    channel: str
    caller_id: str
    role: Role = Role.PARTICIPANT


@dataclass(frozen=True)
class SpeakerView:
    channel: str
    caller_id: str
    lane: Lane | None
    started_at: float
    seconds_left: int | None  # None: no limit


@dataclass(frozen=True)
class PlaceView:
    place: int
    channel: str
    caller_id: str
    lane: Lane
    reason: str
    priority: bool


@dataclass(frozen=True)
class StackView:
    room: str
    policy: QueuePolicy
    speaker: SpeakerView | None
    queue: tuple[PlaceView, ...]  # in serving order

    def as_json(self) -> dict[str, Any]:
        """The ``stack show --json`` object."""
        speaker = self.speaker
        return {
            "room": self.room,
            "policy": str(self.policy),
            "speaker": None
            if speaker is None
            else {
                "channel": speaker.channel,
                "caller_id": speaker.caller_id,
                "lane": None if speaker.lane is None else str(speaker.lane),
                "started_at": speaker.started_at,
                "seconds_left": speaker.seconds_left,
            },
            "queue": [
                {
                    "place": p.place,
                    "channel": p.channel,
                    "caller_id": p.caller_id,
                    "lane": str(p.lane),
                    "reason": p.reason,
                    "priority": p.priority,
                }
                for p in self.queue
            ],
        }


def person_of(channel: str, caller_id: str) -> str:
    """Who a caller is across channels: their caller ID, or, when withheld, this channel."""
    if caller_id.strip().lower() in WITHHELD_CALLER_IDS:
        return f"channel:{channel}"
    return caller_id.strip()


# ---- state --------------------------------------------------------------------------------

SortKey = tuple[float, ...]


@dataclass
class _Entry:
    channel: str
    caller_id: str
    person: str
    lane: Lane
    raised_at: float  # when they asked for this lane
    seq: int  # ties on raised_at go to the earlier request
    priority: bool = False
    placed: SortKey | None = None  # a moderator's move: this standing instead of the policy's
    away_since: float | None = None  # left the room; kept for the rejoin grace


@dataclass
class _Record:
    """What one person has said in this call so far."""

    floor_turns: int = 0  # given here
    legs: dict[str, tuple[int, float]] = field(default_factory=dict)  # channel: roster facts

    @property
    def turns(self) -> int:
        return max(self.floor_turns, sum(turns for turns, _ in self.legs.values()))

    @property
    def talk_time(self) -> float:
        return sum(talk for _, talk in self.legs.values())

    @property
    def has_spoken(self) -> bool:
        return self.turns > 0 or self.talk_time > 0


@dataclass
class _Turn:
    channel: str
    caller_id: str
    lane: Lane | None
    started_at: float
    warned: bool = False


class SpeakerStack:
    """The stack and the floor of one room's call."""

    def __init__(
        self,
        room: str,
        policy: QueuePolicy = QueuePolicy.FIFO,
        rules: StackRules | None = None,
    ) -> None:
        self.room = room
        self.policy = policy
        self.rules = rules or StackRules()
        self._members: dict[str, Member] = {}
        self._person_of: dict[str, str] = {}  # every channel seen in this call
        self._records: dict[str, _Record] = {}  # person: what they said
        self._entries: dict[str, _Entry] = {}  # the queue, by channel, in no order
        # Those who left within their grace, under their old channel: apart from the queue,
        # since after an Asterisk restart a newcomer may get the same channel name.
        self._away: list[_Entry] = []
        self._speaker: _Turn | None = None
        self._seq = 0
        self._moves = 0
        self._dirty = False

    @classmethod
    def for_room(
        cls,
        spec: RoomSpec,
        *,
        auto_advance: bool = False,
        rejoin_grace: float = DEFAULT_REJOIN_GRACE,
        keypad: bool = True,
    ) -> SpeakerStack:
        rules = StackRules(float(spec.speaking_time_limit), auto_advance, rejoin_grace, keypad)
        return cls(spec.name, spec.queue, rules)

    # -- the roster ---------------------------------------------------------------------------

    def join(self, channel: str, caller_id: str, role: Role, at: float) -> list[Effect]:
        self._expire(at)
        self._join(Member(channel, caller_id, role))
        return self._done([])

    def leave(self, channel: str, at: float) -> list[Effect]:
        self._expire(at)
        return self._done(self._leave(channel, at))

    def resync(self, members: Iterable[Member], at: float) -> list[Effect]:
        """Asterisk's list of who is in the room now: those we missed join, the others leave."""
        self._expire(at)
        present = {member.channel: member for member in members}
        effects: list[Effect] = []
        for channel in [c for c in self._members if c not in present]:
            effects += self._leave(channel, at)
        for member in present.values():
            self._join(member)
        return self._done(effects)

    def note_speech(self, channel: str, turns: int, talk_time: float, at: float) -> list[Effect]:
        """The roster's totals for one channel (its turns and talk time so far in this call)."""
        self._expire(at)
        person = self._person_of.get(channel)
        if person is not None:
            record = self._records.setdefault(person, _Record())
            if record.legs.get(channel) != (turns, talk_time):
                record.legs[channel] = (turns, talk_time)
                self._dirty = True
        return self._done([])

    # -- the keypad ---------------------------------------------------------------------------

    def press(self, channel: str, key: Key, at: float) -> list[Effect]:
        self._expire(at)
        return self._done(self._press(channel, key, at))

    # -- moderators ---------------------------------------------------------------------------

    def call_next(self, at: float) -> list[Effect]:
        """The head of the lanes gets the floor."""
        self._expire(at)
        order = self._order()
        if not order:
            raise StackEmpty()
        return self._done(self._give_floor(self._members[order[0].channel], at))

    def call(self, channel: str, at: float) -> list[Effect]:
        """Anyone in the room gets the floor, queued or not."""
        self._expire(at)
        member = self._member(channel)
        if self._speaking(channel):
            raise AlreadySpeaking(channel)
        return self._done(self._give_floor(member, at))

    def end_turn(self, at: float) -> list[Effect]:
        self._expire(at)
        if self._speaker is None:
            raise NoSpeaker()
        return self._done(self._end_turn(at, TurnEnd.MODERATOR))

    def move(self, channel: str, place: int, at: float) -> list[Effect]:
        """To ``place`` in the serving order, which must be within the entry's lane."""
        self._expire(at)
        entry = self._queued(channel)
        order = self._order()
        lane = [e for e in order if e.lane is entry.lane]
        first = order.index(lane[0]) + 1
        last = first + len(lane) - 1
        if not first <= place <= last:
            raise PlaceOutOfLane(channel, entry.lane, place, first, last)
        if order.index(entry) + 1 == place:
            return self._done([])
        others = [e for e in lane if e is not entry]
        # Just behind whoever is to stand before it (or at the head of the lane): a key
        # between theirs and the next one's, whatever the policy's keys look like.
        ahead = place - first
        anchor = self._key(others[ahead - 1]) if ahead else (_LANE_RANK[entry.lane],)
        self._moves += 1
        entry.placed = (*anchor, -float(self._moves))
        self._dirty = True
        return self._done([])

    def remove(self, channel: str, at: float) -> list[Effect]:
        self._expire(at)
        self._queued(channel)
        del self._entries[channel]
        self._dirty = True
        return self._done([])

    def add(self, channel: str, lane: Lane, at: float) -> list[Effect]:
        """Queue someone from the roster; someone queued in another lane moves to this one."""
        self._expire(at)
        member = self._member(channel)
        if self._speaking(channel):
            raise AlreadySpeaking(channel)
        entry = self._entries.get(channel)
        if entry is None:
            self._enqueue(member, lane, at)
        elif entry.lane is lane:
            raise AlreadyQueued(channel, lane, self._place(channel) or 0)
        else:
            self._change_lane(entry, lane, at)
        return self._done([])

    def clear(self, lane: Lane | None, at: float) -> list[Effect]:
        """Empty one lane, or every lane; those away within their grace go too."""
        self._expire(at)
        before = len(self._entries) + len(self._away)
        self._entries = {c: e for c, e in self._entries.items() if lane not in (None, e.lane)}
        self._away = [e for e in self._away if lane not in (None, e.lane)]
        self._dirty |= len(self._entries) + len(self._away) < before
        return self._done([])

    def set_priority(self, channel: str, on: bool, at: float) -> list[Effect]:
        self._expire(at)
        entry = self._queued(channel)
        if entry.priority != on:
            entry.priority = on
            entry.placed = None
            self._dirty = True
        return self._done([])

    def set_policy(self, policy: QueuePolicy, at: float) -> list[Effect]:
        """The whole order is recomputed under the new policy; moderators' moves are undone."""
        self._expire(at)
        if policy is not self.policy:
            self.policy = policy
            for entry in (*self._entries.values(), *self._away):
                entry.placed = None
            self._dirty = True
        return self._done([])

    def set_rules(self, rules: StackRules, at: float) -> list[Effect]:
        self._expire(at)
        if rules != self.rules:
            self.rules = rules
            self._dirty = True
        return self._done([])

    # -- the clock ----------------------------------------------------------------------------

    def tick(self, at: float) -> list[Effect]:
        """Whatever is due by ``at``: the warning, the time limit, entries past their grace."""
        self._expire(at)
        effects: list[Effect] = []
        turn, limit = self._speaker, self.rules.speaking_time_limit
        if turn is not None and limit > 0:
            ends_at = turn.started_at + limit
            if at >= ends_at:
                effects += self._end_turn(at, TurnEnd.TIME_LIMIT)
                effects += self._advance(at)
            elif not turn.warned and limit > WARNING_LEAD and at >= ends_at - WARNING_LEAD:
                turn.warned = True
                self._dirty = True
                effects.append(Warn(self.room, turn.channel, math.ceil(ends_at - at)))
        return self._done(effects)

    def next_deadline(self) -> float | None:
        """When ``tick`` next has something to do; None: nothing until another event."""
        due = [
            e.away_since + self.rules.rejoin_grace for e in self._away if e.away_since is not None
        ]
        turn, limit = self._speaker, self.rules.speaking_time_limit
        if turn is not None and limit > 0:
            due.append(turn.started_at + limit)
            if not turn.warned and limit > WARNING_LEAD:
                due.append(turn.started_at + limit - WARNING_LEAD)
        return min(due, default=None)

    # -- views --------------------------------------------------------------------------------

    def show(self, at: float) -> StackView:
        speaker = None
        if (turn := self._speaker) is not None:
            limit = self.rules.speaking_time_limit
            left = math.ceil(max(0.0, turn.started_at + limit - at)) if limit > 0 else None
            speaker = SpeakerView(turn.channel, turn.caller_id, turn.lane, turn.started_at, left)
        order = self._order()
        hands = sorted((e for e in order if e.lane is Lane.STACK), key=_raised)
        raised_rank = {e.channel: rank for rank, e in enumerate(hands, start=1)}
        queue = tuple(
            PlaceView(
                place,
                e.channel,
                e.caller_id,
                e.lane,
                self._reason(e, raised_rank.get(e.channel, 0)),
                e.priority,
            )
            for place, e in enumerate(order, start=1)
        )
        return StackView(self.room, self.policy, speaker, queue)

    def place_of(self, channel: str) -> int | None:
        """1-based place in the serving order; None: not queued."""
        return self._place(channel)

    @property
    def speaker(self) -> str | None:
        return None if self._speaker is None else self._speaker.channel

    # -- persistence --------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Everything, as JSON-ready plain data; ``from_state`` reads it back."""
        turn = self._speaker
        return {
            "version": STATE_VERSION,
            "room": self.room,
            "policy": str(self.policy),
            "rules": {
                "speaking_time_limit": self.rules.speaking_time_limit,
                "auto_advance": self.rules.auto_advance,
                "rejoin_grace": self.rules.rejoin_grace,
                "keypad": self.rules.keypad,
            },
            "seq": self._seq,
            "moves": self._moves,
            "members": [[m.channel, m.caller_id, str(m.role)] for m in self._members.values()],
            "people": dict(self._person_of),
            "records": {
                person: {
                    "floor_turns": r.floor_turns,
                    "legs": {ch: [turns, talk] for ch, (turns, talk) in r.legs.items()},
                }
                for person, r in self._records.items()
            },
            "entries": [
                {
                    "channel": e.channel,
                    "caller_id": e.caller_id,
                    "person": e.person,
                    "lane": str(e.lane),
                    "raised_at": e.raised_at,
                    "seq": e.seq,
                    "priority": e.priority,
                    "placed": None if e.placed is None else list(e.placed),
                    "away_since": e.away_since,
                }
                for e in (*self._entries.values(), *self._away)
            ],
            "speaker": None
            if turn is None
            else {
                "channel": turn.channel,
                "caller_id": turn.caller_id,
                "lane": None if turn.lane is None else str(turn.lane),
                "started_at": turn.started_at,
                "warned": turn.warned,
            },
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SpeakerStack:
        try:
            return cls._read_state(state)
        except (KeyError, TypeError, ValueError) as err:
            raise BadState(f"saved speaker stack is unreadable: {err!r}") from err

    @classmethod
    def _read_state(cls, state: dict[str, Any]) -> SpeakerStack:
        if state["version"] != STATE_VERSION:
            raise ValueError(f"version {state['version']}, expected {STATE_VERSION}")
        rules = state["rules"]
        stack = cls(
            str(state["room"]),
            QueuePolicy(state["policy"]),
            StackRules(
                float(rules["speaking_time_limit"]),
                bool(rules["auto_advance"]),
                float(rules["rejoin_grace"]),
                bool(rules["keypad"]),
            ),
        )
        stack._seq, stack._moves = int(state["seq"]), int(state["moves"])
        for channel, caller_id, role in state["members"]:
            stack._members[channel] = Member(channel, caller_id, Role(role))
        stack._person_of = {str(ch): str(person) for ch, person in state["people"].items()}
        for person, record in state["records"].items():
            legs = {ch: (int(turns), float(talk)) for ch, (turns, talk) in record["legs"].items()}
            stack._records[person] = _Record(int(record["floor_turns"]), legs)
        for e in state["entries"]:
            entry = _Entry(
                channel=e["channel"],
                caller_id=e["caller_id"],
                person=e["person"],
                lane=Lane(e["lane"]),
                raised_at=float(e["raised_at"]),
                seq=int(e["seq"]),
                priority=bool(e["priority"]),
                placed=None if e["placed"] is None else tuple(float(k) for k in e["placed"]),
                away_since=None if e["away_since"] is None else float(e["away_since"]),
            )
            if entry.away_since is None:
                stack._entries[entry.channel] = entry
            else:
                stack._away.append(entry)
        if (turn := state["speaker"]) is not None:
            stack._speaker = _Turn(
                turn["channel"],
                turn["caller_id"],
                None if turn["lane"] is None else Lane(turn["lane"]),
                float(turn["started_at"]),
                bool(turn["warned"]),
            )
        return stack

    # -- inside -------------------------------------------------------------------------------

    def _done(self, effects: list[Effect]) -> list[Effect]:
        if self._dirty:
            effects.append(StackChanged(self.room))
            self._dirty = False
        return effects

    def _expire(self, at: float) -> None:
        grace = self.rules.rejoin_grace
        kept = [e for e in self._away if e.away_since is not None and at < e.away_since + grace]
        if len(kept) < len(self._away):
            self._away = kept
            self._dirty = True

    def _join(self, member: Member) -> None:
        if member.channel in self._members:
            return
        self._members[member.channel] = member
        person = person_of(member.channel, member.caller_id)
        self._person_of[member.channel] = person
        self._dirty = True
        theirs = sorted((e for e in self._away if e.person == person), key=self._key)
        if theirs:  # back within the grace: their place, on the new channel
            entry = theirs[0]
            self._away.remove(entry)
            entry.channel, entry.caller_id = member.channel, member.caller_id
            entry.away_since = None
            self._entries[member.channel] = entry

    def _leave(self, channel: str, at: float) -> list[Effect]:
        if self._members.pop(channel, None) is None:
            return []
        self._dirty = True
        entry = self._entries.pop(channel, None)
        if entry is not None:
            identified = not entry.person.startswith("channel:")
            if identified and self.rules.rejoin_grace > 0:
                entry.away_since = at
                self._away.append(entry)
        if not self._speaking(channel):
            return []
        return self._end_turn(at, TurnEnd.LEFT) + self._advance(at)

    def _press(self, channel: str, key: Key, at: float) -> list[Effect]:
        member = self._members.get(channel)
        if member is None or not self.rules.keypad:
            return [self._tell(channel, Heard.KEY_NOT_AVAILABLE)]
        if self._speaking(channel):
            if key is not Key.HAND:
                return [self._tell(channel, Heard.HAVE_FLOOR)]
            effects = self._end_turn(at, TurnEnd.DONE)
            effects.append(self._tell(channel, Heard.TURN_DONE))
            return effects + self._advance(at)
        if key is Key.PLACE:
            place = self._place(channel)
            if place is None:
                return [self._tell(channel, Heard.NOT_QUEUED)]
            return [self._tell(channel, Heard.PLACE, place)]
        if member.role is Role.MODERATOR:
            return [self._tell(channel, Heard.KEY_NOT_AVAILABLE)]
        lane = _KEY_LANE[key]
        entry = self._entries.get(channel)
        if entry is not None and (key is Key.HAND or entry.lane is lane):
            del self._entries[channel]
            self._dirty = True
            return [self._tell(channel, Heard.HAND_LOWERED)]
        if entry is None:
            self._enqueue(member, lane, at)
        else:
            self._change_lane(entry, lane, at)
        return [self._tell(channel, _QUEUED_IN[lane], self._place(channel))]

    def _tell(self, channel: str, heard: Heard, place: int | None = None) -> Tell:
        return Tell(self.room, channel, heard, place)

    def _enqueue(self, member: Member, lane: Lane, at: float) -> None:
        self._seq += 1
        person = self._person_of[member.channel]
        self._entries[member.channel] = _Entry(
            member.channel, member.caller_id, person, lane, at, self._seq
        )
        self._dirty = True

    def _change_lane(self, entry: _Entry, lane: Lane, at: float) -> None:
        self._seq += 1
        entry.lane, entry.raised_at, entry.seq, entry.placed = lane, at, self._seq, None
        self._dirty = True

    def _give_floor(self, member: Member, at: float) -> list[Effect]:
        effects: list[Effect] = []
        if self._speaker is not None:
            effects += self._end_turn(at, TurnEnd.REPLACED)
        entry = self._entries.pop(member.channel, None)
        lane = None if entry is None else entry.lane
        self._speaker = _Turn(member.channel, member.caller_id, lane, at)
        person = self._person_of[member.channel]
        self._records.setdefault(person, _Record()).floor_turns += 1
        self._dirty = True
        effects.append(Unmute(self.room, member.channel))
        effects.append(TurnStarted(self.room, member.channel, member.caller_id, lane, at))
        return effects

    def _end_turn(self, at: float, why: TurnEnd) -> list[Effect]:
        turn = self._speaker
        if turn is None:
            return []
        self._speaker = None
        self._dirty = True
        effects: list[Effect] = []
        member = self._members.get(turn.channel)
        if member is not None and member.role is not Role.MODERATOR:
            effects.append(Mute(self.room, turn.channel))
        effects.append(
            TurnEnded(self.room, turn.channel, turn.caller_id, turn.lane, turn.started_at, at, why)
        )
        return effects

    def _advance(self, at: float) -> list[Effect]:
        if not self.rules.auto_advance or self._speaker is not None:
            return []
        order = self._order()
        return self._give_floor(self._members[order[0].channel], at) if order else []

    def _member(self, channel: str) -> Member:
        member = self._members.get(channel)
        if member is None:
            raise NotInRoom(channel)
        return member

    def _queued(self, channel: str) -> _Entry:
        entry = self._entries.get(channel)
        if entry is None:
            raise NotQueued(channel)
        return entry

    def _speaking(self, channel: str) -> bool:
        return self._speaker is not None and self._speaker.channel == channel

    def _order(self) -> list[_Entry]:
        return sorted(self._entries.values(), key=self._key)

    def _place(self, channel: str) -> int | None:
        for place, entry in enumerate(self._order(), start=1):
            if entry.channel == channel:
                return place
        return None

    def _key(self, entry: _Entry) -> SortKey:
        if entry.placed is not None:
            return entry.placed
        key: SortKey = (_LANE_RANK[entry.lane], 0.0 if entry.priority else 1.0)
        if entry.lane is Lane.STACK and self.policy is QueuePolicy.PROGRESSIVE:
            record = self._records.get(entry.person, _Record())
            key += (float(record.has_spoken), float(record.turns), record.talk_time)
        return (*key, entry.raised_at, float(entry.seq))

    def _reason(self, entry: _Entry, raised_rank: int) -> str:
        if entry.placed is not None:
            return "moved by a moderator"
        if entry.priority:
            return "priority"
        if entry.lane is Lane.PROCESS:
            return "point of process"
        if entry.lane is Lane.DIRECT:
            return "direct response"
        if self.policy is QueuePolicy.FIFO:
            return "raised first" if raised_rank == 1 else f"raised {_ordinal(raised_rank)}"
        record = self._records.get(entry.person, _Record())
        if not record.has_spoken:
            return "has not spoken yet"
        turns = f"{record.turns} turn" if record.turns == 1 else f"{record.turns} turns"
        return f"{turns}, {_duration(record.talk_time)}"


def _raised(entry: _Entry) -> tuple[float, int]:
    return entry.raised_at, entry.seq


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60} s"
