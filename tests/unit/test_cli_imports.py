"""``iobridge X`` imports X's module alone, and nothing heavy until the command needs it: a
moderator's ``iobridge stack ROOM next`` starts in a fraction of a second (bench/cli_start.py
measures it; this guards what it measured without timing anything)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click.testing
import pytest

from bridge.cli.base import COMMAND_MODULES

HEAVY = ("sqlalchemy", "alembic", "aiohttp", "panoramisk", "jinja2", "bridge.service")


def _modules_after(code: str, state_dir: Path | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    env = {**os.environ, **({"IOBRIDGE_STATE_DIR": str(state_dir)} if state_dir else {})}
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def _heavy(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY))


@pytest.mark.parametrize(
    "argv", [["stack", "a-room", "next"], ["stack", "a-room", "show", "--json"], ["health"]]
)
def test_a_command_that_calls_the_api_imports_no_database_web_or_ami_library(
    argv: list[str], tmp_path: Path
) -> None:
    # No running stack in tmp_path: the command goes all the way to finding the running
    # service (the runtime file) and fails in one line; what it imported on the way counts.
    loaded = _modules_after(
        "from bridge.cli import main\n"
        f"try:\n    main({argv!r}, prog_name='iobridge')\nexcept SystemExit as exit:\n"
        "    assert exit.code == 1, exit.code",
        state_dir=tmp_path,
    )
    assert _heavy(loaded) == []


def test_resolving_any_command_imports_no_database_web_or_ami_library() -> None:
    loaded = _modules_after(
        "import click\nfrom bridge.cli import main\nctx = click.Context(main)\n"
        "assert all(main.get_command(ctx, name) for name in main.list_commands(ctx))"
    )
    assert _heavy(loaded) == []


def test_resolving_one_command_imports_only_its_own_module() -> None:
    loaded = _modules_after(
        "import click\nfrom bridge.cli import main\nmain.get_command(click.Context(main), 'stack')"
    )
    assert sorted(m for m in loaded if m.startswith("bridge.cli.")) == [
        "bridge.cli.base",
        "bridge.cli.speaker_stack",
    ]


def test_every_command_is_found_in_the_module_the_table_names() -> None:
    from bridge.cli import main

    for module in set(COMMAND_MODULES.values()):
        importlib.import_module(f"bridge.cli.{module}")
    registered = {name: command.callback.__module__ for name, command in main.commands.items()}
    assert registered == {name: f"bridge.cli.{m}" for name, m in COMMAND_MODULES.items()}


def test_help_lists_every_command_with_its_help() -> None:
    from bridge.cli import main

    output = click.testing.CliRunner().invoke(main, ["--help"]).output
    listed = output.split("Commands:")[1].split()
    for name in COMMAND_MODULES:
        assert name in listed
    assert "Run a room's speaker stack" in output
