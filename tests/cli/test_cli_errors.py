"""Every failure an admin can cause is one line naming the setting or the thing and what to
do, with exit code 1; the traceback only with --debug. And the scriptable side: --json,
--version, a password from stdin."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner, Result
from pydantic import ValidationError

from bridge.cli import main
from tests.support import free_port

Invoke = Callable[..., Result]


@pytest.fixture
def iobridge(tmp_path: Path) -> Invoke:
    def invoke(*args: str, input: str | None = None, **env: str) -> Result:
        env = {"IOBRIDGE_STATE_DIR": str(tmp_path / "state"), **env}
        return CliRunner().invoke(main, list(args), env=env, input=input)

    return invoke


def one_line(result: Result) -> str:
    """The failure's single line (asserting there is one, exit 1, and no traceback)."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("iobridge: ")
    return lines[0].removeprefix("iobridge: ")


def test_a_setting_that_is_not_a_number_is_named_with_its_value(iobridge: Invoke) -> None:
    line = one_line(iobridge("rooms", "list", IOBRIDGE_SIP_PORT="abc"))
    assert line.startswith("IOBRIDGE_SIP_PORT=abc: Input should be a valid integer")


def test_a_local_net_that_is_not_a_network_is_named(iobridge: Invoke) -> None:
    line = one_line(iobridge("rooms", "list", IOBRIDGE_LOCAL_NET="10.0.0.0/8, lan"))
    assert (
        line
        == "IOBRIDGE_LOCAL_NET=10.0.0.0/8, lan: not a network: 'lan' (expected e.g. 192.168.0.0/16)"
    )


def test_debug_shows_the_traceback_instead(iobridge: Invoke) -> None:
    result = iobridge("--debug", "rooms", "list", IOBRIDGE_SIP_PORT="abc")
    assert isinstance(result.exception, ValidationError)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "not a url",
            "IOBRIDGE_DATABASE_URL is not a database URL: expected "
            "postgresql://user:password@host/dbname or sqlite:////path/to/file.sqlite3",
        ),
        (
            "oracle+nothing://scott:tiger@db/x",
            "IOBRIDGE_DATABASE_URL: unknown kind of database 'oracle+nothing': expected "
            "postgresql://user:password@host/dbname or sqlite:////path/to/file.sqlite3",
        ),
        (
            "mysql://bridge:secret@localhost/bridge",
            "IOBRIDGE_DATABASE_URL: the driver 'MySQLdb' is not installed; "
            "write postgresql://... (asyncpg) or sqlite:///... (aiosqlite)",
        ),
        (
            "postgresql+psycopg2://bridge:secret@localhost/bridge",
            "IOBRIDGE_DATABASE_URL: the driver 'psycopg2' is not installed; "
            "write postgresql://... (asyncpg) or sqlite:///... (aiosqlite)",
        ),
        (
            "sqlite+pysqlite:////tmp/x.sqlite3",
            "IOBRIDGE_DATABASE_URL: 'sqlite+pysqlite' is not an async driver; "
            "write postgresql://... (asyncpg) or sqlite:///... (aiosqlite)",
        ),
    ],
)
def test_an_unusable_database_url_is_one_line(iobridge: Invoke, url: str, expected: str) -> None:
    assert one_line(iobridge("db", "upgrade", IOBRIDGE_DATABASE_URL=url)) == expected


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_database_that_is_down_is_named_without_its_password(
    iobridge: Invoke, scheme: str
) -> None:
    port = free_port()
    url = f"{scheme}://bridge:secret@127.0.0.1:{port}/bridge"
    for command in (("db", "upgrade"), ("rooms", "list"), ("lockouts", "list")):
        line = one_line(iobridge(*command, IOBRIDGE_DATABASE_URL=url))
        assert line == (
            f"cannot reach the database postgresql+asyncpg://bridge:***@127.0.0.1:{port}/bridge: "
            "connection refused (is it running? check IOBRIDGE_DATABASE_URL)"
        )


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgres_urls_work_as_an_admin_types_them(
    iobridge: Invoke, postgres_url: str, scheme: str
) -> None:
    url = postgres_url.replace("postgresql+asyncpg", scheme)
    result = iobridge("db", "upgrade", IOBRIDGE_DATABASE_URL=url)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "database is up to date"


def test_a_state_folder_that_cannot_be_made_is_named(iobridge: Invoke, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    state = tmp_path / "a-file" / "state"
    line = one_line(iobridge("db", "upgrade", IOBRIDGE_STATE_DIR=str(state)))
    # (the PIN key is made there before the database is opened)
    assert line == f"{state}: Not a directory (check IOBRIDGE_STATE_DIR and its owner)"


def test_a_port_in_use_names_its_setting_before_asterisk_is_asked_anything(
    iobridge: Invoke, tmp_path: Path
) -> None:
    with socket.socket() as holder, socket.socket() as ami:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        ami.bind(("127.0.0.1", 0))  # where the service would look for Asterisk
        ami.listen()
        ami.setblocking(False)
        line = one_line(
            iobridge(
                "serve",
                IOBRIDGE_HTTP_PORT=str(port),
                IOBRIDGE_AGI_PORT=str(free_port()),
                IOBRIDGE_AMI_PORT=str(ami.getsockname()[1]),
            )
        )
        with pytest.raises(BlockingIOError):
            ami.accept()  # nobody knocked
    assert line == (
        f"port {port}/tcp (panel) is already in use: stop what holds it or set IOBRIDGE_HTTP_PORT"
    )


def test_up_on_another_address_refuses_to_start_without_a_rooms_file(
    iobridge: Invoke, tmp_path: Path
) -> None:
    ports = {f"IOBRIDGE_{name}_PORT": str(free_port()) for name in ("SIP", "AMI", "AGI", "HTTP")}
    line = one_line(iobridge("up", "--host", "0.0.0.0", **ports))
    assert line == (
        "no rooms yet and no rooms file: write your own (see docs/admin.md) and "
        "set IOBRIDGE_ROOMS_FILE (the example rooms are only for up on 127.0.0.1)"
    )
    assert not (tmp_path / "state" / "asterisk").exists(), "refused before Asterisk started"


@pytest.mark.parametrize("command", [("room", "ga", "status"), ("room", "ga", "lock"), ("health",)])
def test_a_stack_that_is_not_running_is_one_line(
    iobridge: Invoke, tmp_path: Path, command: tuple[str, ...]
) -> None:
    line = one_line(iobridge(*command))
    assert line == f"no running stack for {tmp_path / 'state'} (start it with: iobridge up)"


def test_an_unexpected_failure_is_still_one_line(
    iobridge: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("something nobody planned for\nsecond line")

    monkeypatch.setattr("bridge.cli.rooms.settings", broken)
    assert one_line(iobridge("rooms", "list")) == (
        "unexpected error: RuntimeError: something nobody planned for "
        "(run with --debug for the traceback)"
    )


# ---- for scripts ------------------------------------------------------------------------


def test_version(iobridge: Invoke) -> None:
    result = iobridge("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("iobridge, version ")


def test_listings_speak_json(iobridge: Invoke, tmp_path: Path) -> None:
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text('rooms:\n  - name: ga\n    pin: "731904"\n')
    assert iobridge("rooms", "sync", str(rooms)).exit_code == 0

    listed = json.loads(iobridge("rooms", "list", "--json").stdout)
    assert listed == [
        {
            "name": "ga",
            "title": "ga",
            "live": None,
            "max_participants": 500,
            "queue": "fifo",
            "origin": "file",
            "closes_at": None,
        }
    ]
    with_pins = json.loads(iobridge("rooms", "list", "--json", "--pins-from", str(rooms)).stdout)
    assert with_pins[0]["pin"] == "731904"
    assert json.loads(iobridge("lockouts", "list", "--json").stdout) == []
    assert json.loads(iobridge("recordings", "list", "--json").stdout) == []


def test_a_password_on_the_command_line_is_hashed_with_a_warning(iobridge: Invoke) -> None:
    result = iobridge("moderators", "hash-password", "--password", "x")
    assert result.exit_code == 0
    assert result.stdout.startswith("$argon2id$")
    assert "pipe it on stdin instead" in result.stderr


@pytest.mark.parametrize(
    ("webhooks", "expected"),
    [
        (
            '[{"url": "ftp://example.org/hook", "secret": "hush-hush"}]',
            "IOBRIDGE_WEBHOOKS[0].url: expected an http:// or https:// URL with a host",
        ),
        (
            '[{"url": "https://example.org/hook", "secret": "hush-hush", "secret_file": "/s"}]',
            "IOBRIDGE_WEBHOOKS[0]: give a secret or a secret_file (one of them)",
        ),
        (
            '{"url": "https://example.org/hook"',
            'error parsing value for field "webhooks" from source "EnvSettingsSource" '
            "(a list or an object is given as JSON)",
        ),
    ],
)
def test_a_bad_webhook_stops_the_start_in_one_line_without_its_secret(
    iobridge: Invoke, webhooks: str, expected: str
) -> None:
    result = iobridge("serve", IOBRIDGE_WEBHOOKS=webhooks)
    assert one_line(result) == expected
    assert "hush-hush" not in result.output


# ---- a state folder with no database -------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("rooms", "list"),
        ("calls", "list"),
        ("calls", "report", "1"),
        ("tokens", "list"),
        ("tokens", "create", "--user", "alice"),
        ("lockouts", "list"),
        ("lockouts", "clear", "203.0.113.7"),
        ("history", "purge"),
    ],
)
def test_a_command_on_a_state_folder_without_a_database_says_so_and_makes_nothing(
    iobridge: Invoke, tmp_path: Path, command: tuple[str, ...]
) -> None:
    line = one_line(iobridge(*command))
    state = tmp_path / "state"
    assert line.startswith(f"no io-bridge database in {state} (IOBRIDGE_STATE_DIR): ")
    assert "iobridge db upgrade" in line
    assert not (state / "iobridge.sqlite3").exists()
    assert not (state / "pin-key").exists()


@pytest.mark.postgres
def test_an_empty_postgresql_database_is_not_taken_for_io_bridges(
    iobridge: Invoke, postgres_url: str
) -> None:
    name = f"empty_{os.getpid()}"
    admin = postgres_url.replace("postgresql+asyncpg", "postgresql")

    async def create() -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(f"CREATE DATABASE {name}")
        finally:
            await connection.close()

    asyncio.run(create())
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    line = one_line(iobridge("tokens", "list", IOBRIDGE_DATABASE_URL=url))
    assert line.startswith("no io-bridge database in IOBRIDGE_DATABASE_URL's database")


@pytest.mark.parametrize("command", [("db", "upgrade"), ("rooms", "sync")])
def test_the_commands_that_make_a_database_still_do(
    iobridge: Invoke, tmp_path: Path, command: tuple[str, ...]
) -> None:
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text('rooms:\n  - name: ga\n    pin: "731904"\n')
    args = (*command, str(rooms)) if command[-1] == "sync" else command
    assert iobridge(*args).exit_code == 0
    assert (tmp_path / "state" / "iobridge.sqlite3").is_file()
    assert iobridge("rooms", "list").exit_code == 0


# ---- settings an admin mistypes ------------------------------------------------------------


def test_a_log_level_that_is_not_one_is_named(iobridge: Invoke) -> None:
    line = one_line(iobridge("rooms", "list", IOBRIDGE_LOG_LEVEL="verbose"))
    assert line == (
        "IOBRIDGE_LOG_LEVEL=verbose: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
    )


def test_a_variable_no_setting_reads_is_warned_about_with_the_likely_setting() -> None:
    from bridge.settings import unread_variables

    environ = {
        "IOBRIDGE_RTP_START": "30000",
        "IOBRIDGE_SIP_PORT": "5061",
        "iobridge_http_port": "8081",  # read: settings ignore the case
        "IOBRIDGE_WHATEVER": "1",
        "HOME": "/root",
    }
    assert unread_variables(environ) == [
        "IOBRIDGE_RTP_START is set but no setting reads it (did you mean "
        "IOBRIDGE_RTP_PORT_START?); it is ignored",
        "IOBRIDGE_WHATEVER is set but no setting reads it; it is ignored",
    ]


def test_dash_h_is_help_everywhere(iobridge: Invoke) -> None:
    for args in (("-h",), ("db", "-h"), ("db", "backup", "-h"), ("asterisk", "ensure", "-h")):
        result = iobridge(*args)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("Usage: ")


def test_up_warns_about_a_mistyped_variable_before_anything_else(
    iobridge: Invoke, tmp_path: Path
) -> None:
    result = iobridge(
        "up",
        IOBRIDGE_ROOMS_FILE=str(tmp_path / "missing.yaml"),
        IOBRIDGE_HTTP_PROT="8081",
        IOBRIDGE_SIP_PORT=str(free_port()),
        IOBRIDGE_HTTP_PORT=str(free_port()),
        IOBRIDGE_AMI_PORT=str(free_port()),
        IOBRIDGE_AGI_PORT=str(free_port()),
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "iobridge: warning: IOBRIDGE_HTTP_PROT is set but no setting reads it "
        "(did you mean IOBRIDGE_HTTP_PORT?); it is ignored"
    )
