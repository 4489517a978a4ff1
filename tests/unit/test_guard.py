"""The front door's guard: who a wrong PIN counts against, how guessing is slowed and
stopped, and what other sources can never do to a caller (hypothesis for the invariants)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bridge.domain.entry import Admission, Refusal
from bridge.domain.events import Role
from bridge.domain.guard import (
    Gate,
    Guard,
    GuardPolicy,
    HeldBack,
    Hold,
    Outcome,
    Proceed,
    Refuse,
    Source,
    SourceKind,
    caller_hears,
    caller_source,
    internet_source,
    outcome_of,
    parse_source,
    trunk_source,
)
from bridge.domain.rooms import RoomSpec
from bridge.domain.sources import asserted_number, shared_key, within
from bridge.service.entry import guard_policy
from bridge.settings import Settings

POLICY = GuardPolicy()
HOUR = 3600.0
T0 = 1_800_000_000.0


def source(n: int) -> Source:
    return internet_source(f"198.51.{100 + n // 256}.{n % 256}")


def fail(guard: Guard, who: Source, now: float, outcome: Outcome = Outcome.WRONG_PIN) -> Gate:
    """One prompt and one failed PIN, if the guard lets the prompt play."""
    decision = guard.gate(who, now)
    if isinstance(decision, Proceed):
        guard.record(who, outcome, now + decision.wait)
    return decision


# ---- who a wrong PIN counts against ----------------------------------------------------


def test_an_internet_caller_is_its_address_and_an_ipv6_caller_its_64_block() -> None:
    assert internet_source("203.0.113.7") == Source(SourceKind.ADDRESS, "203.0.113.7")
    assert internet_source("2001:db8:1:2::5") == internet_source("2001:db8:1:2:ffff::1")
    assert internet_source("2001:db8:1:2::5") != internet_source("2001:db8:1:3::5")
    assert internet_source("::ffff:203.0.113.7") == internet_source("203.0.113.7")


def test_an_address_that_cannot_be_read_is_unattributable() -> None:
    assert not internet_source("not-an-address").attributable


@pytest.mark.parametrize("withheld", ["", "anonymous", "Restricted", "<unknown>", "abc"])
def test_a_trunk_call_without_a_number_is_withheld_and_has_no_budget_of_its_own(
    withheld: str,
) -> None:
    assert trunk_source("provider", withheld) == Source(SourceKind.WITHHELD, "provider")
    assert not trunk_source("provider", withheld).attributable


@pytest.mark.parametrize(
    ("asserted", "number"),
    [
        ("<sip:+15550100@carrier.example;user=phone>", "+15550100"),
        ("tel:+1-555-0100", "+15550100"),
        ("sip:anonymous@anonymous.invalid", ""),
        ("5550100", "5550100"),
    ],
)
def test_the_number_a_trunk_asserts_is_read_from_a_uri_or_digits(
    asserted: str, number: str
) -> None:
    assert asserted_number(asserted) == number


def test_every_trunk_caller_shares_its_trunks_budget_split_per_room_when_the_number_names_one() -> (
    None
):
    numbered, withheld = trunk_source("carrier", "+15550100"), trunk_source("carrier", "")
    assert shared_key(numbered) == shared_key(withheld) == "carrier"
    assert shared_key(withheld, called_for="assembly") == "carrier/assembly"
    assert shared_key(internet_source("203.0.113.7")) is None


def test_a_trunk_caller_is_the_number_it_asserts_on_that_trunk() -> None:
    assert trunk_source("provider", "+1 (555) 010-0100") == trunk_source("provider", "+15550100100")
    assert trunk_source("provider", "5550100") != trunk_source("other", "5550100")


@pytest.mark.parametrize(
    ("remote_address", "endpoint", "caller_id", "expected"),
    [
        ("203.0.113.7:5060", "anonymous", "+15550100", internet_source("203.0.113.7")),
        ("[2001:db8:1:2::5]:5062", "anonymous", "", internet_source("2001:db8:1:2::9")),
        ("203.0.113.7", "anonymous", "x", internet_source("203.0.113.7")),
        ("198.51.100.1:5060", "provider", "+1 555 0100", trunk_source("provider", "+15550100")),
        ("198.51.100.1:5060", "provider", "anonymous", trunk_source("provider", "")),
        ("", "", "5550100", Source(SourceKind.UNATTRIBUTABLE, "internet")),
    ],
)
def test_the_anonymous_endpoint_counts_by_address_and_a_trunk_by_the_caller_id_it_asserts(
    remote_address: str, endpoint: str, caller_id: str, expected: Source
) -> None:
    assert caller_source(remote_address, endpoint, caller_id) == expected


@pytest.mark.parametrize("caller_id", ["", "anonymous", "+15550100", "victim", "Restricted"])
def test_on_the_internet_endpoint_the_caller_id_changes_nothing(caller_id: str) -> None:
    assert caller_source("203.0.113.7:5060", "anonymous", caller_id) == internet_source(
        "203.0.113.7"
    )


@given(
    st.one_of(
        st.ip_addresses().map(lambda ip: internet_source(str(ip))),
        st.from_regex(r"\+?[0-9]{3,15}", fullmatch=True).map(lambda n: trunk_source("trunk", n)),
    )
)
def test_a_source_as_listed_is_read_back_as_itself(who: Source) -> None:
    assert parse_source(str(who)) == who


def test_an_admin_may_name_an_internet_source_by_its_address_alone() -> None:
    assert parse_source("203.0.113.7") == internet_source("203.0.113.7")
    assert parse_source("2001:db8:1:2::5") == internet_source("2001:db8:1:2::")
    with pytest.raises(ValueError):
        parse_source("not-a-source")
    with pytest.raises(ValueError):
        parse_source("caller-id:provider/anonymous")


def test_a_retired_rooms_pin_is_heard_and_counted_as_a_wrong_pin() -> None:
    assert caller_hears(Refusal.ROOM_RETIRED) is Refusal.WRONG_PIN
    assert outcome_of(Refusal.ROOM_RETIRED).is_failure
    assert outcome_of(Refusal.ROOM_LOCKED).is_failure and outcome_of(Refusal.ROOM_FULL).is_failure
    assert not outcome_of(Refusal.NO_PIN).is_failure
    room = RoomSpec(name="ga", title="GA", pin="424242")
    assert outcome_of(Admission(room, Role.PARTICIPANT)) is Outcome.ADMITTED


# ---- one source ------------------------------------------------------------------------


def test_the_delay_before_the_next_prompt_grows_with_each_failure_and_is_capped() -> None:
    assert [POLICY.delay_after(n) for n in range(8)] == [0, 2, 4, 8, 16, 32, 60, 60]


def test_a_source_waits_longer_after_each_failure_even_in_a_new_call() -> None:
    guard, who, now = Guard(), source(1), T0
    waits = []
    for _ in range(4):
        decision = guard.gate(who, now)
        assert isinstance(decision, Proceed)
        waits.append(decision.wait)
        now += decision.wait
        guard.record(who, Outcome.WRONG_PIN, now)
        now += 1.0  # the caller hangs up and calls again at once
    assert waits == [0.0, 1.0, 3.0, 7.0]  # 2, 4, 8 s after each failure, less the 1 s redial


def test_a_source_is_refused_at_its_budget_until_its_first_failure_ages_out() -> None:
    guard, who = Guard(), source(1)
    now = T0
    for _ in range(POLICY.source_threshold):
        decision = fail(guard, who, now)
        assert isinstance(decision, Proceed)
        now += decision.wait + 10.0
    refused = guard.gate(who, now)
    first_failure = T0
    assert refused == Refuse(until=first_failure + HOUR)
    assert isinstance(guard.gate(who, first_failure + HOUR + 1), Proceed)


def test_getting_in_gives_no_budget_back() -> None:
    guard, who, now = Guard(), source(1), T0
    for _ in range(3):
        fail(guard, who, now)
        now += 100.0
    assert isinstance(guard.gate(who, now), Proceed)
    guard.record(who, Outcome.ADMITTED, now)
    assert guard.failures(who, now) == 3


def test_parallel_calls_from_a_source_that_failed_cannot_overshoot_its_budget() -> None:
    guard, who = Guard(), source(1)
    fail(guard, who, T0)
    now = T0 + 100
    granted = [guard.gate(who, now) for _ in range(POLICY.source_threshold - 1)]
    assert all(isinstance(g, Proceed) for g in granted)
    assert guard.gate(who, now) == Hold(POLICY.hold)  # every try of its budget is in use
    for _ in granted:
        guard.record(who, Outcome.WRONG_PIN, now + 5)
    assert isinstance(guard.gate(who, now + 6), Refuse)


def test_a_locked_or_full_room_costs_its_source_a_guess() -> None:
    guard, who = Guard(), source(1)
    guard.gate(who, T0)
    guard.record(who, Outcome.ROOM_LOCKED, T0)
    guard.gate(who, T0 + 10)
    guard.record(who, Outcome.ROOM_FULL, T0 + 10)
    assert guard.failures(who, T0 + 10) == 2


@pytest.mark.parametrize("refusal", [Refusal.ROOM_LOCKED, Refusal.ROOM_FULL])
def test_a_locked_or_full_room_says_so_only_to_a_source_that_has_not_failed(
    refusal: Refusal,
) -> None:
    assert caller_hears(refusal, failed_before=0) is refusal  # the member, first try
    assert caller_hears(refusal, failed_before=1) is Refusal.WRONG_PIN  # a guesser
    assert caller_hears(Refusal.WRONG_PIN, failed_before=0) is Refusal.WRONG_PIN


def test_a_source_an_admin_allowed_is_slowed_by_its_failures_never_refused_or_held() -> None:
    guard, venue, now = Guard(), source(1), T0
    for _ in range(POLICY.source_threshold + 2):
        decision = guard.gate(venue, now, allowed=True)
        assert decision == Proceed(POLICY.delay_after(guard.failures(venue, now)))
        guard.record(venue, Outcome.WRONG_PIN, now + decision.wait)
        now += decision.wait + 1
    assert isinstance(guard.gate(venue, now), Refuse)  # not allowed: refused as ever
    # Parallel calls from the venue each wait their delay; none is held.
    assert all(isinstance(guard.gate(venue, now, allowed=True), Proceed) for _ in range(30))


def test_an_allowed_network_holds_an_address_or_a_whole_64_of_its_family_only() -> None:
    networks = ("198.51.100.0/24", "2001:db8:5::/48")
    assert within(internet_source("198.51.100.77"), networks)
    assert within(internet_source("2001:db8:5:9::1"), networks)
    assert not within(internet_source("198.51.101.1"), networks)
    assert not within(internet_source("2001:db8:6::1"), networks)
    assert not within(trunk_source("carrier", "+15550100"), networks)
    assert not within(internet_source("2001:db8:5::1"), ("2001:db8:5::/96",))  # inside a /64


# ---- many sources ----------------------------------------------------------------------


def attack(guard: Guard, sources: int, now: float) -> None:
    for n in range(sources):
        fail(guard, source(n), now)


def test_an_attack_shrinks_every_budget_and_spaces_every_prompt_but_refuses_no_clean_source() -> (
    None
):
    guard = Guard()
    attack(guard, POLICY.global_alarm, T0)
    assert guard.alarm(T0)
    now = T0 + 100
    bystander = internet_source("192.0.2.200")
    for _ in range(POLICY.alarm_source_threshold - 1):
        fail(guard, bystander, now)
        now += 100
    assert isinstance(fail(guard, bystander, now), Proceed)  # its 4th own failure
    assert isinstance(guard.gate(bystander, now + 100), Refuse)
    # A clean source's first try waits only for its turn among all prompts.
    assert guard.gate(internet_source("192.0.2.201"), now + 100) == Proceed(0.0)
    assert guard.gate(internet_source("192.0.2.202"), now + 100) == Proceed(POLICY.alarm_spacing)


def test_during_an_attack_those_who_failed_wait_longer_and_trunk_callers_without_id_too() -> None:
    guard = Guard()
    attack(guard, POLICY.global_alarm, T0)
    who = source(1)  # failed once, at T0
    decision = guard.gate(who, T0 + 100)
    assert decision == Proceed(POLICY.alarm_delay)
    withheld = guard.gate(trunk_source("provider", ""), T0 + 200)
    assert withheld == Proceed(POLICY.alarm_delay)


def test_during_an_attack_a_flood_of_fresh_sources_is_held_to_the_alarms_prompt_rate() -> None:
    guard = Guard()
    attack(guard, POLICY.global_alarm, T0)
    now = T0 + 100
    gates = [guard.gate(internet_source(f"2001:db8:0:{n:x}::1"), now) for n in range(100)]
    granted = [g for g in gates if isinstance(g, Proceed)]
    assert all(isinstance(g, Hold) for g in gates if not isinstance(g, Proceed))
    # Each prompt one spacing after the last, up to the longest wait; the rest are held.
    assert len(granted) == int(POLICY.max_wait / POLICY.alarm_spacing) + 1
    assert [g.wait for g in granted] == [n * POLICY.alarm_spacing for n in range(len(granted))]


def test_a_trunk_past_its_shared_budget_spaces_its_callers_prompts_and_refuses_none() -> None:
    policy = GuardPolicy(trunk_threshold=5, global_alarm=1000)
    guard, now = Guard(policy), T0
    for n in range(policy.trunk_threshold):  # rotating numbers: each is clean
        assert fail(guard, trunk_source("carrier", f"+1555010{n}"), now) == Proceed(0.0)
    spacing = policy.trunk_spacing
    fresh = trunk_source("carrier", "+15559999")
    assert guard.gate(fresh, now) == Proceed(0.0)  # the first past the budget: now
    assert guard.gate(trunk_source("carrier", ""), now) == Hold(policy.hold)  # next: too long
    guard.record(fresh, Outcome.WRONG_PIN, now)
    later = now + spacing
    assert guard.gate(trunk_source("carrier", ""), later) == Proceed(0.0)
    # Another trunk, and an internet caller, are not slowed by it.
    assert guard.gate(trunk_source("other", "+15550100"), now) == Proceed(0.0)
    assert guard.gate(internet_source("192.0.2.1"), now) == Proceed(0.0)


def test_a_clean_source_is_never_held_for_its_prompts_in_progress_only_slowed() -> None:
    guard, who = Guard(), source(1)
    silent = [guard.gate(who, T0) for _ in range(POLICY.clean_pending)]  # kept silent
    assert silent == [Proceed(0.0)] * POLICY.clean_pending
    assert guard.gate(who, T0) == Proceed(POLICY.hold)  # the next caller: a short delay
    for _ in range(POLICY.max_pending - POLICY.clean_pending - 1):
        assert isinstance(guard.gate(who, T0), Proceed)
    assert guard.gate(who, T0) == Hold(POLICY.hold)  # never more at once than its calls


def test_a_source_that_failed_is_held_while_its_prompts_in_progress_would_overshoot() -> None:
    guard, who = Guard(), source(1)
    fail(guard, who, T0)
    now = T0 + 100
    for _ in range(POLICY.source_threshold - 1):
        assert isinstance(guard.gate(who, now), Proceed)
    assert guard.gate(who, now) == Hold(POLICY.hold)


def test_the_sources_held_back_are_those_refused_and_those_slowed() -> None:
    guard = Guard()
    refused, slowed, clean = source(1), source(2), source(3)
    now = T0
    for _ in range(POLICY.source_threshold):
        decision = fail(guard, refused, now)
        assert isinstance(decision, Proceed)
        now += decision.wait + 1
    fail(guard, slowed, now)
    guard.gate(clean, now)
    guard.record(clean, Outcome.ADMITTED, now)
    assert guard.held_back(now) == [
        HeldBack(refused, POLICY.source_threshold, T0 + HOUR, refused=True),
        HeldBack(slowed, 1, now + POLICY.first_delay, refused=False),
    ]


def test_lifting_a_hold_forgets_that_sources_failures_only() -> None:
    guard = Guard()
    attack(guard, 3, T0)
    assert guard.forget(source(1))
    assert guard.gate(source(1), T0 + 1) == Proceed(0.0)
    assert guard.failures(source(0), T0 + 1) == 1
    assert guard.global_failures(T0 + 1) == 3
    assert not guard.forget(source(1))  # nothing left to lift


def test_the_settings_defaults_are_the_guards_and_reach_it() -> None:
    assert guard_policy(Settings()) == GuardPolicy()
    tight = Settings(guard_source_threshold=3, guard_alarm_source_threshold=9)
    assert guard_policy(tight).alarm_source_threshold == 3  # never above the threshold


def test_idle_sources_are_forgotten() -> None:
    guard = Guard()
    attack(guard, 5, T0)
    assert guard.forget_idle(T0 + 10) == 0
    assert guard.forget_idle(T0 + HOUR + 1) == 5
    assert guard.global_failures(T0 + HOUR + 1) == 0


def test_a_policy_that_contradicts_itself_is_refused() -> None:
    with pytest.raises(ValueError):
        GuardPolicy(source_threshold=3, alarm_source_threshold=4)


# ---- invariants, under hypothesis --------------------------------------------------------

# Small budgets, so that a few dozen steps reach every threshold.
SMALL = GuardPolicy(
    source_threshold=3,
    alarm_source_threshold=2,
    global_alarm=5,
    trunk_threshold=4,
    clean_pending=2,
    max_pending=4,
)


OUTCOMES = st.sampled_from(list(Outcome))
STEP = st.tuples(st.integers(0, 7), OUTCOMES, st.floats(0, 900, allow_nan=False))


def run(steps: list[tuple[int, Outcome, float]], room: str | None = None) -> list[Gate]:
    """Each step: time passes, a source asks for a prompt and, if let, tries a PIN.
    ``room``: the room every call's number is for (None: the shared number)."""
    guard, now, seen = Guard(SMALL), T0, []
    for who, outcome, dt in steps:
        now += dt
        decision = guard.gate(source(who), now, called_for=room)
        seen.append(decision)
        if isinstance(decision, Proceed):
            guard.record(source(who), outcome, now, called_for=room)
    return seen


def replaced(steps: list[tuple[int, Outcome, float]], old: set[Outcome], new: Outcome) -> list:
    return [(who, new if outcome in old else outcome, dt) for who, outcome, dt in steps]


@settings(max_examples=200, deadline=None)
@given(st.lists(STEP, max_size=80))
def test_failures_restored_after_a_restart_decide_as_before_it(
    steps: list[tuple[int, Outcome, float]],
) -> None:
    """What the database keeps (each failure: source, outcome, time, room) is enough for a
    new guard to count every source as the old one did, and refuse whom it refused. (Only
    the spacing of a failed source's parallel calls is not kept: no call outlives the
    service's restart.)"""
    guard, now, kept = Guard(SMALL), T0, []
    for who, outcome, dt in steps:
        now += dt
        if isinstance(guard.gate(source(who), now), Proceed):
            guard.record(source(who), outcome, now)
            if outcome.is_failure:
                kept.append((source(who), outcome, now))
    restarted = Guard(SMALL)
    restarted.restore(kept)
    later = now + 1
    for n in range(8):
        assert restarted.failures(source(n), later) == guard.failures(source(n), later)
        before, after = guard.gate(source(n), later), restarted.gate(source(n), later)
        assert isinstance(after, Refuse) == isinstance(before, Refuse)
        if isinstance(before, Refuse):
            assert after == before


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=120), st.sampled_from([None, "ga"]))
def test_a_retired_rooms_pin_changes_nothing_a_wrong_pin_would_not(
    steps: list[tuple[int, Outcome, float]], room: str | None
) -> None:
    retired_as_wrong = replaced(steps, {Outcome.RETIRED_PIN}, Outcome.WRONG_PIN)
    assert run(steps, room) == run(retired_as_wrong, room)


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=120))
def test_a_locked_or_full_refusal_counts_for_its_source_exactly_like_a_wrong_pin(
    steps: list[tuple[int, Outcome, float]],
) -> None:
    as_wrong = replaced(steps, {Outcome.ROOM_LOCKED, Outcome.ROOM_FULL}, Outcome.WRONG_PIN)
    assert run(steps) == run(as_wrong)


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=200), st.integers(1, 400), st.booleans())
def test_whatever_other_sources_do_a_caller_who_has_not_failed_is_never_refused(
    steps: list[tuple[int, Outcome, float]], flood: int, trunk: bool
) -> None:
    guard, now = Guard(), T0
    for who, outcome, dt in steps:
        now += dt
        if isinstance(guard.gate(source(who), now), Proceed):
            guard.record(source(who), outcome, now)
    attack(guard, flood, now)  # and a flood of fresh addresses, spoofed or not
    newcomer = trunk_source("provider", "+15550100") if trunk else internet_source("192.0.2.1")
    decision = guard.gate(newcomer, now)
    assert not isinstance(decision, Refuse)
    if not guard.alarm(now):  # without an attack on, straight in
        assert decision == Proceed(0.0)


# Two internet callers, two numbers and a withheld number through one trunk.
MACHINE_SOURCES = (
    source(0),
    source(1),
    trunk_source("carrier", "+15550100"),
    trunk_source("carrier", "+15550101"),
    trunk_source("carrier", ""),
)


class GuardMachine(RuleBasedStateMachine):
    """Calls from a few sources in any order, answered or abandoned at any time."""

    def __init__(self) -> None:
        super().__init__()
        self.guard = Guard(SMALL)
        self.now = T0
        self.pending: list[Source] = []
        self.failed: dict[Source, list[float]] = {}
        self.through_trunk: list[float] = []

    def own_failures(self, who: Source) -> int:
        return sum(1 for t in self.failed.get(who, []) if t > self.now - SMALL.window)

    @rule(who=st.sampled_from(MACHINE_SOURCES))
    def call(self, who: Source) -> None:
        trunk_full = who.trunk is not None and (
            self.guard.shared_failures("carrier", self.now)
            + len([p for p in self.pending if p.trunk])
            >= SMALL.trunk_threshold
        )
        decision = self.guard.gate(who, self.now)
        if isinstance(decision, Refuse):
            # Only a source's own failures refuse it: never fewer than the alarm budget,
            # and never a caller without a budget of their own.
            assert who.attributable
            assert self.own_failures(who) >= SMALL.alarm_source_threshold
            assert decision.until > self.now
        if isinstance(decision, Hold):
            # Held only for its own prompts in progress, or a shared wait (its trunk's
            # budget, the alarm's prompt rate).
            assert self.guard.pending(who) > 0 or trunk_full or self.guard.alarm(self.now)
        if isinstance(decision, Proceed):
            assert decision.wait >= 0
            if self.own_failures(who) == 0 and not self.guard.alarm(self.now) and not trunk_full:
                # A clean source waits at most the short delay for its burst.
                assert decision.wait <= SMALL.hold
            self.pending.append(who)

    @precondition(lambda self: bool(self.pending))
    @rule(index=st.integers(0, 100), outcome=OUTCOMES)
    def answer(self, index: int, outcome: Outcome) -> None:
        who = self.pending.pop(index % len(self.pending))
        self.guard.record(who, outcome, self.now)
        if outcome.is_failure:
            self.failed.setdefault(who, []).append(self.now)
            # However the calls interleave, no source fails more than its budget per window
            # (or, in a first burst of parallel calls, than it may have at once).
            assert self.own_failures(who) <= max(SMALL.source_threshold, SMALL.max_pending)
            if who.trunk:
                self.through_trunk.append(self.now)
                # Nor a trunk, whatever numbers it rotates or withholds, more than its
                # budget and then one per spacing: twice the budget in any window.
                recent = [t for t in self.through_trunk if t > self.now - SMALL.window]
                assert len(recent) <= 2 * SMALL.trunk_threshold

    @precondition(lambda self: bool(self.pending))
    @rule(index=st.integers(0, 100))
    def hang_up(self, index: int) -> None:
        self.guard.abandon(self.pending.pop(index % len(self.pending)))

    @rule(seconds=st.floats(0, 1200, allow_nan=False))
    def wait(self, seconds: float) -> None:
        self.now += seconds

    @rule()
    def tidy_up(self) -> None:
        self.guard.forget_idle(self.now)

    @invariant()
    def pending_prompts_are_counted(self) -> None:
        for who in MACHINE_SOURCES:
            if who.attributable:
                assert self.guard.pending(who) == self.pending.count(who)


TestGuardMachine = GuardMachine.TestCase
TestGuardMachine.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
