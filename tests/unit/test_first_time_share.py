"""The first-time speakers' share of the talk, live (``FirstTimeShare``)."""

from __future__ import annotations

from bridge.domain.speakers.share import FirstTimeShare


def test_nobody_has_talked_so_there_is_no_share_yet() -> None:
    assert FirstTimeShare().share(0.0, lambda _: 0.0) is None


def test_a_first_turn_counts_and_a_second_turn_does_not() -> None:
    share = FirstTimeShare()
    share.turn_started("5550101", "PJSIP/a-1", 0.0)
    share.turn_ended("PJSIP/a-1", 30.0)
    share.turn_started("5550101", "PJSIP/a-1", 30.0)  # again: not a first turn
    share.turn_ended("PJSIP/a-1", 60.0)
    assert share.share(60.0, lambda _: 60.0) == 0.5


def test_talk_outside_turns_counts_in_the_whole_only() -> None:
    share = FirstTimeShare()
    share.turn_started("5550101", "PJSIP/a-1", 10.0)  # had talked 10 s before, unmuted
    share.turn_ended("PJSIP/a-1", 40.0)
    assert share.share(40.0 + 20.0, lambda _: 0.0) == 0.5  # someone else talked 20 s


def test_a_first_turn_under_way_counts_as_far_as_it_has_gone() -> None:
    share = FirstTimeShare()
    share.turn_started("5550102", "PJSIP/b-2", 0.0)
    assert share.share(20.0, lambda channel: 5.0 if channel == "PJSIP/b-2" else 0.0) == 0.25


def test_those_who_left_keep_their_talk_in_the_whole() -> None:
    share = FirstTimeShare()
    share.turn_started("5550101", "PJSIP/a-1", 0.0)
    share.turn_ended("PJSIP/a-1", 30.0)
    share.left(30.0)
    assert share.share(30.0, lambda _: 0.0) == 0.5


def test_someone_else_given_the_floor_ends_no_first_turn_but_their_own() -> None:
    share = FirstTimeShare()
    share.turn_started("5550101", "PJSIP/a-1", 0.0)
    share.turn_ended("PJSIP/z-9", 99.0)  # not the first turn's channel
    share.turn_ended("PJSIP/a-1", 10.0)
    assert share.first_talk == 10.0
