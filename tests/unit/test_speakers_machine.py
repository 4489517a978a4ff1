"""The speaker stack under any sequence of keys, comings and goings and moderator commands:
a hypothesis state machine against a model of who is queued where, who has the floor and
who has said what, auditing every effect and the saved state after every step."""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bridge.domain.entry import WITHHELD_CALLER_IDS
from bridge.domain.events import Role
from bridge.domain.rooms import QueuePolicy
from bridge.domain.speakers import (
    AlreadyQueued,
    AlreadySpeaking,
    Effect,
    Heard,
    Key,
    Lane,
    Member,
    Mute,
    NoSpeaker,
    NotInRoom,
    NotQueued,
    PlaceOutOfLane,
    SpeakerStack,
    StackChanged,
    StackEmpty,
    StackRules,
    Tell,
    TurnEnd,
    TurnEnded,
    TurnStarted,
    Unmute,
    Warn,
    YouAreNext,
    records_from_history,
)

T = 1_764_100_000.0
GA = "ga"


def told(effects: list[Effect]) -> tuple[Heard, int | None]:
    tells = [e for e in effects if isinstance(e, Tell)]
    assert len(tells) == 1, effects
    return tells[0].heard, tells[0].place


# ---- any sequence of keys, comings and goings and commands keeps the stack consistent ---------

CALLER_IDS = (*(f"55500{n:02d}" for n in range(1, 9)), "anonymous", "", "unknown")
STRANGER = "PJSIP/stranger-00000000"  # never in the room
WITHHELD = "anonymous"
LANE_RANK = {Lane.PROCESS: 0, Lane.DIRECT: 1, Lane.STACK: 2}
KEY_LANE = {Key.HAND: Lane.STACK, Key.DIRECT: Lane.DIRECT, Key.PROCESS: Lane.PROCESS}
QUEUED_IN = {
    Lane.STACK: Heard.HAND_RAISED,
    Lane.DIRECT: Heard.DIRECT_RESPONSE,
    Lane.PROCESS: Heard.POINT_OF_PROCESS,
}

steps = st.sampled_from((0.0, 0.5, 1.0, 5.0, 14.0, 30.0, 90.0))
lanes = st.sampled_from(tuple(Lane))
asking_keys = st.sampled_from((Key.HAND, Key.HAND, Key.HAND, Key.DIRECT, Key.PROCESS))


def identified(caller_id: str) -> bool:
    return caller_id.strip().lower() not in WITHHELD_CALLER_IDS


@dataclass
class Expected:
    """What the model expects of one entry."""

    lane: Lane
    raised_at: float
    priority: bool = False
    moved: bool = False  # by a moderator: out of the policy's order until reset


class SpeakerStackMachine(RuleBasedStateMachine):
    """Drives the stack as callers, Asterisk and moderators would, against a model of who is
    queued where, who has the floor and who has said what; audits every effect."""

    @initialize(
        policy=st.sampled_from(tuple(QueuePolicy)),
        limit=st.sampled_from((0.0, 10.0, 40.0)),
        auto_advance=st.booleans(),
        grace=st.sampled_from((0.0, 20.0, 120.0)),
        caller_ids=st.lists(st.sampled_from(CALLER_IDS), min_size=2, max_size=8),
        first_keys=st.lists(asking_keys, max_size=8),
    )
    def start(
        self,
        policy: QueuePolicy,
        limit: float,
        auto_advance: bool,
        grace: float,
        caller_ids: list[str],
        first_keys: list[Key],
    ) -> None:
        self.room_rules = StackRules(limit, auto_advance, grace)
        self.policy = policy
        self.stack = SpeakerStack(GA, policy, self.room_rules)
        self.now = T
        self.serial = 0
        self.members: dict[str, Member] = {}
        self.person: dict[str, str] = {}  # every channel seen: who it is
        self.queued: dict[str, Expected] = {}  # visible entries, by channel
        self.away: dict[str, tuple[Expected, float]] = {}  # person: their entry, left at
        self.speaker: str | None = None
        self.turn_started = 0.0
        self.warned = False
        self.unmuted: str | None = None
        self.told_next: str | None = None  # the person first at the last call (told so)
        self.floor_turns: dict[str, int] = {}  # person: turns given
        self.legs: dict[str, dict[str, tuple[int, float]]] = {}  # person: channel: facts
        for caller_id in caller_ids:  # a call under way: some callers are in, some queued
            self.join(caller_id, moderator=1, step=0.0)
        for key, channel in zip(first_keys, sorted(self.members), strict=False):
            self.ask(channel, key)

    # -- the model's helpers --

    def advance(self, step: float) -> float:
        self.now += step
        for person, (_, left_at) in list(self.away.items()):
            if self.now >= left_at + self.room_rules.rejoin_grace:
                del self.away[person]
        return self.now

    def head(self) -> str | None:
        view = self.stack.show(self.now)
        return view.queue[0].channel if view.queue else None

    def pick(self, data: st.DataObject, pool: list[str]) -> str:
        """Mostly someone from ``pool``; now and then anyone at all, even a stranger."""
        if pool and data.draw(st.integers(0, 5)) > 0:
            return data.draw(st.sampled_from(sorted(pool)))
        return data.draw(st.sampled_from([STRANGER, *sorted(self.members)]))

    def audit(self, effects: list[Effect]) -> list[str]:
        """Checks every effect against the floor as the model has it; returns who was called."""
        changed = [e for e in effects if isinstance(e, StackChanged)]
        assert len(changed) <= 1 and (not changed or effects[-1] == changed[0]), effects
        started: list[str] = []
        nexts: list[str] = []
        for effect in effects:
            match effect:
                case Mute(channel=channel):
                    assert channel == self.speaker, "only the speaker whose turn ends is muted"
                    member = self.members.get(channel)
                    assert member is not None and member.role is Role.PARTICIPANT
                case TurnEnded():
                    assert effect.channel == self.speaker
                    assert (effect.started_at, effect.ended_at) == (self.turn_started, self.now)
                    self.speaker = None
                case Unmute(channel=channel):
                    assert self.speaker is None, "the floor is handed over, never shared"
                    self.unmuted = channel
                case TurnStarted():
                    assert effect.channel == self.unmuted and effect.at == self.now
                    assert effect.channel in self.members
                    entry = self.queued.pop(effect.channel, None)
                    assert effect.lane == (None if entry is None else entry.lane)
                    person = self.person[effect.channel]
                    self.floor_turns[person] = self.floor_turns.get(person, 0) + 1
                    self.speaker, self.turn_started, self.warned = effect.channel, self.now, False
                    started.append(effect.channel)
                case Warn():
                    assert effect.channel == self.speaker
                case YouAreNext():
                    assert started, "'you are next' only when someone is given the floor"
                    nexts.append(effect.channel)
        if started:  # whoever is first now hears it, unless they were first at the last call
            head = self.head()
            person = None if head is None else self.person[head]
            assert nexts == ([head] if head and person != self.told_next else []), effects
            self.told_next = person
        return started

    def expect_advance(self, started: list[str], head: str | None) -> None:
        assert started == ([head] if self.room_rules.auto_advance and head else [])

    def ended(self, effects: list[Effect], why: TurnEnd) -> bool:
        return [e.why for e in effects if isinstance(e, TurnEnded)] == [why]

    # -- callers coming and going --

    @rule(caller_id=st.sampled_from(CALLER_IDS), moderator=st.integers(0, 4), step=steps)
    def join(self, caller_id: str, moderator: int, step: float) -> None:
        if identified(caller_id) and caller_id in {m.caller_id for m in self.members.values()}:
            return  # one phone per person; a withheld ID can be anyone
        self.serial += 1
        self.join_on(f"PJSIP/caller-{self.serial:08x}", caller_id, moderator, step)

    @precondition(lambda self: bool(set(self.person) - set(self.members)))
    @rule(data=st.data(), caller_id=st.sampled_from(CALLER_IDS), step=steps)
    def join_on_a_reused_channel_name(
        self, data: st.DataObject, caller_id: str, step: float
    ) -> None:
        """After an Asterisk restart, channel names count from the start again."""
        if identified(caller_id) and caller_id in {m.caller_id for m in self.members.values()}:
            return
        channel = data.draw(st.sampled_from(sorted(set(self.person) - set(self.members))))
        self.join_on(channel, caller_id, 1, step)

    def join_on(self, channel: str, caller_id: str, moderator: int, step: float) -> None:
        at = self.advance(step)
        role = Role.MODERATOR if moderator == 0 else Role.PARTICIPANT
        assert self.stack.join(channel, caller_id, role, at) == [StackChanged(GA)]
        self.members[channel] = Member(channel, caller_id, role)
        person = caller_id.strip() if identified(caller_id) else f"channel:{channel}"
        self.person[channel] = person
        kept = self.away.pop(person, None)
        if kept is not None:
            self.queued[channel] = kept[0]

    @precondition(lambda self: self.members)
    @rule(data=st.data(), step=steps)
    def leave(self, data: st.DataObject, step: float) -> None:
        channel = data.draw(st.sampled_from(sorted(self.members)))
        at = self.advance(step)
        head, was_speaking = self.head(), self.speaker == channel
        effects = self.stack.leave(channel, at)
        assert Mute(GA, channel) not in effects, "a channel that is gone is not muted"
        started = self.audit(effects)
        del self.members[channel]
        if was_speaking:
            assert self.ended(effects, TurnEnd.LEFT)
            self.expect_advance(started, head)
        else:
            assert started == []
        entry = self.queued.pop(channel, None)
        person = self.person[channel]
        if entry is not None and not person.startswith("channel:") and self.room_rules.rejoin_grace:
            self.away[person] = (entry, at)

    @rule(data=st.data(), more_turns=st.integers(0, 2), more_talk=st.sampled_from((0, 0.5, 10)))
    def roster_counts_speech(self, data: st.DataObject, more_turns: int, more_talk: float) -> None:
        if not self.person:
            return
        channel = data.draw(st.sampled_from(sorted(self.person)))
        if channel not in self.members:  # the roster never reports a leg gone: nothing changes
            self.audit(self.stack.note_speech(channel, more_turns, more_talk, self.now))
            return
        legs = self.legs.setdefault(self.person[channel], {})
        turns, talk = legs.get(channel, (0, 0.0))
        legs[channel] = (turns + more_turns, talk + more_talk)
        self.audit(self.stack.note_speech(channel, *legs[channel], self.now))

    # -- keys --

    @rule(data=st.data(), key=st.sampled_from(tuple(Key)), step=steps)
    def press(self, data: st.DataObject, key: Key, step: float) -> None:
        channel = self.pick(data, list(self.members))
        at = self.advance(step)
        head, speaker = self.head(), self.speaker
        effects = self.stack.press(channel, key, at)
        started = self.audit(effects)
        heard, place = told(effects)
        member = self.members.get(channel)
        if member is None:
            assert heard is Heard.KEY_NOT_AVAILABLE
        elif speaker == channel:
            if key is Key.HAND:
                assert heard is Heard.TURN_DONE and self.ended(effects, TurnEnd.DONE)
                self.expect_advance(started, head)
            else:
                assert heard is Heard.HAVE_FLOOR
        elif key is Key.PLACE:
            expected = Heard.PLACE if channel in self.queued else Heard.NOT_QUEUED
            assert (heard, place) == (expected, self.stack.place_of(channel))
        elif member.role is Role.MODERATOR:
            assert heard is Heard.KEY_NOT_AVAILABLE
        else:
            lane, entry = KEY_LANE[key], self.queued.get(channel)
            if entry is not None and (key is Key.HAND or entry.lane is lane):
                assert heard is Heard.HAND_LOWERED
                del self.queued[channel]
            else:
                assert (heard, place) == (QUEUED_IN[lane], self.stack.place_of(channel))
                if entry is None:
                    self.queued[channel] = Expected(lane, at)
                else:
                    entry.lane, entry.raised_at, entry.moved = lane, at, False
        if not (speaker == channel and key is Key.HAND):
            assert started == []

    @precondition(lambda self: self.waiting_to_ask())
    @rule(data=st.data(), key=asking_keys)
    def ask_to_speak(self, data: st.DataObject, key: Key) -> None:
        """Most presses come from someone not queued yet: this is how the stack grows."""
        self.ask(data.draw(st.sampled_from(self.waiting_to_ask())), key)

    @precondition(lambda self: self.waiting_to_ask())
    @rule(data=st.data())
    def raise_a_hand(self, data: st.DataObject) -> None:
        self.ask(data.draw(st.sampled_from(self.waiting_to_ask())), Key.HAND)

    def ask(self, channel: str, key: Key) -> None:
        at = self.advance(1.0)
        effects = self.stack.press(channel, key, at)
        assert self.audit(effects) == [], "asking to speak calls nobody"
        assert told(effects) == (QUEUED_IN[KEY_LANE[key]], self.stack.place_of(channel))
        self.queued[channel] = Expected(KEY_LANE[key], at)

    def waiting_to_ask(self) -> list[str]:
        return sorted(
            c
            for c, m in self.members.items()
            if m.role is Role.PARTICIPANT and c not in self.queued and c != self.speaker
        )

    # -- the floor --

    @rule(step=steps)
    def call_next(self, step: float) -> None:
        at = self.advance(step)
        head, speaker = self.head(), self.speaker
        if head is None:
            with pytest.raises(StackEmpty):
                self.stack.call_next(at)
            return
        effects = self.stack.call_next(at)
        assert self.audit(effects) == [head]
        assert self.ended(effects, TurnEnd.REPLACED) == (speaker is not None)

    @rule(data=st.data(), step=steps)
    def call(self, data: st.DataObject, step: float) -> None:
        channel = self.pick(data, list(self.members))
        at = self.advance(step)
        if channel not in self.members:
            with pytest.raises(NotInRoom):
                self.stack.call(channel, at)
        elif channel == self.speaker:
            with pytest.raises(AlreadySpeaking):
                self.stack.call(channel, at)
        else:
            assert self.audit(self.stack.call(channel, at)) == [channel]

    @rule(step=steps)
    def end_turn(self, step: float) -> None:
        at = self.advance(step)
        if self.speaker is None:
            with pytest.raises(NoSpeaker):
                self.stack.end_turn(at)
            return
        effects = self.stack.end_turn(at)
        assert self.audit(effects) == [], "a moderator's end of turn calls nobody"
        assert self.ended(effects, TurnEnd.MODERATOR)

    @rule(step=steps)
    def tick(self, step: float) -> None:
        self.tick_at(self.advance(step))

    @precondition(lambda self: self.stack.next_deadline() is not None)
    @rule()
    def wake_at_the_deadline(self) -> None:
        """As the service does: sleep until the deadline, then tick."""
        deadline = self.stack.next_deadline()
        assert deadline is not None
        self.now = max(self.now, deadline)
        self.tick_at(self.advance(0.0))

    def tick_at(self, at: float) -> None:
        head, limit = self.head(), self.room_rules.speaking_time_limit
        speaker, started_at, warned = self.speaker, self.turn_started, self.warned
        effects = self.stack.tick(at)
        started = self.audit(effects)
        warnings = [e for e in effects if isinstance(e, Warn)]
        if speaker is not None and limit and at >= started_at + limit:
            assert self.ended(effects, TurnEnd.TIME_LIMIT) and not warnings
            self.expect_advance(started, head)
        elif speaker is not None and limit > 15 and not warned and at >= started_at + limit - 15:
            assert len(warnings) == 1 and 0 < warnings[0].seconds_left <= 15
            self.warned = True
        else:
            assert [e for e in effects if not isinstance(e, StackChanged)] == []
        deadline = self.stack.next_deadline()
        assert deadline is None or deadline > at, "after a tick, nothing is left overdue"

    # -- moderators --

    @rule(step=steps)
    def switch_policy(self, step: float) -> None:
        policy = next(p for p in QueuePolicy if p is not self.policy)
        assert StackChanged(GA) in self.stack.set_policy(policy, self.advance(step))
        for entry in [*self.queued.values(), *(entry for entry, _ in self.away.values())]:
            entry.moved = False
        self.policy = policy

    @precondition(lambda self: self.queued)
    @rule(data=st.data(), step=steps)
    def move(self, data: st.DataObject, step: float) -> None:
        channel = data.draw(st.sampled_from(sorted(self.queued)))
        place = data.draw(st.integers(1, len(self.queued)))
        at = self.advance(step)
        view = self.stack.show(at).queue
        lane = self.queued[channel].lane
        in_lane = [p.place for p in view if p.lane is lane]
        if place not in in_lane:
            with pytest.raises(PlaceOutOfLane):
                self.stack.move(channel, place, at)
            return
        was_at = self.stack.place_of(channel)
        self.audit(self.stack.move(channel, place, at))
        assert self.stack.place_of(channel) == place
        if place != was_at:
            self.queued[channel].moved = True

    @rule(data=st.data(), step=steps)
    def remove(self, data: st.DataObject, step: float) -> None:
        channel = self.pick(data, list(self.queued))
        at = self.advance(step)
        if channel not in self.queued:
            with pytest.raises(NotQueued):
                self.stack.remove(channel, at)
            return
        self.audit(self.stack.remove(channel, at))
        del self.queued[channel]

    @rule(data=st.data(), lane=lanes, step=steps)
    def add(self, data: st.DataObject, lane: Lane, step: float) -> None:
        channel = self.pick(data, list(self.members))
        at = self.advance(step)
        entry = self.queued.get(channel)
        if channel not in self.members:
            with pytest.raises(NotInRoom):
                self.stack.add(channel, lane, at)
        elif channel == self.speaker:
            with pytest.raises(AlreadySpeaking):
                self.stack.add(channel, lane, at)
        elif entry is not None and entry.lane is lane:
            with pytest.raises(AlreadyQueued):
                self.stack.add(channel, lane, at)
        else:
            self.audit(self.stack.add(channel, lane, at))
            if entry is None:
                self.queued[channel] = Expected(lane, at)
            else:
                entry.lane, entry.raised_at, entry.moved = lane, at, False

    @rule(lane=st.none() | lanes, step=steps)
    def clear(self, lane: Lane | None, step: float) -> None:
        self.audit(self.stack.clear(lane, self.advance(step)))
        self.queued = {c: e for c, e in self.queued.items() if lane not in (None, e.lane)}
        self.away = {p: a for p, a in self.away.items() if lane not in (None, a[0].lane)}

    @rule(data=st.data(), on=st.booleans(), step=steps)
    def set_priority(self, data: st.DataObject, on: bool, step: float) -> None:
        channel = self.pick(data, list(self.queued))
        at = self.advance(step)
        entry = self.queued.get(channel)
        if entry is None:
            with pytest.raises(NotQueued):
                self.stack.set_priority(channel, on, at)
            return
        self.audit(self.stack.set_priority(channel, on, at))
        if entry.priority != on:
            entry.priority, entry.moved = on, False

    @rule()
    def restart_the_service(self) -> None:
        """The saved state back, and what those gone said from the call's history."""
        saved = json.loads(json.dumps(self.stack.to_state()))

        def leg(person: str, channel: str = "") -> tuple[str, str]:  # (channel, caller ID)
            if person.startswith("channel:"):
                return person.removeprefix("channel:"), WITHHELD
            return channel, person

        legs = [(*leg(p, ch), *said) for p, of in self.legs.items() for ch, said in of.items()]
        turns = [leg(p) for p, n in self.floor_turns.items() for _ in range(n)]
        self.stack = SpeakerStack.from_state(saved, records_from_history(legs, turns))

    # -- what must hold after every step --

    @invariant()
    def the_queue_is_who_the_model_expects_each_once_and_never_the_speaker(self) -> None:
        view = self.stack.show(self.now)
        channels = [p.channel for p in view.queue]
        assert len(channels) == len(set(channels)), "someone is queued twice"
        assert {p.channel: (p.lane, p.priority) for p in view.queue} == {
            c: (e.lane, e.priority) for c, e in self.queued.items()
        }
        assert set(channels) <= set(self.members), "someone gone is still queued"
        assert [p.place for p in view.queue] == list(range(1, len(channels) + 1))
        assert self.stack.speaker == self.speaker
        assert self.speaker not in channels, "the speaker is never queued"
        people = [self.person[c] for c in channels if not self.person[c].startswith("channel:")]
        assert len(people) == len(set(people)), "one person, one place"

    @invariant()
    def lanes_keep_their_order(self) -> None:
        ranks = [LANE_RANK[p.lane] for p in self.stack.show(self.now).queue]
        assert ranks == sorted(ranks)

    @invariant()
    def the_policy_orders_everyone_a_moderator_did_not_move(self) -> None:
        unmoved = [p for p in self.stack.show(self.now).queue if not self.queued[p.channel].moved]
        for first, then in pairwise(unmoved):
            if first.lane is then.lane:
                assert self.policy_key(first.channel) <= self.policy_key(then.channel)

    def policy_key(self, channel: str) -> tuple[float, ...]:
        entry, person = self.queued[channel], self.person[channel]
        key: tuple[float, ...] = (0.0 if entry.priority else 1.0,)
        if entry.lane is Lane.STACK and self.policy is QueuePolicy.PROGRESSIVE:
            legs = self.legs.get(person, {}).values()
            turns = max(self.floor_turns.get(person, 0), sum(t for t, _ in legs))
            talk = sum(talk for _, talk in legs)
            key += (float(turns > 0 or talk > 0), float(turns), talk)
        return (*key, entry.raised_at)

    @invariant()
    def only_those_within_their_grace_are_kept_for_a_rejoin(self) -> None:
        kept = {
            e["person"]: e["away_since"]
            for e in self.stack.to_state()["entries"]
            if e["away_since"] is not None
        }
        assert {p: left_at for p, (_, left_at) in self.away.items()} == kept

    @invariant()
    def the_saved_state_brings_back_the_same_stack(self) -> None:
        saved = json.loads(json.dumps(self.stack.to_state()))
        back = SpeakerStack.from_state(saved)
        assert json.loads(json.dumps(back.to_state())) == saved
        assert back.show(self.now) == self.stack.show(self.now)
        assert back.next_deadline() == self.stack.next_deadline()


SpeakerStackMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_any_sequence_of_keys_and_commands_keeps_the_stack_consistent = SpeakerStackMachine.TestCase
