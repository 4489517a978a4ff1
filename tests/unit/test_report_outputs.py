"""A report's renderings: the talk-time chart (SVG), the CSV and the plain text."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st

from bridge.domain.events import LeaveReason
from bridge.reports import build_report, report_csv, talk_chart_svg
from bridge.reports.chart import MAX_ROWS
from bridge.reports.csvfile import COLUMNS
from bridge.reports.model import Report
from bridge.reports.rows import CallHistory, CallRow, LegRow, PollRow, TurnRow
from bridge.reports.text import duration, report_lines
from bridge.web.reports import _templates

START = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def sample(names: dict[str, str] | None = None, speakers: int = 3) -> Report:
    names = names or {}
    legs = tuple(
        LegRow(
            f"PJSIP/p{i}-1",
            f"555010{i}",
            names.get(f"555010{i}", ""),
            "participant",
            at(0),
            at(900),
            talk_time=60.0 * (i + 1),
            turns=2,
        )
        for i in range(speakers)
    )
    turns = tuple(
        TurnRow(f"PJSIP/p{i}-1", f"555010{i}", "stack", at(10 * i), at(10 * i + 30), 30.0, "done")
        for i in range(speakers)
    )
    history = CallHistory(CallRow(3, "ga", START, at(900)), legs=legs, turns=turns)
    return build_report(history, redact_caller_ids=False, now=at(1000))


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def test_the_chart_is_an_accessible_svg_with_a_title_and_a_description() -> None:
    root = ET.fromstring(talk_chart_svg(sample()))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == "Talk time in call 3 (room ga)"
    assert desc is not None and "5550102: 3:00, 50 %" in (desc.text or "")
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


def test_the_chart_labels_every_speaker_with_time_and_share_longest_first() -> None:
    shown = texts(talk_chart_svg(sample()))
    labels = [t for t in shown if t.startswith("555010")]
    assert labels == ["5550102", "5550101", "5550100"]
    assert "3:00 · 50 % · first 30 s" in shown
    assert "6 speakers" not in " ".join(shown)
    assert any(t.startswith("3 speakers, 6:00 of talk in a call of 15:00") for t in shown)


def test_the_chart_says_how_much_went_to_first_time_speakers() -> None:
    shown = " ".join(texts(talk_chart_svg(sample())))
    assert "First-time speakers: 25 % of the talk (1:30 of 6:00)." in shown
    assert "first turn (had not spoken before)" in shown  # the legend


def test_a_silent_call_draws_a_chart_that_says_so() -> None:
    history = CallHistory(CallRow(4, "ga", START, at(60)))
    report = build_report(history, redact_caller_ids=False, now=at(60))
    assert "Nobody was heard in this call." in texts(talk_chart_svg(report))


def test_a_name_cannot_break_out_of_the_svg() -> None:
    report = sample({"5550102": '</text><script>alert("x")</script>'})
    svg = talk_chart_svg(report)
    ET.fromstring(svg)  # still well-formed
    assert "<script>" not in svg


def test_many_speakers_end_in_one_others_bar() -> None:
    shown = texts(talk_chart_svg(sample(speakers=MAX_ROWS + 5)))
    assert "6 others" in shown


@given(st.integers(min_value=0, max_value=40))
def test_the_chart_is_well_formed_for_any_number_of_speakers(speakers: int) -> None:
    ET.fromstring(talk_chart_svg(sample(speakers=speakers)))


def test_the_csv_has_a_row_per_fact_with_its_section() -> None:
    rows = list(csv.DictReader(io.StringIO(report_csv(sample()))))
    assert tuple(rows[0]) == COLUMNS
    sections = [r["section"] for r in rows]
    assert sections == ["call"] + ["presence"] * 3 + ["talk"] * 3 + ["first_time"] + ["turn"] * 3
    talk = [r for r in rows if r["section"] == "talk"]
    assert [(r["who"], r["talk_time"], r["share"]) for r in talk] == [
        ("5550102", "180.0", "0.5"),
        ("5550101", "120.0", "0.3333"),
        ("5550100", "60.0", "0.1667"),
    ]
    assert rows[0]["at"] == "2026-03-02T19:00:00+00:00"
    first = next(r for r in rows if r["section"] == "first_time")
    assert first["share"] == "0.25"


def test_a_csv_cell_that_looks_like_a_formula_is_defused_but_a_number_is_not() -> None:
    report = sample({"5550101": '=HYPERLINK("http://x")', "5550100": "+4930 123"})
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    names = {r["who"]: r["name"] for r in rows if r["section"] == "presence"}
    assert names["5550101"].startswith("'=")
    assert names["5550100"] == "+4930 123"


def test_durations_read_as_people_say_them() -> None:
    assert [duration(s) for s in (0, 12.4, 60, 245, 3723)] == [
        "0 s",
        "12 s",
        "1:00",
        "4:05",
        "1:02:03",
    ]


def test_the_text_report_names_the_call_the_speakers_and_the_turns() -> None:
    lines = report_lines(sample())
    assert lines[0].startswith("Call 3 in room ga: 2026-03-02 19:00:00 UTC to")
    assert any(line.strip().startswith("5550102") and "50 %" in line for line in lines)
    assert "Turns:" in lines and "Recordings: none" in lines


def test_every_rendering_says_why_each_caller_left() -> None:
    legs = (
        LegRow("PJSIP/a-1", "5550101", "", "participant", at(0), at(600), 0.0, 0, "timed out"),
        LegRow("PJSIP/b-1", "5550102", "", "participant", at(0), at(700), 0.0, 0, "kicked"),
        LegRow("PJSIP/c-1", "5550103", "", "participant", at(0), at(800), 0.0, 0, None),
        LegRow("PJSIP/d-1", "5550104", "", "participant", at(0), None, 0.0, 0, None),
    )
    report = build_report(
        CallHistory(CallRow(4, "ga", START, None), legs=legs),
        redact_caller_ids=False,
        now=at(900),
    )
    assert [p.leave_reason for p in report.presence] == [
        LeaveReason.TIMED_OUT,
        LeaveReason.KICKED,
        None,
        None,
    ]
    rows = [
        r for r in csv.DictReader(io.StringIO(report_csv(report))) if r["section"] == "presence"
    ]
    assert [r["leave_reason"] for r in rows] == ["timed out", "kicked", "", ""]
    text = "\n".join(report_lines(report))
    assert "(timed out)" in text and "(kicked)" in text
    assert "still there" in text


def test_a_stored_reason_this_version_does_not_know_reads_as_not_known() -> None:
    legs = (LegRow("PJSIP/a-1", "5550101", "", "participant", at(0), at(60), 0.0, 0, "beamed"),)
    report = build_report(
        CallHistory(CallRow(5, "ga", START, at(60)), legs=legs), redact_caller_ids=False, now=at(90)
    )
    assert report.presence[0].leave_reason is None


def test_control_characters_in_a_name_leave_the_svg_well_formed() -> None:
    report = sample({"5550102": "Ann\x00\x07\x1b[31m\x7f\x85 Lee\ufffe"})
    svg = talk_chart_svg(report)
    ET.fromstring(svg)
    assert any("Ann\ufffd\ufffd\ufffd[31m\ufffd\ufffd Lee\ufffd" in t for t in texts(svg))


@given(st.text(max_size=40))
def test_the_chart_is_well_formed_whatever_the_names(name: str) -> None:
    ET.fromstring(talk_chart_svg(sample({"5550101": name})))


def test_a_formula_behind_spaces_or_in_full_width_is_defused_too() -> None:
    names = {
        "5550100": " =1+1",
        "5550101": '\uff1dHYPERLINK("http://x")',  # full-width equals
        "5550102": "\u200b\u3000\uff20SUM(A1)",  # zero-width, ideographic space, full-width at
        "5550103": "\ufe62cmd",  # small plus sign
        "5550104": "Ann = Lee",
    }
    report = sample(names, speakers=5)
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    got = {r["who"]: r["name"] for r in rows if r["section"] == "presence"}
    for who, name in names.items():
        expected = name if who == "5550104" else "'" + name
        assert got[who] == expected, who


# ---- closed polls ---------------------------------------------------------------------------


def with_polls(*polls: PollRow) -> Report:
    history = CallHistory(CallRow(6, "ga", START, at(900)), polls=polls)
    return build_report(history, redact_caller_ids=False, now=at(1000))


ADOPT = PollRow(
    "Adopt the proposal?",
    at(300),
    at(390),
    (("1", "agree", 2), ("2", "unsure", 1), ("3", "disagree", 0), ("9", "block", 1)),
    voters=4,
    present=5,
)
LUNCH = PollRow("", at(100), at(130), (("1", "yes", 3), ("2", "no", 0)), voters=3, present=6)


def test_a_closed_poll_is_in_the_report_with_its_counts_and_the_block_apart() -> None:
    [lunch, adopt] = with_polls(ADOPT, LUNCH).polls  # oldest first
    assert (adopt.question, adopt.opened_at, adopt.closed_at) == (ADOPT.question, at(300), at(390))
    assert [(o.key, o.label, o.count) for o in adopt.options] == [
        ("1", "agree", 2),
        ("2", "unsure", 1),
        ("3", "disagree", 0),
    ]
    assert (adopt.voters, adopt.present, adopt.blocks) == (4, 5, 1)
    assert (lunch.question, lunch.blocks) == ("", None), "no block allowed: none to count"


def test_the_csv_has_a_poll_row_and_a_row_per_answer() -> None:
    rows = list(csv.DictReader(io.StringIO(report_csv(with_polls(ADOPT, LUNCH)))))
    assert tuple(rows[0]) == COLUMNS
    polls = [r for r in rows if r["section"] == "poll"]
    assert [(r["detail"], r["count"], r["present"], r["share"]) for r in polls] == [
        ("", "3", "6", "0.5"),
        ("Adopt the proposal?", "4", "5", "0.8"),
    ]
    assert (polls[1]["at"], polls[1]["until"], polls[1]["seconds"]) == (
        "2026-03-02T19:05:00+00:00",
        "2026-03-02T19:06:30+00:00",
        "90.0",
    )
    answers = [
        (r["kind"], r["name"], r["count"])
        for r in rows
        if r["section"] == "poll_option" and r["detail"] == "Adopt the proposal?"
    ]
    assert answers == [
        ("1", "agree", "2"),
        ("2", "unsure", "1"),
        ("3", "disagree", "0"),
        ("9", "block", "1"),
    ]
    blocks = [r["detail"] for r in rows if r["section"] == "poll_option" and r["kind"] == "9"]
    assert blocks == ["Adopt the proposal?"], "a poll that allowed no block has no block row"


def test_the_text_report_shows_each_poll_its_times_and_its_answers() -> None:
    lines = report_lines(with_polls(ADOPT, LUNCH))
    start = lines.index("Poll: Adopt the proposal?")
    assert lines[start + 1 : start + 5] == [
        "  2026-03-02 19:05:00 UTC to 2026-03-02 19:06:30 UTC: "
        "4 answered out of 5 present, 1 block",
        "  1  agree                    2",
        "  2  unsure                   1",
        "  3  disagree                 0",
    ]
    assert "Poll: (no question)" in lines
    assert any(line.endswith("3 answered out of 6 present") for line in lines)
    assert not [line for line in report_lines(sample()) if line.startswith("Poll")]


def test_the_report_page_shows_each_poll_and_says_when_there_was_none() -> None:
    def page(report: Report) -> str:
        template = _templates().get_template("call_report.html")
        return template.render(report=report, chart="", csv_href="x.csv", csrf="", may_purge=False)

    html = page(with_polls(ADOPT, LUNCH))
    assert "<h3>Adopt the proposal?</h3>" in html
    assert (
        "Open from 2026-03-02 19:05:00 UTC to 2026-03-02 19:06:30 UTC: "
        "4 answered out of 5 present, 1 block." in html
    )
    assert '<tr><td>2</td><td>unsure</td><td class="num">1</td></tr>' in html
    assert '<tr><td>9</td><td>block</td><td class="num">1</td></tr>' in html
    assert html.index("(no question)") < html.index("Adopt the proposal?")
    assert "No poll was closed in this call." in page(sample())


def test_the_api_report_carries_the_polls() -> None:
    shown = json.loads(with_polls(ADOPT).model_dump_json())
    assert shown["polls"] == [
        {
            "question": "Adopt the proposal?",
            "opened_at": "2026-03-02T19:05:00Z",
            "closed_at": "2026-03-02T19:06:30Z",
            "options": [
                {"key": "1", "label": "agree", "count": 2},
                {"key": "2", "label": "unsure", "count": 1},
                {"key": "3", "label": "disagree", "count": 0},
            ],
            "voters": 4,
            "present": 5,
            "blocks": 1,
        }
    ]
