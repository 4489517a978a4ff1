"""``SpeakerStack``: the stack and the floor of one room's call. The lanes keep who waits;
this keeps who is in the room, what each said, who has the floor and for how long, and turns
every change into effects (see the package's docstring)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from bridge.domain.events import Role
from bridge.domain.rooms import QueuePolicy, RoomSpec
from bridge.domain.speakers import errors, state
from bridge.domain.speakers.effects import (
    Effect,
    Mute,
    StackChanged,
    Tell,
    TurnEnded,
    TurnStarted,
    Unmute,
    Warn,
    YouAreNext,
)
from bridge.domain.speakers.lanes import Lanes
from bridge.domain.speakers.model import (
    DEFAULT_REJOIN_GRACE,
    KEY_LANE,
    QUEUED_IN,
    WARNING_LEAD,
    Heard,
    Key,
    Lane,
    Member,
    Record,
    StackRules,
    Turn,
    TurnEnd,
    person_of,
)
from bridge.domain.speakers.views import SpeakerView, StackView


class SpeakerStack:
    """The stack and the floor of one room's call."""

    def __init__(
        self,
        room: str,
        policy: QueuePolicy = QueuePolicy.FIFO,
        rules: StackRules | None = None,
    ) -> None:
        self.room = room
        self.rules = rules or StackRules()
        self._members: dict[str, Member] = {}
        self._person_of: dict[str, str] = {}  # each member's channel: their person
        self._records: dict[str, Record] = {}  # person: what they said
        self._lanes = Lanes(policy, self._records)
        self._speaker: Turn | None = None
        self._told_next: str | None = None  # the person first at the last call, told so
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

    @property
    def policy(self) -> QueuePolicy:
        return self._lanes.policy

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
            record = self._records.setdefault(person, Record())
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
        order = self._lanes.order()
        if not order:
            raise errors.StackEmpty()
        return self._done(self._give_floor(self._members[order[0].channel], at))

    def call(self, channel: str, at: float) -> list[Effect]:
        """Anyone in the room gets the floor, queued or not."""
        self._expire(at)
        member = self._member(channel)
        if self._speaking(channel):
            raise errors.AlreadySpeaking(channel)
        return self._done(self._give_floor(member, at))

    def end_turn(self, at: float, why: TurnEnd = TurnEnd.MODERATOR) -> list[Effect]:
        """A moderator ends the turn, or (``MUTED``) Asterisk muted the speaker at ``at``."""
        self._expire(at)
        if self._speaker is None:
            raise errors.NoSpeaker()
        unmuted_at = self._speaker.unmuted_at
        if why is TurnEnd.MUTED and (unmuted_at is None or at < unmuted_at):
            return self._done([])  # a Mute carried out before the floor's Unmute, seen late
        return self._done(self._end_turn(at, why))

    def unmuting(self, unmute: Unmute, at: float) -> None:
        """A turn's Unmute goes out now (every Mute before it is done); a later turn's waits."""
        if (turn := self._speaker) is not None and (turn.channel, turn.started_at) == (
            unmute.channel, unmute.turn,
        ):  # fmt: skip
            turn.unmuted_at = turn.unmuted_at or at

    def move(self, channel: str, place: int, at: float) -> list[Effect]:
        """To ``place`` in the serving order, which must be within the entry's lane."""
        self._expire(at)
        self._dirty |= self._lanes.move(channel, place)
        return self._done([])

    def remove(self, channel: str, at: float) -> list[Effect]:
        self._expire(at)
        self._lanes.queued(channel)
        self._lanes.take(channel)
        self._dirty = True
        return self._done([])

    def add(self, channel: str, lane: Lane, at: float) -> list[Effect]:
        """Queue someone from the roster; someone queued in another lane moves to this one."""
        self._expire(at)
        member = self._member(channel)
        if self._speaking(channel):
            raise errors.AlreadySpeaking(channel)
        entry = self._lanes.entries.get(channel)
        if entry is None:
            self._lanes.enqueue(member, self._person_of[channel], lane, at)
        elif entry.lane is lane:
            raise errors.AlreadyQueued(channel, lane, self._lanes.place(channel) or 0)
        else:
            self._lanes.change_lane(entry, lane, at)
        self._dirty = True
        return self._done([])

    def clear(self, lane: Lane | None, at: float) -> list[Effect]:
        """Empty one lane, or every lane; those away within their grace go too."""
        self._expire(at)
        self._dirty |= self._lanes.clear(lane)
        return self._done([])

    def set_priority(self, channel: str, on: bool, at: float) -> list[Effect]:
        self._expire(at)
        self._dirty |= self._lanes.set_priority(channel, on)
        return self._done([])

    def set_policy(self, policy: QueuePolicy, at: float) -> list[Effect]:
        """The whole order is recomputed under the new policy; moderators' moves are undone."""
        self._expire(at)
        self._dirty |= self._lanes.set_policy(policy)
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
        expiry = self._lanes.next_expiry(self.rules.rejoin_grace)
        due = [] if expiry is None else [expiry]
        turn, limit = self._speaker, self.rules.speaking_time_limit
        if turn is not None and limit > 0:
            due.append(turn.started_at + limit)
            if not turn.warned and limit > WARNING_LEAD:
                due.append(turn.started_at + limit - WARNING_LEAD)
        return min(due, default=None)

    # -- views --------------------------------------------------------------------------------

    def show(self, at: float) -> StackView:
        speaker, limit = None, self.rules.speaking_time_limit
        if (turn := self._speaker) is not None:
            left = math.ceil(max(0.0, turn.started_at + limit - at)) if limit > 0 else None
            speaker = SpeakerView(turn.channel, turn.caller_id, turn.lane, turn.started_at, left)
        rules, places = self.rules, self._lanes.places()
        return StackView(self.room, self.policy, speaker, places, limit, rules.auto_advance)

    def place_of(self, channel: str) -> int | None:
        """1-based place in the serving order; None: not queued."""
        return self._lanes.place(channel)

    @property
    def speaker(self) -> str | None:
        return None if self._speaker is None else self._speaker.channel

    # -- persistence --------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """JSON-ready plain data (the records of those in play: ``state``), for ``from_state``."""
        lanes, entries = self._lanes, self._lanes.saved()
        records = state.in_play(self._records, self._person_of.values(), entries)
        return state.dump(state.Saved(
            self.room, self.policy, self.rules, lanes.seq, lanes.moves, self._members,
            self._person_of, records, entries, self._speaker, self._told_next,
        ))  # fmt: skip

    @classmethod
    def from_state(
        cls, saved: dict[str, Any], earlier: Mapping[str, Record] | None = None
    ) -> SpeakerStack:
        """``to_state``'s data and what those gone said (``earlier``); else ``BadState``."""
        read = state.load(saved)
        stack = cls(read.room, read.policy, read.rules)
        stack._members.update(read.members)
        stack._person_of.update((c, p) for c, p in read.people.items() if c in read.members)
        stack._records.update(earlier or {})
        stack._records.update(read.records)  # the lanes hold this very dict
        stack._lanes.restore(read.entries, read.seq, read.moves)
        stack._speaker, stack._told_next = read.speaker, read.told_next
        return stack

    # -- inside -------------------------------------------------------------------------------

    def _done(self, effects: list[Effect]) -> list[Effect]:
        if self._dirty:
            effects.append(StackChanged(self.room))
            self._dirty = False
        return effects

    def _expire(self, at: float) -> None:
        self._dirty |= self._lanes.expire(at, self.rules.rejoin_grace)

    def _join(self, member: Member) -> None:
        if member.channel in self._members:
            return
        self._members[member.channel] = member
        person = person_of(member.channel, member.caller_id)
        self._person_of[member.channel] = person
        self._dirty = True
        self._lanes.come_back(member, person)  # within the grace: their place back

    def _leave(self, channel: str, at: float) -> list[Effect]:
        if self._members.pop(channel, None) is None:
            return []
        self._dirty = True
        self._forget(channel)
        self._lanes.step_away(channel, at, self.rules.rejoin_grace)
        if not self._speaking(channel):
            return []
        return self._end_turn(at, TurnEnd.LEFT) + self._advance(at)

    def _forget(self, channel: str) -> None:
        """A leg gone: its person's record goes, unless they said something or are still here."""
        person = self._person_of.pop(channel, "")
        record = self._records.get(person)
        if record is not None and not record.has_spoken and person not in self._person_of.values():
            del self._records[person]

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
            place = self._lanes.place(channel)
            return [self._tell(channel, Heard.PLACE if place else Heard.NOT_QUEUED, place)]
        if member.role is Role.MODERATOR:
            return [self._tell(channel, Heard.KEY_NOT_AVAILABLE)]
        lane = KEY_LANE[key]
        self._dirty = True
        entry = self._lanes.entries.get(channel)
        if entry is not None and (key is Key.HAND or entry.lane is lane):
            self._lanes.take(channel)
            return [self._tell(channel, Heard.HAND_LOWERED)]
        if entry is None:
            self._lanes.enqueue(member, self._person_of[channel], lane, at)
        else:
            self._lanes.change_lane(entry, lane, at)
        return [self._tell(channel, QUEUED_IN[lane], self._lanes.place(channel))]

    def _tell(self, channel: str, heard: Heard, place: int | None = None) -> Tell:
        return Tell(self.room, channel, heard, place)

    def _give_floor(self, member: Member, at: float) -> list[Effect]:
        effects: list[Effect] = []
        if self._speaker is not None:
            effects += self._end_turn(at, TurnEnd.REPLACED)
        entry = self._lanes.take(member.channel)
        lane = None if entry is None else entry.lane
        self._speaker = Turn(member.channel, member.caller_id, lane, at)
        person = self._person_of[member.channel]
        self._records.setdefault(person, Record()).floor_turns += 1
        self._dirty = True
        effects.append(Unmute(self.room, member.channel, at))
        effects.append(TurnStarted(self.room, member.channel, member.caller_id, lane, at))
        return effects + self._head_hears_next()

    def _head_hears_next(self) -> list[Effect]:
        """The floor was given: whoever is first now hears "you are next", once per head."""
        order = self._lanes.order()
        if not order:
            self._told_next = None
            return []
        head = order[0]
        if head.person == self._told_next:
            return []
        self._told_next = head.person
        return [YouAreNext(self.room, head.channel)]

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
        order = self._lanes.order()
        return self._give_floor(self._members[order[0].channel], at) if order else []

    def _member(self, channel: str) -> Member:
        member = self._members.get(channel)
        if member is None:
            raise errors.NotInRoom(channel)
        return member

    def _speaking(self, channel: str) -> bool:
        return self._speaker is not None and self._speaker.channel == channel
