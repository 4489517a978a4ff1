"""The package as a user installs it: a wheel built from this checkout, installed into a
fresh virtualenv, run from a folder outside the checkout. Everything the program reads at
run time must come from inside the installed package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "build", "dist", "*.egg-info", ".*_cache", ".hypothesis"
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv with the wheel installed (dependencies from the package index)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy: building writes build/ and egg-info next to the code
    shutil.copytree(ROOT, source, ignore=LEFT_OUT, symlinks=True)
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work / "dist", source)
    (wheel,) = (work / "dist").glob("io_bridge-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    run(env_dir / "bin" / "pip", "install", "-q", "--no-compile", wheel)  # bytecode: on first use
    yield env_dir


def run(*argv: object, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
    return done.stdout


def user_env(home: Path) -> dict[str, str]:
    """A user's shell: no settings of ours, no path into the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IOBRIDGE_", "PYTHON"))}
    env.update(HOME=str(home), XDG_STATE_HOME=str(home / ".local/state"))
    env.pop("STATE_DIRECTORY", None)
    return env


# Building the wheel and installing it with its dependencies took 137 s in a passing CI run
# and went past the suite's 180 s in another (2026-12-07): pip's work, on two cores shared
# with seven other workers, not a hang (each step has its own 300 s limit).
@pytest.mark.timeout(600)
def test_the_installed_wheel_migrates_syncs_and_lists_rooms_from_outside_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    iobridge = installed / "bin" / "iobridge"
    env, elsewhere = user_env(tmp_path / "home"), tmp_path / "elsewhere"
    elsewhere.mkdir()
    site = run(
        installed / "bin" / "python", "-c",
        "from bridge.settings import Settings, EXAMPLE_ROOMS_FILE as f; s = Settings(); "
        "print(f, s.config_dir / 'pjsip.conf', s.dialplan_dir / 'extensions.conf', s.state_dir)",
        cwd=elsewhere, env=env,
    ).split()  # fmt: skip
    examples, pjsip, dialplan, state = map(Path, site)
    for shipped in (examples, pjsip, dialplan):
        assert shipped.is_file() and installed in shipped.parents, shipped
    assert state == tmp_path / "home/.local/state/iobridge"

    assert "iobridge, version" in run(iobridge, "--version", cwd=elsewhere, env=env)
    assert run(iobridge, "db", "upgrade", cwd=elsewhere, env=env).strip() == (
        "database is up to date"
    )
    assert (state / "iobridge.sqlite3").is_file()
    synced = run(iobridge, "rooms", "sync", examples, cwd=elsewhere, env=env)
    assert "+ room wg-housing" in synced
    listed = run(iobridge, "rooms", "list", cwd=elsewhere, env=env)
    assert [line.split()[0] for line in listed.splitlines()[1:4]] == [
        "coordination",
        "ga-national",
        "wg-housing",
    ], listed
    assert not list(elsewhere.iterdir()), "nothing is written to the current folder"


def test_the_installed_wheel_names_the_missing_postgres_extra_in_one_line(
    installed: Path, tmp_path: Path
) -> None:
    env = user_env(tmp_path) | {"IOBRIDGE_DATABASE_URL": "postgresql://bridge@localhost/bridge"}
    done = subprocess.run(
        [installed / "bin" / "iobridge", "db", "upgrade"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "iobridge: IOBRIDGE_DATABASE_URL: PostgreSQL needs its driver: "
        "pip install 'io-bridge[postgres]'"
    )
