"""Building a post-call report from history rows: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st

from bridge.domain.privacy import mask_number
from bridge.recordings import recording_name
from bridge.reports import build_report
from bridge.reports.rows import (
    AuditRow,
    CallHistory,
    CallRow,
    LegRow,
    RecordingFile,
    RecordingStartRow,
    StackEventRow,
    StintRow,
    TurnRow,
)

START = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
END = START + timedelta(minutes=30)
NOW = END + timedelta(hours=1)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def leg(
    caller_id: str,
    joined: float,
    left: float | None,
    talk: float = 0.0,
    turns: int = 0,
    *,
    channel: str | None = None,
    name: str = "",
    role: str = "participant",
) -> LegRow:
    return LegRow(
        channel=channel or f"PJSIP/{caller_id}-1",
        caller_id=caller_id,
        caller_name=name,
        role=role,
        joined_at=at(joined),
        left_at=None if left is None else at(left),
        talk_time=talk,
        turns=turns,
    )


def turn(caller_id: str, start: float, end: float, talk: float, lane: str = "stack") -> TurnRow:
    return TurnRow(f"PJSIP/{caller_id}-1", caller_id, lane, at(start), at(end), talk, "done")


CALL = CallRow(id=7, room="ga", started_at=START, ended_at=END)


def report(history: CallHistory, files: tuple[RecordingFile, ...] = (), redact: bool = False):
    return build_report(history, files, redact_caller_ids=redact, now=NOW)


def test_the_call_says_when_it_ran_and_for_how_long() -> None:
    built = report(CallHistory(CALL))
    assert (built.call.id, built.call.room) == (7, "ga")
    assert built.call.duration == 1800
    assert built.caller_ids == "full"


def test_a_call_still_going_on_lasts_until_now() -> None:
    live = CallRow(id=8, room="ga", started_at=START, ended_at=None)
    assert report(CallHistory(live)).call.duration == (NOW - START).total_seconds()


def test_presence_lists_every_stay_with_who_when_and_talk() -> None:
    history = CallHistory(
        CALL,
        legs=(
            leg("5550101", 0, 600, talk=42.5, turns=2, name="Ana"),
            leg("5550102", 10, None, talk=0.0),
        ),
    )
    built = report(history)
    ana, other = built.presence
    assert (ana.who, ana.name, ana.stayed, ana.talk_time, ana.turns) == (
        "5550101",
        "Ana",
        600,
        42.5,
        2,
    )
    assert other.left_at is None and other.stayed == 1790  # until the call ended


def test_talk_time_adds_up_a_persons_stays_and_gives_shares() -> None:
    history = CallHistory(
        CALL,
        legs=(
            leg("5550101", 0, 100, talk=30, turns=1, channel="PJSIP/a-1"),
            leg("5550101", 200, 400, talk=30, turns=1, channel="PJSIP/a-2"),  # called back
            leg("5550102", 0, 400, talk=20, turns=1),
            leg("5550103", 0, 400, talk=0),
        ),
    )
    talk = report(history).talk
    assert talk.total_talk == 80
    assert [(s.who, s.talk_time, s.share) for s in talk.speakers] == [
        ("5550101", 60, 0.75),
        ("5550102", 20, 0.25),
    ]


def test_anonymous_callers_are_told_apart_by_their_channel() -> None:
    history = CallHistory(
        CALL,
        legs=(
            leg("anonymous", 0, 100, talk=10, turns=1, channel="PJSIP/anonymous-1"),
            leg("anonymous", 0, 100, talk=30, turns=1, channel="PJSIP/anonymous-2"),
        ),
    )
    assert [s.talk_time for s in report(history).talk.speakers] == [30, 10]


def test_first_time_speakers_share_comes_from_each_persons_first_turn() -> None:
    history = CallHistory(
        CALL,
        legs=(leg("5550101", 0, 900, talk=50, turns=2), leg("5550102", 0, 900, talk=50, turns=1)),
        turns=(
            turn("5550101", 10, 40, talk=20),
            turn("5550102", 50, 110, talk=50, lane="direct"),
            turn("5550101", 200, 240, talk=30),
        ),
    )
    built = report(history)
    assert built.talk.first_time_basis == "turns"
    assert built.talk.first_time_talk == 70  # 20 from 5550101's first turn, 50 from 5550102
    assert built.talk.first_time_share == 0.7
    assert [t.first_time for t in built.turns] == [True, True, False]
    assert [(t.lane, t.length) for t in built.turns] == [
        ("stack", 30),
        ("direct", 60),
        ("stack", 40),
    ]


def test_without_turns_a_call_where_everyone_spoke_once_is_all_first_time() -> None:
    history = CallHistory(CALL, legs=(leg("5550101", 0, 9, talk=5, turns=1), leg("5550102", 0, 9)))
    talk = report(history).talk
    assert (talk.first_time_basis, talk.first_time_share) == ("roster", 1.0)


def test_without_turns_several_turns_leave_the_first_time_share_unknown() -> None:
    history = CallHistory(
        CALL, legs=(leg("5550101", 0, 9, talk=5, turns=3), leg("5550102", 0, 9, talk=5, turns=1))
    )
    talk = report(history).talk
    assert (talk.first_time_basis, talk.first_time_talk, talk.first_time_share) == (
        "unknown",
        None,
        None,
    )
    by_who = {s.who: s.first_time_talk for s in talk.speakers}
    assert by_who == {"5550101": None, "5550102": 5}


def test_without_rights_caller_ids_show_their_last_two_digits_and_no_names() -> None:
    history = CallHistory(
        CALL,
        legs=(leg("5550123", 0, 60, talk=5, turns=1, name="Ana"),),
        turns=(turn("5550123", 1, 9, talk=5),),
        stack_events=(StackEventRow(at(1), "hand_raised", "PJSIP/x-1", "5550123", "stack", ""),),
        audit=(AuditRow(at(2), "alice", "mute", "5550123", "ok"),),
    )
    built = report(history, redact=True)
    assert built.caller_ids == "masked"
    assert [p.who for p in built.presence] == ["…23"]
    assert [p.name for p in built.presence] == [""]
    assert built.talk.speakers[0].who == "…23"
    assert built.turns[0].who == "…23" and built.turns[0].name == ""
    assert built.stack_events[0].who == "…23"
    assert built.moderator_actions[0].target == "…23"
    assert "5550123" not in built.model_dump_json()
    assert "Ana" not in built.model_dump_json()


def test_an_assistant_reads_masked_numbers_and_names_but_a_name_that_is_a_number_masked() -> None:
    history = CallHistory(
        CALL,
        legs=(
            leg("+15550123499", 0, 60, talk=5, turns=1, name="Ana, Oakland"),
            leg("+15550123477", 0, 60, talk=3, turns=1, name="+15550123477"),
        ),
        turns=(turn("+15550123499", 1, 9, talk=5),),
        stack_events=(
            StackEventRow(at(1), "hand_raised", "PJSIP/x-1", "+15550123499", "stack", ""),
        ),
        audit=(AuditRow(at(2), "alice", "mute", "PJSIP/+15550123499-1", "ok"),),
    )
    built = build_report(history, redact_caller_ids=False, now=NOW, numbers=mask_number)
    assert built.caller_ids == "masked"
    assert [(p.who, p.name) for p in built.presence] == [
        ("+1 555 *** **99", "Ana, Oakland"),
        ("+1 555 *** **77", "+1 555 *** **77"),
    ]
    assert built.turns[0].who == "+1 555 *** **99" and built.turns[0].name == "Ana, Oakland"
    assert built.stack_events[0].who == "+1 555 *** **99"
    assert built.moderator_actions[0].target == "+1 555 *** **99"
    assert "0123499" not in built.model_dump_json() and "0123477" not in built.model_dump_json()


def test_without_rights_a_channel_shows_as_whose_it_was() -> None:
    history = CallHistory(
        CALL,
        legs=(leg("5550123", 0, 60, channel="PJSIP/trunk-5550123-00000001"),),
        audit=(AuditRow(at(2), "alice", "kick", "PJSIP/trunk-5550123-00000001", "ok"),),
    )
    masked = report(history, redact=True)
    assert masked.moderator_actions[0].target == "…23"
    assert masked.presence[0].channel == ""
    full = report(history)
    assert full.moderator_actions[0].target == "PJSIP/trunk-5550123-00000001"
    assert full.presence[0].channel == "PJSIP/trunk-5550123-00000001"


def test_a_purged_call_shows_its_pseudonyms_to_everyone() -> None:
    purged = CallRow(id=7, room="ga", started_at=START, ended_at=END, redacted=True)
    history = CallHistory(purged, legs=(leg("caller 1", 0, 60, talk=5, turns=1),))
    for redact in (False, True):
        built = report(history, redact=redact)
        assert built.caller_ids == "pseudonyms"
        assert built.presence[0].who == "caller 1"


def test_recordings_are_the_rooms_files_from_the_call_with_who_started_them() -> None:
    local = START.astimezone()  # file names carry the bridge's local time
    mine = recording_name("ga", local + timedelta(seconds=3))
    auto = recording_name("ga", local + timedelta(minutes=5))
    files = (
        RecordingFile(mine, 160_044, 10.0),
        RecordingFile(auto, 16_044, 1.0),
        RecordingFile(recording_name("ga", local - timedelta(days=1)), 1, 1.0),  # another call
        RecordingFile(recording_name("ga-2", local + timedelta(seconds=3)), 1, 1.0),  # other room
        RecordingFile("notes.wav", 1, 1.0),
    )
    history = CallHistory(
        CALL,
        recording_starts=(
            RecordingStartRow(mine, at(3), "admin"),
            RecordingStartRow(recording_name("ga", local + timedelta(minutes=9)), at(540), "bob"),
        ),
    )
    built = report(history, files)
    assert [(r.file, r.started_by, r.on_disk) for r in built.recordings] == [
        (mine, "admin", True),
        (auto, "unknown", True),
        (recording_name("ga", local + timedelta(minutes=9)), "bob", False),
    ]
    assert built.recordings[0].duration == 10.0


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["5550101", "5550102", "5550103", "anonymous"]),
            st.floats(min_value=0, max_value=600, allow_nan=False),
            st.integers(min_value=0, max_value=4),
        ),
        max_size=12,
    )
)
def test_shares_never_exceed_the_whole_and_add_up_to_it(
    stays: list[tuple[str, float, int]],
) -> None:
    legs = tuple(
        leg(cid, 0, 60, talk=talk, turns=turns, channel=f"PJSIP/{cid}-{i}")
        for i, (cid, talk, turns) in enumerate(stays)
    )
    talk = report(CallHistory(CALL, legs=legs)).talk
    assert abs(talk.total_talk - sum(t for _, t, _ in stays)) < 0.05
    assert all(0 <= s.share <= 1 for s in talk.speakers)
    if talk.total_talk > 0:
        assert abs(sum(s.share for s in talk.speakers) - 1) < 0.01
    if talk.first_time_share is not None:
        assert 0 <= talk.first_time_share <= 1


def test_breakout_stints_say_who_was_in_which_group_for_how_long_masked_for_outsiders() -> None:
    history = CallHistory(
        CALL,
        legs=(leg("5550101", 0, 900), leg("5550102", 0, 900)),
        stints=(
            StintRow("group-2", "PJSIP/b-2", "5550102", "Bo", at(60), at(660)),
            StintRow("group-1", "PJSIP/a-1", "5550101", "", at(60), at(300)),
            StintRow("group-2", "PJSIP/a-1", "5550101", "", at(300), at(660)),
        ),
    )
    built = report(history)
    assert [(s.group, s.who, s.name, s.seconds) for s in built.breakouts] == [
        ("group-1", "5550101", "", 240.0),
        ("group-2", "5550102", "Bo", 600.0),  # by group, then from when
        ("group-2", "5550101", "", 360.0),
    ]
    outsider = report(history, redact=True).breakouts
    assert {s.name for s in outsider} == {""} and {s.channel for s in outsider} == {""}
    assert all(s.who.endswith(("01", "02")) and "55501" not in s.who for s in outsider)
