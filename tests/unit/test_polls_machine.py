"""Temperature checks under any sequence of opens, closes, keys, comings and goings: a
hypothesis state machine against a model of who answered what, checking the tally, the
blocks and what each caller is told after every step."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bridge.domain.polls import BLOCK_KEY, MAX_OPTIONS, BadOptions, Poll, Voter

T = 1_764_100_000.0
KEYS = tuple("0123456789*#")


class PollMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.poll: Poll | None = None
        self.present: dict[str, Voter] = {}
        self.answers: dict[str, str] = {}  # the model: channel -> the key that counts
        self.frozen: dict[str, str] | None = None  # the answers when the poll closed
        self.serial = 0
        self.now = T

    def keys(self) -> dict[str, str]:
        assert self.poll is not None
        return self.poll.keys()

    @rule(caller_id=st.sampled_from(("5550001", "anonymous", "")))
    def join(self, caller_id: str) -> None:
        self.serial += 1
        channel = f"PJSIP/anonymous-{self.serial:08x}"
        self.present[channel] = Voter(channel, caller_id, f"Caller {self.serial}")

    @precondition(lambda self: self.present)
    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        channel = data.draw(st.sampled_from(sorted(self.present)))
        del self.present[channel]
        moved = self.poll.leave(channel) if self.poll is not None else False
        open_ = self.poll is not None and self.poll.is_open
        assert moved == (open_ and channel in self.answers)
        if open_:
            self.answers.pop(channel, None)

    @rule(n=st.integers(0, MAX_OPTIONS + 2), block=st.booleans())
    def open_a_poll(self, n: int, block: bool) -> None:
        options = tuple(f"option {i}" for i in range(1, n + 1))
        if not 1 <= n <= MAX_OPTIONS:
            with pytest.raises(BadOptions):
                Poll.open("ga", "Where are we?", options, block, self.now)
            return  # nothing changed: the poll before goes on
        self.poll = Poll.open("ga", "Where are we?", options, block, self.now)
        self.answers, self.frozen = {}, None

    @precondition(lambda self: self.poll is not None)
    @rule()
    def close(self) -> None:
        assert self.poll is not None
        if self.poll.is_open:
            self.frozen = dict(self.answers)
        self.poll.close(self.now)

    @precondition(lambda self: self.present)
    @rule(data=st.data(), key=st.sampled_from(KEYS))
    def press(self, data: st.DataObject, key: str) -> None:
        channel = data.draw(st.sampled_from(sorted(self.present)))
        self.now += 0.1
        if self.poll is None:
            return  # no poll at all: the service answers silence without a Poll
        told = self.poll.press(self.present[channel], key)
        counts = self.poll.is_open and key in self.keys()
        if not counts:
            assert told is None
            return
        assert told is not None and told.key == key and told.label == self.keys()[key]
        assert told.blocks == (key == BLOCK_KEY)
        self.answers[channel] = key

    @invariant()
    def the_tally_is_the_models(self) -> None:
        if self.poll is None:
            return
        tally = self.poll.tally()
        expected = self.answers if self.poll.is_open else (self.frozen or {})
        assert tally.open == self.poll.is_open
        assert tally.voters == len(expected)
        assert [o.key for o in tally.options] == list(self.keys())
        for option in tally.options:
            assert option.count == sum(1 for k in expected.values() if k == option.key)
        assert sum(o.count for o in tally.options) == tally.voters
        assert {v.channel for v in tally.blocks} == {
            c for c, k in expected.items() if k == BLOCK_KEY
        }
        if self.poll.is_open:
            assert set(expected) <= set(self.present)  # voters out of present
            assert tally.voters <= len(self.present)


PollMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
TestPolls = PollMachine.TestCase
