"""`rooms sync` with trunks: stored without their secret, written into pjsip-trunks.conf
(private), and a secret that cannot be read stops the sync before anything changes."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from click.testing import CliRunner, Result

from bridge.cli import main

ROOMS = """\
rooms:
  - name: assembly
    pin: "12345678"
trunks:
  - name: voip
    kind: register
    host: sip.voip.example
    username: "4420790001"
    secret_env: VOIP_TEST_SECRET
    numbers:
      - number: "+442079460000"
        room: assembly
"""


def run_in(state: Path, *args: str, **env: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"IOBRIDGE_STATE_DIR": str(state), **env})


def test_a_sync_stores_the_trunk_and_writes_its_secret_only_into_pjsip(tmp_path: Path) -> None:
    rooms, state = tmp_path / "rooms.yaml", tmp_path / "state"
    rooms.write_text(ROOMS)
    result = run_in(state, "rooms", "sync", str(rooms), VOIP_TEST_SECRET="s3cret-xyz")
    assert result.exit_code == 0, result.output
    assert "+ trunk voip" in result.output
    assert "s3cret-xyz" not in result.output
    written = state / "asterisk" / "etc" / "pjsip-trunks.conf"
    assert "password = s3cret-xyz" in written.read_text()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    database = sqlite3.connect(state / "iobridge.sqlite3")
    dump = "\n".join(database.iterdump())
    database.close()
    assert "s3cret-xyz" not in dump
    assert "+442079460000" in dump


def test_a_secret_that_cannot_be_read_changes_nothing(tmp_path: Path) -> None:
    rooms, state = tmp_path / "rooms.yaml", tmp_path / "state"
    rooms.write_text(ROOMS)
    result = run_in(state, "rooms", "sync", str(rooms), VOIP_TEST_SECRET="")
    assert result.exit_code == 1
    assert result.output.strip().endswith(
        "sync refused, nothing changed: trunk voip: secret_env VOIP_TEST_SECRET is empty or not set"
    )
    assert not (state / "asterisk" / "etc" / "pjsip-trunks.conf").exists()
    assert not (state / "iobridge.sqlite3").exists() or "voip" not in "\n".join(
        sqlite3.connect(state / "iobridge.sqlite3").iterdump()
    )


def test_a_rooms_file_without_trunks_writes_no_pjsip_file(tmp_path: Path) -> None:
    rooms, state = tmp_path / "rooms.yaml", tmp_path / "state"
    rooms.write_text(ROOMS.split("trunks:")[0])
    result = run_in(state, "rooms", "sync", str(rooms))
    assert result.exit_code == 0, result.output
    assert "pjsip" not in result.output
    assert not (state / "asterisk" / "etc" / "pjsip-trunks.conf").exists()


def test_a_sync_speaks_each_rooms_title_once_for_callers_called_in(tmp_path: Path) -> None:
    rooms, state = tmp_path / "rooms.yaml", tmp_path / "state"
    rooms.write_text(
        ROOMS.replace('    pin: "12345678"', '    title: The assembly\n    pin: "12345678"')
    )
    first = run_in(state, "rooms", "sync", str(rooms), VOIP_TEST_SECRET="s3cret-xyz")
    assert first.exit_code == 0, first.output
    assert "room assembly: title prompt spoken (en)" in first.output
    assert (state / "recordings" / "titles" / "assembly.wav").is_file()
    again = run_in(state, "rooms", "sync", str(rooms), VOIP_TEST_SECRET="s3cret-xyz")
    assert again.exit_code == 0, again.output
    assert "title prompt" not in again.output  # the same title: not made again


def test_check_warns_once_when_titles_cannot_be_spoken(tmp_path: Path) -> None:
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(ROOMS.replace("trunks:", '  - name: second\n    pin: "23456789"\ntrunks:'))
    result = run_in(tmp_path / "state", "rooms", "check", str(rooms), PATH=str(tmp_path))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "not installed" in line]
    assert warnings == [
        f"{rooms}: warning: espeak-ng and sox not installed: callers called in hear "
        "\"a conference call\" instead of their room's title (install Debian's packages: "
        "apt-get install espeak-ng sox)"
    ]


def test_a_malformed_trunk_or_a_duplicate_number_refuses_the_file_and_changes_nothing(
    tmp_path: Path,
) -> None:
    rooms, state = tmp_path / "rooms.yaml", tmp_path / "state"
    rooms.write_text(ROOMS)
    assert run_in(state, "rooms", "sync", str(rooms), VOIP_TEST_SECRET="first").exit_code == 0
    written = state / "asterisk" / "etc" / "pjsip-trunks.conf"
    before = written.read_text()
    twice = ROOMS + '      - number: "+44 20 7946 0000"\n'
    no_host = ROOMS.replace("    host: sip.voip.example\n", "")
    refused = {
        twice: f"{rooms}:13: trunks[0].numbers[1].number: duplicate number +442079460000 "
        "(first at line 11)",
        no_host: f"{rooms}:5: trunks[0].host: required key 'host' is missing",
    }
    for text, line in refused.items():
        rooms.write_text(text)
        for command in ("check", "sync"):
            result = run_in(state, "rooms", command, str(rooms), VOIP_TEST_SECRET="second")
            assert result.exit_code == 1, result.output
            assert any(said.startswith(line) for said in result.output.splitlines()), result.output
    assert written.read_text() == before  # the first sync's secret, the first sync's trunk
    dump = "\n".join(sqlite3.connect(state / "iobridge.sqlite3").iterdump())
    assert dump.count("+442079460000") == 1
