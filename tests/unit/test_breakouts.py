"""Breakouts, example by example: how a room is split, and the errors that change nothing."""

from __future__ import annotations

import pytest

from bridge.domain.breakouts import (
    BadGroupList,
    Breakout,
    BreakoutError,
    Latecomers,
    Member,
    Move,
    NoSuchGroup,
    SplitBy,
    StintEnded,
    Warn,
    conference_name,
    split,
    split_conference,
)

T = 1_764_100_000.0


def callers(n: int) -> list[Member]:
    return [Member(f"PJSIP/a-{i:04x}", f"55500{i:02d}", f"Caller {i}") for i in range(1, n + 1)]


def sizes(plan) -> list[int]:
    return [len(members) for _, members in plan.groups]


def test_nine_callers_in_three_groups_make_three_groups_of_three() -> None:
    plan = split("ga", callers(9), groups=3)
    assert plan.names() == ["group-1", "group-2", "group-3"]
    assert sizes(plan) == [3, 3, 3]
    assert sorted(m.channel for _, ms in plan.groups for m in ms) == [m.channel for m in callers(9)]


def test_a_size_makes_as_many_groups_as_it_takes_none_differing_by_more_than_one() -> None:
    assert sizes(split("ga", callers(10), size=4)) == [4, 3, 3]


def test_the_callers_are_cut_in_the_order_given_the_rest_after_as_they_joined() -> None:
    plan = split("ga", callers(4), groups=2, order=["PJSIP/a-0004", "PJSIP/a-0002"])
    assert [[m.channel for m in ms] for _, ms in plan.groups] == [
        ["PJSIP/a-0004", "PJSIP/a-0002"],
        ["PJSIP/a-0001", "PJSIP/a-0003"],
    ]


def test_moderators_stay_in_the_main_room() -> None:
    people = [*callers(4), Member("PJSIP/m-1", "5559999", "Host", moderator=True)]
    plan = split("ga", people, groups=2)
    assert "PJSIP/m-1" not in {m.channel for _, ms in plan.groups for m in ms}


def test_by_stack_order_those_waiting_come_first_then_the_rest_as_they_joined() -> None:
    people = callers(4)
    plan = split("ga", people, groups=2, by=SplitBy.STACK, order=["PJSIP/a-0003", "PJSIP/a-0001"])
    assert [[m.channel for m in ms] for _, ms in plan.groups] == [
        ["PJSIP/a-0003", "PJSIP/a-0001"],
        ["PJSIP/a-0002", "PJSIP/a-0004"],
    ]


def test_a_list_places_by_caller_id_or_channel_and_the_unlisted_fill_the_smallest() -> None:
    listed = {"north": ["5550001", "PJSIP/a-0002"], "south": ["5550003"]}
    plan = split("ga", callers(4), by=SplitBy.LIST, listed=listed)
    assert [(g, [m.caller_id for m in ms]) for g, ms in plan.groups] == [
        ("north", ["5550001", "5550002"]),
        ("south", ["5550003", "5550004"]),
    ]


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        ({}, "names no groups"),
        ({"North": ["1"]}, "'North' is not a group name"),
        ({"main": ["1"]}, "'main' is not a group name"),
        ({"a": ["1"], "b": ["1"]}, "'1' is listed in a and b"),
    ],
)
def test_a_bad_list_says_what_is_wrong(listed: dict[str, list[str]], message: str) -> None:
    with pytest.raises(BadGroupList, match=message):
        split("ga", callers(3), by=SplitBy.LIST, listed=listed)


@pytest.mark.parametrize(
    ("people", "kwargs", "message"),
    [
        ([], {"groups": 2}, "room 'ga' has no callers to split"),
        (callers(2), {"groups": 3}, "3 groups for 2 callers: at most 2 groups"),
        (callers(2), {"groups": 0}, "at least 1 group"),
        (callers(2), {"size": 0}, "size is at least 1"),
        (callers(2), {}, "the number of groups or their size"),
        (callers(2), {"groups": 1, "size": 1}, "the number of groups or their size"),
        (callers(2), {"by": SplitBy.LIST}, "needs a list file"),
    ],
)
def test_a_split_that_cannot_be_says_why(people, kwargs, message: str) -> None:
    with pytest.raises(BreakoutError, match=message):
        split("ga", people, **kwargs)


def test_a_groups_conference_reads_back_as_its_room_and_group() -> None:
    assert conference_name("ga--x", "group-1") == "ga--x~group-1"
    assert split_conference("ga--x~group-1") == ("ga--x", "group-1")
    assert split_conference("ga--x") == ("ga--x", None)
    assert conference_name("ga", None) == "ga"


def started(n: int = 4, groups: int = 2, minutes: float = 10, **kw) -> Breakout:
    plan = split("ga", callers(n), groups=groups, by=SplitBy.STACK)
    breakout, effects = Breakout.start("ga", plan, T, minutes, **kw)
    assert [e for e in effects if isinstance(e, Move)] == [
        Move("ga", m.channel, g) for g, ms in plan.groups for m in ms
    ]
    return breakout


def test_a_latecomer_goes_to_the_smallest_group_or_stays_as_the_setting_says() -> None:
    breakout = started(3)
    late = Member("PJSIP/late", "5550100", "Late")
    assert breakout.arrive(late, T + 5) == [Move("ga", "PJSIP/late", "group-2")]
    stays = started(3, latecomers=Latecomers.MAIN)
    assert stays.arrive(late, T + 5) == []


def test_a_caller_who_drops_and_calls_back_goes_back_to_their_group() -> None:
    breakout = started(6, groups=3)  # group-3 holds callers 5 and 6
    gone = breakout.leave("PJSIP/a-0005", T + 10)
    assert gone == [StintEnded("ga", "group-3", "PJSIP/a-0005", "5550005", "Caller 5", T, T + 10)]
    back = Member("PJSIP/a-0099", "5550005", "Caller 5")
    assert breakout.arrive(back, T + 20) == [Move("ga", "PJSIP/a-0099", "group-3")]


def test_an_anonymous_caller_who_calls_back_is_a_latecomer() -> None:
    breakout = started()
    anon = Member("PJSIP/x", "anonymous", "")
    breakout.arrive(anon, T)
    breakout.leave("PJSIP/x", T + 1)
    assert breakout.homes == {}


def test_star_zero_flags_the_group_until_a_moderator_joins_it() -> None:
    breakout = started()
    assert breakout.ask_moderator("PJSIP/a-0001") == "group-1"
    assert breakout.as_json()["groups"][0]["wants_moderator"] is True  # type: ignore[index]
    host = Member("PJSIP/m", "5559999", "Host", moderator=True)
    breakout.move(host, "group-1", T + 1)
    assert breakout.wants_moderator == set()


def test_moving_to_a_group_that_does_not_exist_changes_nothing() -> None:
    breakout = started()
    before = breakout.as_json()
    with pytest.raises(NoSuchGroup, match="no group 'group-9'"):
        breakout.move(callers(1)[0], "group-9", T + 1)
    assert breakout.as_json() == before


def test_the_warnings_play_once_each_and_extend_re_arms_them() -> None:
    breakout = started(minutes=3)
    assert breakout.tick(T + 30) == []
    assert breakout.tick(T + 60) == [Warn("ga", "breakout-two-minutes", ("group-1", "group-2"))]
    assert breakout.tick(T + 61) == []
    assert breakout.tick(T + 120) == [Warn("ga", "breakout-one-minute", ("group-1", "group-2"))]
    breakout.extend(5, T + 150)
    assert breakout.ends_at == T + 180 + 300
    assert breakout.next_due() == T + 480 - 120


def test_a_one_minute_breakout_never_hears_two_minutes_left() -> None:
    breakout = started(minutes=1)
    assert breakout.tick(T + 1) == []
    assert breakout.next_due() == T + 60


def test_at_the_end_everyone_goes_back_to_the_main_room() -> None:
    breakout = started()
    effects = breakout.tick(T + 600)
    assert sorted(e.channel for e in effects if isinstance(e, Move)) == [
        m.channel for m in callers(4)
    ]
    assert all(e.group is None for e in effects if isinstance(e, Move))
    assert len([e for e in effects if isinstance(e, StintEnded)]) == 4
    assert not breakout.running and breakout.members() == []
