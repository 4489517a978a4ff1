"""Practice scenarios: the plan made of one (pure), and scenario files read with lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from bridge.domain.practice import (
    JOIN_SETTLE,
    Part,
    Press,
    Scenario,
    ScenarioError,
    caller_id,
    loopback_address,
    part_sizes,
    plan,
)
from bridge.scenarios import BadScenario, read_scenario, shipped, shipped_scenario

HANDS = Part("hands", 6, presses=(Press(100, "*9"),))
TALKER = Part("talker", 1, talks=True, on_join="*9")
DROPS = Part("drops", 2, leaves_at=200, calls_back_after=30, presses=(Press(250, "*8"),))
SCENARIO = Scenario("test", "", callers=20, minutes=10, join_over=60, parts=(HANDS, TALKER, DROPS))


def test_every_caller_gets_a_script_and_the_parts_keep_their_sizes() -> None:
    made = plan(SCENARIO)
    assert len(made.callers) == 20
    assert made.counts() == {"hands": 6, "talker": 1, "drops": 2, "": 11}
    assert [c.index for c in made.callers] == list(range(1, 21))


def test_arrivals_are_spread_over_join_over_with_the_parts_mixed() -> None:
    made = plan(SCENARIO)
    starts = [c.calls[0].start for c in made.callers]
    assert starts == sorted(starts) and starts[0] == 0 and max(starts) < 60
    hands = [n for n, c in enumerate(made.callers) if c.part == "hands"]
    assert hands[0] < 5 and hands[-1] > 14  # not all at the start, not all at the end


def test_the_plan_is_the_same_every_time() -> None:
    assert plan(SCENARIO) == plan(SCENARIO)


def test_speed_divides_every_time() -> None:
    slow, fast = plan(SCENARIO), plan(SCENARIO, speed=4.0)
    assert fast.length == slow.length / 4
    for a, b in zip(slow.callers, fast.callers, strict=True):
        assert b.calls[0].start == pytest.approx(a.calls[0].start / 4)


def test_a_press_waits_until_the_caller_is_in() -> None:
    early = Scenario("e", "", 1, 5, 0, (Part("eager", 1, presses=(Press(1, "*9"),)),))
    (caller,) = plan(early).callers
    assert caller.calls[0].presses == (Press(JOIN_SETTLE, "*9"),)


def test_a_caller_who_drops_calls_back_and_presses_on_the_second_call() -> None:
    made = plan(SCENARIO)
    dropper = next(c for c in made.callers if c.part == "drops")
    first, second = dropper.calls
    assert first.end == 200 and second.start == 230 and second.end == made.length
    assert first.presses == () and second.presses == (Press(250, "*8"),)


def test_fewer_callers_scale_the_parts_and_keep_each() -> None:
    assert part_sizes(SCENARIO, 40) == [12, 2, 4]
    assert part_sizes(SCENARIO, 3) == [1, 1, 1]
    assert part_sizes(SCENARIO, 2) == [0, 1, 1] or sum(part_sizes(SCENARIO, 2)) == 2


@given(st.integers(1, 300), st.floats(0.1, 10))
def test_any_number_of_callers_and_speed_gives_that_many_scripts_within_the_length(
    callers: int, speed: float
) -> None:
    made = plan(SCENARIO, callers, speed)
    assert len(made.callers) == callers
    for caller in made.callers:
        for call in caller.calls:
            assert 0 <= call.start < call.end <= made.length
            assert all(call.start + JOIN_SETTLE <= p.at < call.end for p in call.presses)


@pytest.mark.parametrize(
    ("scenario", "path"),
    [
        (Scenario("x", "", 0, 5), "callers"),
        (Scenario("x", "", 5, 0), "minutes"),
        (Scenario("x", "", 5, 5, join_over=400), "join_over"),
        (Scenario("x", "", 5, 5, parts=(Part("a", 6),)), "parts"),
        (Scenario("x", "", 5, 5, parts=(Part("a", 1), Part("a", 1))), "parts[1].name"),
        (Scenario("x", "", 5, 5, parts=(Part("t", 1, talks=True, presses=(Press(9, "*9"),)),)),
         "parts[0].presses"),
        (Scenario("x", "", 5, 5, parts=(Part("k", 1, presses=(Press(9, "*x"),)),)),
         "parts[0].presses[0].keys"),
        (Scenario("x", "", 5, 5, parts=(Part("k", 1, presses=(Press(999, "*9"),)),)),
         "parts[0].presses[0].at"),
        (Scenario("x", "", 5, 5, parts=(Part("b", 1, calls_back_after=5),)),
         "parts[0].calls_back_after"),
    ],
)  # fmt: skip
def test_a_scenario_that_cannot_run_names_the_field(scenario: Scenario, path: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        plan(scenario)
    assert caught.value.path == path


def test_a_speed_out_of_range_is_refused() -> None:
    with pytest.raises(ScenarioError, match="speed"):
        plan(SCENARIO, speed=50)


def test_each_caller_has_its_own_loopback_address_and_caller_id() -> None:
    addresses = {loopback_address(n) for n in range(1, 601)}
    assert len(addresses) == 600 and all(a.startswith("127.77.") for a in addresses)
    assert caller_id(7) == "practice007"


# ---- scenario files ------------------------------------------------------------------------


GOOD = """\
name: small
callers: 4
minutes: 2
parts:
  - name: hands
    callers: 2
    presses: [{at: 30, keys: "*9"}]
"""


def test_a_scenario_file_is_read() -> None:
    scenario = read_scenario(GOOD, "small.yaml")
    assert scenario.parts == (Part("hands", 2, presses=(Press(30.0, "*9"),)),)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD.replace("callers: 4", "callers: four"), 2, "callers"),
        (GOOD.replace("    callers: 2\n", "    callers: 2\n    colour: red\n"), 7, "unknown key"),
        (GOOD.replace('keys: "*9"', 'keys: "*Z"'), 7, "keys are 0-9"),
        (GOOD.replace("at: 30", "at: 900"), 7, "within 0 and 120"),
        (GOOD.replace("name: small\n", ""), 1, "name: required"),
        (GOOD + "  - name: hands\n    callers: 1\n", 8, "already named"),
        ("name: [unclosed\n", 2, "not valid YAML"),
        ("- a list\n", 1, "expected a mapping"),
    ],
)
def test_a_bad_scenario_file_names_its_line_and_field(text: str, line: int, words: str) -> None:
    with pytest.raises(BadScenario) as caught:
        read_scenario(text, "s.yaml")
    first = caught.value.problems[0]
    assert first.line == line, str(caught.value)
    assert words in first.message
    assert str(first).startswith(f"s.yaml:{line}: ")


def test_every_shipped_scenario_reads_and_plans() -> None:
    names = set(shipped())
    assert {"general-assembly", "report-back", "disruptive", "breakouts"} <= names
    for name in names:
        scenario = shipped_scenario(name)
        assert len(plan(scenario).callers) == scenario.callers
    assert shipped_scenario("general-assembly").callers == 60


def test_a_shipped_scenario_is_named_never_a_path(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(GOOD)
    with pytest.raises(BadScenario, match="no scenario"):
        shipped_scenario(str(tmp_path / "mine.yaml"))
