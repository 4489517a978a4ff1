"""``iobridge directory import FILE.csv`` and the rooms file's ``directory:``: known numbers
in the database, a bad line refused with its line and nothing changed, the file's entries
replaced at each sync and imported ones kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.cli.test_cli_rooms import VALID, Invoke, database_file, iobridge, state_dir

__all__ = ["database_file", "iobridge", "state_dir"]  # the fixtures, shared


def known(database_file: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(database_file) as db:
        rows = db.execute("SELECT number, name, place, source FROM known_callers ORDER BY number")
        return [tuple(row) for row in rows]


def test_an_import_adds_known_numbers_and_a_bad_number_changes_nothing(
    iobridge: Invoke, tmp_path: Path, database_file: Path
) -> None:
    good = tmp_path / "people.csv"
    good.write_text("number,name,place\n+1 555 012 3456,Alex,Occupy Oakland\n5550199,Bo,\n")
    result = iobridge("directory", "import", str(good))
    assert result.exit_code == 0, result.output
    assert "+ known number +15550123456 (Alex, Occupy Oakland)" in result.output
    before = known(database_file)
    assert before == [
        ("+15550123456", "Alex", "Occupy Oakland", "import"),
        ("5550199", "Bo", "", "import"),
    ]

    bad = tmp_path / "more.csv"
    bad.write_text("5550100,Cy,Boston\n555-CALL,Di,Austin\n")
    result = iobridge("directory", "import", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:2: number: expected a phone number like" in result.output
    assert "nothing imported" in result.output
    assert known(database_file) == before


def test_a_sync_replaces_the_file_s_numbers_and_keeps_imported_ones(
    iobridge: Invoke, tmp_path: Path, database_file: Path
) -> None:
    imported = tmp_path / "people.csv"
    imported.write_text("5550199,Bo,Boston\n")
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(VALID + 'directory:\n  - number: "+1 555 012 3456"\n    name: Alex\n')
    assert iobridge("rooms", "sync", str(rooms)).exit_code == 0
    assert iobridge("directory", "import", str(imported)).exit_code == 0
    rooms.write_text(VALID)
    result = iobridge("rooms", "sync", str(rooms))
    assert result.exit_code == 0, result.output
    assert "- known number +15550123456" in result.output
    assert known(database_file) == [("5550199", "Bo", "Boston", "import")]
