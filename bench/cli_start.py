"""How long ``iobridge`` takes to answer from a shell, per command: p50/p95 of whole runs
(a fresh Python each time, as a moderator's shell starts one), and the packages whose import
costs the most (``python -X importtime``). Figures only; nothing is asserted.

``stack ROOM show --json`` is timed against a stand-in for the running service's API (a
thread of this process answering the one route at once, from a runtime file and a token in a
throwaway state folder): what is measured is the command's own start and its one request,
not a runtime's, which would need Asterisk. ``rooms list`` opens (and on the first run makes)
the throwaway folder's SQLite database, as an admin's offline command does.

    python -m bench.cli_start [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.stats import percentile

ROOM = "bench-room"
STACK = {"room": ROOM, "policy": "fifo", "speaker": None, "queue": []}

COMMANDS: dict[str, Sequence[str]] = {
    "--help": ["--help"],
    "stack ROOM show --json": ["stack", ROOM, "show", "--json"],
    "stack ROOM next (no runtime: the error)": ["stack", ROOM, "next"],
    "rooms list": ["rooms", "list"],
}


class _StandInApi(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"name": ROOM, "stack": STACK}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def stand_in_api(state_dir: Path) -> Iterator[None]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandInApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    (state_dir / "admin-token").write_text("bench-token\n")
    (state_dir / "runtime.json").write_text(
        json.dumps({"http": f"http://127.0.0.1:{server.server_address[1]}"})
    )
    try:
        yield
    finally:
        server.shutdown()
        (state_dir / "runtime.json").unlink()


def _argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "bridge", *args]


def time_command(
    args: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    runs: int,
    argv: Sequence[str] | None = None,
) -> list[float]:
    """Milliseconds of each whole run (the exit code is not judged: the error path counts).
    ``cwd``: not a checkout, whose ``bridge`` ``-m`` would import instead of the installed one."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv or _argv(*args), env=env, cwd=cwd, capture_output=True, check=False)
        times.append((time.perf_counter() - started) * 1000)
    return times


def import_offenders(
    args: Sequence[str], env: dict[str, str], cwd: Path, top: int = 8
) -> list[tuple[str, float]]:
    """Milliseconds of import per top-level package (self time summed), the most first."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bridge", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    spent: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        spent[name.strip().split(".")[0]] += int(self_us) / 1000
    return sorted(spent.items(), key=lambda item: -item[1])[:top]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="Runs per command (default 20).")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="iobridge-cli-bench-") as folder:
        state_dir = Path(folder)
        env = {**os.environ, "IOBRIDGE_STATE_DIR": str(state_dir)}
        env.pop("IOBRIDGE_DATABASE_URL", None)
        print(f"iobridge start-up, {options.runs} runs each (ms, whole process)")
        print(f"  {'command':<42} {'p50':>7} {'p95':>7}")
        floor = time_command([], env, state_dir, options.runs, argv=[sys.executable, "-c", "pass"])
        print(
            f"  {'(python -c pass: the floor)':<42} {percentile(floor, 50):>7.0f} "
            f"{percentile(floor, 95):>7.0f}"
        )
        for label, args in COMMANDS.items():
            with stand_in_api(state_dir) if "--json" in args else _nothing():
                times = time_command(args, env, state_dir, options.runs)
            p50, p95 = percentile(times, 50), percentile(times, 95)
            print(f"  {label:<42} {p50:>7.0f} {p95:>7.0f}")
        with stand_in_api(state_dir):
            offenders = import_offenders(COMMANDS["stack ROOM show --json"], env, state_dir)
        print("imports of `stack ROOM show --json`, by package (ms, self time summed):")
        for package, spent in offenders:
            print(f"  {package:<28} {spent:>6.1f}")


@contextmanager
def _nothing() -> Iterator[None]:
    yield


if __name__ == "__main__":
    main()
