"""The directory of known numbers: numbers normalised or refused with what was expected,
the rooms file's ``directory:`` and the import's CSV checked line by line."""

from __future__ import annotations

import pytest

from bridge.domain.known_callers import BadNumber, known_caller, normalise_number, number_key
from bridge.domain.labels import BadLabel
from bridge.roomsfile import RoomsFileError, parse_rooms_text
from bridge.roomsfile.known_callers_csv import read_directory_csv


@pytest.mark.parametrize(
    ("written", "kept"),
    [("+1 (555) 012-3456", "+15550123456"), ("555.0123", "5550123"), (" 5550123 ", "5550123")],
)
def test_a_number_is_kept_as_its_digits_and_leading_plus(written: str, kept: str) -> None:
    assert normalise_number(written) == kept


@pytest.mark.parametrize("bad", ["", "12", "555-CALL-NOW", "++15550123", "1" * 16, "=1+2"])
def test_what_is_not_a_number_is_refused_saying_what_was_expected(bad: str) -> None:
    with pytest.raises(BadNumber, match="expected a phone number like"):
        normalise_number(bad)


def test_a_caller_id_matches_a_number_by_its_digits() -> None:
    assert number_key("+15550123456") == number_key("15550123456")


def test_a_known_caller_s_label_is_name_and_place_and_checked() -> None:
    assert known_caller("5550123", "Alex", "Occupy Oakland").label == "Alex, Occupy Oakland"
    with pytest.raises(BadLabel):
        known_caller("5550123", "A" * 60, "B" * 30)
    with pytest.raises(BadLabel):
        known_caller("5550123", "Alex\u0007")


def test_the_rooms_file_directory_reports_each_problem_with_its_line() -> None:
    text = (
        'rooms:\n  - name: ga\n    pin: "424242"\n'
        "directory:\n"
        '  - number: "+1 555 012 3456"\n    name: Alex\n    place: Occupy Oakland\n'
        '  - number: "555-CALL"\n    name: Bo\n'
        '  - number: "15550123456"\n    name: Cy\n'
        '  - number: "+15550123456"\n    name: Di\n'
        '  - number: "5550199"\n    nmae: Ed\n'
    )
    with pytest.raises(RoomsFileError) as info:
        parse_rooms_text(text, "rooms.yaml")
    assert [str(p) for p in info.value.problems] == [
        "rooms.yaml:8: directory[1].number: expected a phone number like '+1 555 012 3456'"
        " (3-15 digits, spaces, dashes and a leading + allowed), got '555-CALL'",
        "rooms.yaml:10: directory[2].number: number 15550123456 is listed twice (first at line 5)",
        "rooms.yaml:12: directory[3].number: number +15550123456 is listed twice (first at line 5)",
        "rooms.yaml:14: directory[4].name: required key 'name' is missing",
        "rooms.yaml:15: directory[4].nmae: unknown key 'nmae' (expected one of: number, name,"
        " place); did you mean 'name'?",
    ]


def test_a_good_directory_is_read_with_numbers_normalised() -> None:
    text = (
        'rooms:\n  - name: ga\n    pin: "424242"\n'
        'directory:\n  - number: "+1 555 012 3456"\n    name: Alex\n    place: Oakland\n'
    )
    config = parse_rooms_text(text, "rooms.yaml")
    assert [(k.number, k.label) for k in config.directory] == [("+15550123456", "Alex, Oakland")]
    assert config.summary() == "1 room, 0 moderators, 1 known number"


def test_a_csv_with_a_bad_number_names_its_line_and_imports_nothing() -> None:
    text = "number,name,place\n+1 555 012 3456,Alex,Oakland\n555-CALL,Bo,\n5550199,Cy\nx\n"
    known, problems = read_directory_csv(text, "people.csv")
    assert [str(p) for p in problems] == [
        "people.csv:3: number: expected a phone number like '+1 555 012 3456' (3-15 digits,"
        " spaces, dashes and a leading + allowed), got '555-CALL'",
        "people.csv:5: line: expected number,name,place; got 1 field",
    ]
    assert [k.label for k in known] == ["Alex, Oakland", "Cy"]


def test_a_csv_formula_is_not_a_number() -> None:
    _, problems = read_directory_csv('=HYPERLINK("x"),Alex,Oakland\n', "people.csv")
    assert [p.line for p in problems] == [1]
