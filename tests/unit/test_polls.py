"""Temperature checks, case by case: the options a poll takes, the keys callers press, and
the tally moderators read."""

from __future__ import annotations

import pytest

from bridge.domain.polls import DEFAULT_OPTIONS, BadOptions, BadQuestion, Poll, Voter

T = 1_764_100_000.0
ANA = Voter("PJSIP/anonymous-00000001", "5550001", "Ana")
BEN = Voter("PJSIP/anonymous-00000002", "5550002", "Ben")


def test_a_poll_with_no_options_is_refused_with_the_reason() -> None:
    with pytest.raises(BadOptions, match="at least 1 option"):
        Poll.open("ga", "", (), False, T)


def test_a_poll_with_nine_options_is_refused_with_the_reason() -> None:
    with pytest.raises(BadOptions, match="at most 8 options, got 9"):
        Poll.open("ga", "", tuple("abcdefghi"), False, T)


def test_an_option_listed_twice_or_empty_is_refused() -> None:
    with pytest.raises(BadOptions, match="'Agree' is listed twice"):
        Poll.open("ga", "", ("agree", "Agree"), False, T)
    with pytest.raises(BadOptions, match="empty"):
        Poll.open("ga", "", ("agree", " "), False, T)


def test_a_question_too_long_is_refused() -> None:
    with pytest.raises(BadQuestion):
        Poll.open("ga", "why " * 100, DEFAULT_OPTIONS, False, T)


def test_the_latest_key_of_each_caller_counts_once() -> None:
    poll = Poll.open("ga", "Lunch now?", DEFAULT_OPTIONS, False, T)
    assert poll.press(ANA, "1") is not None
    poll.press(ANA, "3")
    poll.press(BEN, "3")
    tally = poll.tally()
    assert [(o.key, o.label, o.count) for o in tally.options] == [
        ("1", "agree", 0),
        ("2", "unsure", 0),
        ("3", "disagree", 2),
    ]
    assert tally.voters == 2


def test_nine_blocks_only_when_the_poll_allows_it_and_names_the_blocker() -> None:
    without = Poll.open("ga", "", DEFAULT_OPTIONS, False, T)
    assert without.press(ANA, "9") is None
    with_block = Poll.open("ga", "", DEFAULT_OPTIONS, True, T)
    choice = with_block.press(ANA, "9")
    assert choice is not None and choice.blocks and choice.label == "block"
    assert with_block.tally().blocks == (ANA,)


def test_keys_after_the_close_change_nothing_and_the_tally_is_kept() -> None:
    poll = Poll.open("ga", "", DEFAULT_OPTIONS, False, T)
    poll.press(ANA, "2")
    poll.close(T + 5)
    assert poll.press(BEN, "1") is None
    assert poll.leave(ANA.channel) is False
    assert poll.tally().voters == 1 and not poll.tally().open


def test_a_caller_who_leaves_an_open_poll_takes_their_answer_with_them() -> None:
    poll = Poll.open("ga", "", DEFAULT_OPTIONS, False, T)
    poll.press(ANA, "2")
    assert poll.leave(ANA.channel) is True
    assert poll.tally().voters == 0


def test_show_json_has_the_documented_shape() -> None:
    poll = Poll.open("ga", "Ready?", ("yes", "no"), True, T)
    poll.press(ANA, "9")
    assert poll.tally().as_json(present=3) == {
        "room": "ga",
        "question": "Ready?",
        "open": True,
        "options": [
            {"key": "1", "label": "yes", "count": 0},
            {"key": "2", "label": "no", "count": 0},
            {"key": "9", "label": "block", "count": 1},
        ],
        "voters": 1,
        "present": 3,
        "blocks": [{"channel": ANA.channel, "caller_id": "5550001", "name": "Ana"}],
    }
