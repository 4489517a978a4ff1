"""Breakouts under any sequence of starts, comings and goings, moves, ``*0``, extensions,
clock ticks and ends: a hypothesis state machine that follows every ``Move`` and
``StintEnded`` the breakout returns and checks them against where everyone is."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bridge.domain.breakouts import (
    MAIN_ROOM,
    Breakout,
    BreakoutError,
    Effect,
    Latecomers,
    Member,
    Move,
    NoSuchGroup,
    StintEnded,
    Warn,
    split,
)

T = 1_764_100_000.0
CALLER_IDS = ("5550001", "5550002", "5550003", "anonymous")


class BreakoutMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.present: dict[str, Member] = {}
        self.where: dict[str, str | None] = {}  # the model: channel -> group (None: main)
        self.entered: dict[str, float] = {}  # channel -> when it went into its group
        self.homes: dict[str, str] = {}  # caller ID -> group, for who dropped
        self.breakout: Breakout | None = None
        self.serial = 0
        self.now = T

    @property
    def running(self) -> bool:
        return self.breakout is not None and self.breakout.running

    def carry_out(self, effects: list[Effect]) -> None:
        for effect in effects:
            match effect:
                case StintEnded():
                    assert self.where.get(effect.channel) == effect.group
                    assert effect.started_at == self.entered.pop(effect.channel)
                    assert effect.ended_at >= effect.started_at
                    self.where[effect.channel] = None
                case Move():
                    assert effect.channel in self.present
                    assert self.where.get(effect.channel) is None  # out of its group first
                    self.where[effect.channel] = effect.group
                    if effect.group is not None:
                        self.entered[effect.channel] = self.now
                case Warn():
                    assert self.breakout is not None
                    assert effect.groups == tuple(self.breakout.groups)

    @rule(caller_id=st.sampled_from(CALLER_IDS), moderator=st.booleans())
    def join(self, caller_id: str, moderator: bool) -> None:
        self.serial += 1
        member = Member(f"PJSIP/a-{self.serial:08x}", caller_id, "", moderator)
        self.present[member.channel] = member
        self.where[member.channel] = None
        if not self.running:
            return
        assert self.breakout is not None
        home = self.homes.pop(caller_id, None) if not moderator else None
        counts = {g: 0 for g in self.breakout.groups}
        for g in self.where.values():
            if g is not None:
                counts[g] += 1
        smallest = min(counts, key=counts.__getitem__)  # the first on a tie
        effects = self.breakout.arrive(member, self.now)
        self.carry_out(effects)
        if moderator:
            assert effects == []
        elif home is not None:
            assert self.where[member.channel] == home
        else:
            assert self.where[member.channel] == smallest  # the setting is SMALLEST here

    @precondition(lambda self: self.present)
    @rule(data=st.data())
    def hang_up(self, data: st.DataObject) -> None:
        channel = data.draw(st.sampled_from(sorted(self.present)))
        member = self.present.pop(channel)
        group = self.where.pop(channel)
        effects = self.breakout.leave(channel, self.now) if self.breakout else []
        self.where[channel] = group
        self.carry_out(effects)
        del self.where[channel]
        assert len(effects) == (1 if group is not None else 0)
        known = member.caller_id != "anonymous" and not member.moderator
        if group is not None and self.running and known:
            self.homes[member.caller_id] = group

    @precondition(lambda self: not self.running)
    @rule(groups=st.integers(0, 6), data=st.data(), minutes=st.sampled_from((1, 2.5, 10)))
    def start(self, groups: int, data: st.DataObject, minutes: float) -> None:
        callers = [m for m in self.present.values() if not m.moderator]
        order = data.draw(st.permutations(sorted(self.present)))
        try:
            plan = split("ga", list(self.present.values()), groups=groups, order=order)
        except BreakoutError:
            assert not callers or not 1 <= groups <= len(callers)
            return
        sizes = [len(ms) for _, ms in plan.groups]
        assert len(sizes) == groups and max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
        self.breakout, effects = Breakout.start("ga", plan, self.now, minutes, Latecomers.SMALLEST)
        self.homes = {}
        self.carry_out(effects)
        assert {c for c, g in self.where.items() if g is not None} == {m.channel for m in callers}

    @precondition(lambda self: self.running and self.present)
    @rule(data=st.data(), to=st.sampled_from(("group-1", "group-2", "group-7", MAIN_ROOM)))
    def move(self, data: st.DataObject, to: str) -> None:
        assert self.breakout is not None
        channel = data.draw(st.sampled_from(sorted(self.present)))
        member = self.present[channel]
        if to != MAIN_ROOM and to not in self.breakout.groups:
            before = self.breakout.as_json()
            with pytest.raises(NoSuchGroup):
                self.breakout.move(member, to, self.now)
            assert self.breakout.as_json() == before
            return
        self.carry_out(self.breakout.move(member, to, self.now))
        assert self.where[channel] == (None if to == MAIN_ROOM else to)
        if member.moderator and to != MAIN_ROOM:
            assert to not in self.breakout.wants_moderator

    @precondition(lambda self: self.running and self.present)
    @rule(data=st.data())
    def star_zero(self, data: st.DataObject) -> None:
        assert self.breakout is not None
        channel = data.draw(st.sampled_from(sorted(self.present)))
        group = self.breakout.ask_moderator(channel)
        assert group == self.where[channel]
        if group is not None:
            assert group in self.breakout.wants_moderator

    @precondition(lambda self: self.running)
    @rule(seconds=st.sampled_from((1, 30, 59, 60, 61, 120, 600)))
    def clock(self, seconds: int) -> None:
        assert self.breakout is not None
        self.now += seconds
        due = self.breakout.next_due()
        effects = self.breakout.tick(self.now)
        assert (effects != []) <= (due is not None and self.now >= due)
        self.carry_out(effects)
        if self.now >= self.breakout.ends_at:
            assert not self.breakout.running

    @precondition(lambda self: self.running)
    @rule(minutes=st.sampled_from((0, 1, 5)))
    def extend(self, minutes: int) -> None:
        assert self.breakout is not None
        ends = self.breakout.ends_at
        if minutes == 0:
            with pytest.raises(BreakoutError):
                self.breakout.extend(minutes, self.now)
            assert self.breakout.ends_at == ends
            return
        self.breakout.extend(minutes, self.now)
        assert self.breakout.ends_at == max(ends, self.now) + minutes * 60

    @precondition(lambda self: self.running)
    @rule(on=st.booleans())
    def broadcast(self, on: bool) -> None:
        assert self.breakout is not None
        was = self.breakout.broadcast
        effects = self.breakout.set_broadcast(on)
        assert len(effects) == (0 if was == on else 1)
        assert self.breakout.broadcast == on

    @precondition(lambda self: self.running)
    @rule()
    def end(self) -> None:
        assert self.breakout is not None
        self.carry_out(self.breakout.end(self.now))

    @precondition(lambda self: self.running)
    @rule(data=st.data(), seconds=st.sampled_from((0, 30, 90, 600)))
    def restart(self, data: st.DataObject, seconds: int) -> None:
        """The service restarts: the breakout comes back from its saved state, and meanwhile
        some hung up and the clock ran on (perhaps past the end)."""
        assert self.breakout is not None
        state = self.breakout.to_state()
        gone = data.draw(
            st.sets(st.sampled_from(sorted(self.present))) if self.present else st.just(set())
        )
        self.now += seconds
        self.breakout = Breakout.from_state(state)
        assert self.breakout.to_state() == state
        order = [m.channel for m in self.breakout.members()]  # who left first: last one home
        for channel in sorted(gone, key=lambda c: order.index(c) if c in order else -1):
            member = self.present.pop(channel)
            known = member.caller_id != "anonymous" and not member.moderator
            if self.where[channel] is not None and known:
                self.homes[member.caller_id] = self.where[channel]
        present = {c: (m, self.where[c]) for c, m in self.present.items()}
        effects = self.breakout.resume(present, self.now)
        self.carry_out(effects)
        for channel in gone:
            assert self.where.pop(channel) is None  # their stint ended
        if self.now >= self.breakout.ends_at:
            assert not self.breakout.running
            self.homes = {}
        else:
            assert not [e for e in effects if isinstance(e, Move)]  # all were where they belong

    @invariant()
    def the_groups_are_where_the_moves_sent_everyone(self) -> None:
        if self.breakout is None:
            return
        for channel in self.present:
            assert self.breakout.group_of(channel) == self.where[channel]
        members = [m.channel for m in self.breakout.members()]
        assert len(members) == len(set(members))
        assert set(members) <= set(self.present)
        assert self.breakout.wants_moderator <= set(self.breakout.groups)
        if not self.breakout.running:
            assert members == [] and not self.breakout.broadcast
            assert all(g is None for g in self.where.values())
        else:
            assert self.breakout.homes == self.homes


BreakoutMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
TestBreakouts = BreakoutMachine.TestCase
