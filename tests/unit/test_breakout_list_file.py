"""`iobridge breakout ROOM start --by list --file FILE.yaml`: the list file read before
anything is sent; a mistake is one line naming the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli.breakouts import read_list


def failure(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "groups.yaml"
    path.write_text(text)
    with pytest.raises(SystemExit) as exited:
        read_list(path)
    assert exited.value.code == 1
    return capsys.readouterr().err.strip()


def test_a_list_file_names_groups_and_callers_as_written(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text('group-1: ["+15551230001", 0049301234]\npairs:\n  - PJSIP/anonymous-0000002a\n')
    assert read_list(path) == {
        "group-1": ["+15551230001", "0049301234"],  # the zeros kept
        "pairs": ["PJSIP/anonymous-0000002a"],
    }


def test_mistakes_are_one_line_with_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "groups.yaml"
    assert failure(tmp_path, "- a\n- b\n", capsys) == (
        f"iobridge: {path}:1: must be a mapping of group names to lists of caller IDs or channels"
    )
    assert failure(tmp_path, "group-1: [a]\ngroup-2: b\n", capsys) == (
        f'iobridge: {path}:2: each group is a name and a list, like group-1: ["+15551230001"]'
    )
    assert failure(tmp_path, "group-1:\n  - a\n  - [b]\n", capsys) == (
        f"iobridge: {path}:3: group-1: a caller ID or channel"
    )
    assert failure(tmp_path, "group-1: [a\n", capsys).startswith(f"iobridge: {path}:2: not YAML")


def test_a_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        read_list(tmp_path / "nowhere.yaml")
    assert capsys.readouterr().err.startswith(f"iobridge: {tmp_path / 'nowhere.yaml'}: cannot read")
