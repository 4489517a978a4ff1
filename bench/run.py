"""The io-bridge benchmark against bare Asterisk, in one run on one machine.

    .venv/bin/python -m bench.run            # the full run (N up to 1,000; about 15 min)
    .venv/bin/python -m bench.run --quick    # the harness end to end at N <= 100 (about 4 min)

One private Asterisk runs the shipped configuration (or ``--config-dir``), the bridge service
runs as ``iobridge serve`` beside it, and SIPp places the calls (bench/sipp_load.py). Steps:
join storms at each N through the bridge and through a bare dialplan generated from the same
rooms file; then one room of P participants for steady state, moderator actions, a resync
after the service is killed, and a mass leave; then dial-out to a simulated carrier (its
pace, and the service's CPU while 50 calls ring: bench/dialout_bench.py). Prints a progress
line per step and one table; writes bench/results/<date>.json and .png. Figures only:
nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.api_bench import api_step
from bench.breakouts_bench import breakouts_step
from bench.dialout_bench import dialout_step
from bench.medians import join_medians, path_order
from bench.names_bench import names_step
from bench.population import population
from bench.practice_bench import practice_step
from bench.rig import PROJECT_ROOT, Rig, RigOptions
from bench.sipp_load import raise_open_files
from bench.stats import fmt
from bench.storm import Room, join_storm

BENCH = Path(__file__).resolve().parent
FULL_SIZES = (50, 200, 400, 800, 1000)
QUICK_SIZES = (50, 100)
ROOM = Room("bench-assembly", "2468")


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small N (<= 100): prove the harness")
    ap.add_argument("--sizes", help="join storm sizes, e.g. 50,200,400 (default: by --quick)")
    ap.add_argument("--rate", type=float, default=20.0, help="callers arriving a second")
    ap.add_argument("--population", type=int, help="participants for the room steps (400)")
    ap.add_argument("--steady", type=float, help="seconds of steady state (60)")
    ap.add_argument("--actions", type=int, help="moderator actions (1000)")
    ap.add_argument("--panels", type=int, help="moderators with the room's page open (20)")
    ap.add_argument(
        "--steps", default="storm,population,api,practice,dialout,breakouts,names",
        help="storm, population, api, practice, dialout, breakouts and/or names (last: "
        "announce_names on and off)",
    )  # fmt: skip
    ap.add_argument("--names-size", type=int, help="callers of the names step's storms (400)")
    ap.add_argument("--breakout-size", type=int, help="callers split into groups (300)")
    ap.add_argument("--breakout-groups", type=int, help="groups they are split into (30)")
    ap.add_argument(
        "--repeats", type=int, help="runs of each storm size, paths alternating (3; quick: 1)"
    )
    ap.add_argument("--posts", type=int, help="the API step's mute/unmute POSTs (200)")
    ap.add_argument("--dialout", type=int, help="numbers the dialout step calls (200)")
    ap.add_argument("--py-spy", type=Path, help="record the service during the API step here")
    ap.add_argument("--config-dir", type=Path, default=PROJECT_ROOT / "asterisk-config")
    ap.add_argument("--rooms", type=Path, default=BENCH / "rooms.yaml")
    ap.add_argument("--out", type=Path, default=BENCH / "results")
    ap.add_argument(
        "--keep", type=Path,
        help="run in this folder and keep it: Asterisk's log (state/log/), service.log",
    )  # fmt: skip
    args = ap.parse_args(argv)
    quick = args.quick
    args.sizes = (
        tuple(int(n) for n in args.sizes.split(",")) if args.sizes else
        (QUICK_SIZES if quick else FULL_SIZES)
    )  # fmt: skip
    args.population = args.population or (100 if quick else 400)
    args.steady = args.steady or (20.0 if quick else 60.0)
    args.actions = args.actions or (200 if quick else 1000)
    args.panels = args.panels or (5 if quick else 20)
    args.posts = args.posts or (50 if quick else 200)
    args.repeats = args.repeats or (1 if quick else 3)
    args.dialout = args.dialout or (50 if quick else 200)
    args.names_size = args.names_size or (100 if quick else 400)
    args.breakout_size = args.breakout_size or (60 if quick else 300)
    args.breakout_groups = args.breakout_groups or (6 if quick else 30)
    return args


@contextlib.contextmanager
def workdir(keep: Path | None) -> Iterator[Path]:
    """The run's folder: ``keep`` (made, never emptied afterwards), or a temporary one."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="iobridge-bench-") as tmp:
        yield Path(tmp)


def failed(results: dict[str, Any], step: str, exc: Exception) -> None:
    say(f"{step} FAILED: {exc!r}")
    results.setdefault("errors", []).append(f"{step}: {exc!r}")


def say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now()
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "machine": f"{platform.node()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "command": shlex.join(["python", "-m", "bench.run", *sys.argv[1:]]),
        "config_dir": str(args.config_dir),
        "open_files": raise_open_files(),
    }
    steps = set(args.steps.split(","))
    with workdir(args.keep) as tmp:
        options = RigOptions(
            tmp, args.rooms, config_dir=args.config_dir,
            service_log_level="INFO" if args.keep else "WARNING",
        )  # fmt: skip
        rig = Rig(options, say)
        say("starting Asterisk and the bridge service")
        await rig.start()
        try:
            if "storm" in steps:
                results["storms"] = []
                runs = [(i, n, r) for i, n in enumerate(args.sizes) for r in range(args.repeats)]
                for i, n, repeat in runs:
                    for path in path_order(i, repeat):
                        say(
                            f"join storm: {n} callers at {args.rate:g}/s through {path} "
                            f"(run {repeat + 1}/{args.repeats})"
                        )
                        try:
                            storm = await join_storm(rig, ROOM, path, n, args.rate, say)
                        except Exception as exc:  # a step that breaks is reported, not fatal
                            failed(results, f"storm {path} N={n}", exc)
                            continue
                        storm["repeat"] = repeat
                        results["storms"].append(storm)
                        lat = storm["latency_ms"]
                        say(
                            f"  {storm['joined']}/{n} joined; p50 {fmt(lat['p50'])} "
                            f"p99 {fmt(lat['p99'])} ms"
                        )
                results["join_medians"] = join_medians(results["storms"])
            if "population" in steps:
                say(f"room of {args.population}: steady state, actions, resync, mass leave")
                try:
                    results["population"] = await population(
                        rig, ROOM, args.population, args.rate, args.steady, args.actions,
                        args.panels, say,
                    )  # fmt: skip
                except Exception as exc:
                    failed(results, "population", exc)
            if "api" in steps:
                say(f"api: a room of {args.population}, {args.posts} POSTs with a token")
                try:
                    api = await api_step(
                        rig, ROOM, args.population, args.rate, args.posts, say, args.py_spy
                    )
                    results["api"] = api
                    post, event = api["answered_ms"], api["asterisk_event_ms"]
                    say(
                        f"  api answer p50 {fmt(post['p50'])} p99 {fmt(post['p99'])} ms; "
                        f"Asterisk's event p50 {fmt(event['p50'])} p99 {fmt(event['p99'])} ms"
                    )
                except Exception as exc:
                    failed(results, "api", exc)
            if "practice" in steps:
                try:
                    results["practice"] = await practice_step(rig, say)
                except Exception as exc:
                    failed(results, "practice", exc)
            if "dialout" in steps:
                try:
                    results["dialout"] = await dialout_step(rig, args.dialout, 50, say)
                except Exception as exc:
                    failed(results, "dialout", exc)
            if "breakouts" in steps:
                size, groups = args.breakout_size, args.breakout_groups
                say(f"breakouts: a room of {size} into {groups} groups and back")
                try:
                    results["breakouts"] = await breakouts_step(
                        rig, ROOM, size, groups, args.rate, say
                    )
                except Exception as exc:
                    failed(results, "breakouts", exc)
            if "names" in steps:  # last: the announced room's leaves play on
                say(f"names: {args.names_size} callers, announce_names off then on")
                try:
                    results["names"] = await names_step(rig, args.names_size, args.rate, say)
                except Exception as exc:
                    failed(results, "names", exc)
        finally:
            results["machine_load_after"] = round(os.getloadavg()[0], 1)
            await rig.stop()
    return results


def run(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    results = asyncio.run(main(args))
    print()
    print(report.table(results))
    stem = datetime.now().strftime("%Y-%m-%d-%H%M") + ("-quick" if args.quick else "")
    json_path, png = report.write(results, args.out, stem)
    if png is None and results.get("storms"):
        print("(no plot: matplotlib is missing; pip install -e '.[bench]')")
    print(f"\nwrote {json_path}" + (f" and {png}" if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(run())
