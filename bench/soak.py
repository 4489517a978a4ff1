"""A long soak: hours of churn on the real stack, to see what wears the service down.

    .venv/bin/python -m bench.soak                # two hours (make soak)
    .venv/bin/python -m bench.soak --minutes 10   # shorter

One private Asterisk, ``iobridge serve`` and SIPp, as in ``bench.run``. Callers arrive in
batches (``--batch`` every ``--every`` seconds, each staying ``--stay`` seconds, 10% of the
time talking), so the room holds about batch * stay / every people and turns over all
the time; moderators keep panels open on it (``--panels``); a script with a token works the
speaker stack (add, next, end-turn) and opens and closes polls. Every ``--sample`` seconds:
the service's and Asterisk's memory (RSS) and CPU, and whether the panel, the service's API
and Asterisk list the same people (retried for a second: a join in flight is not a
disagreement). At the end everyone hangs up; after the rooms emptied: the service's memory
again (does it come back?), and the call history checked against Asterisk's own events:
one leg per ConfbridgeJoin the room saw, every leg closed, the call ended.

Prints one line per sample and a summary; writes bench/results/soak-<date>.json. Figures
only: nothing is asserted. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.api_bench import make_token
from bench.panel import Panels
from bench.rig import Rig, RigOptions
from bench.run import workdir
from bench.sipp_load import LoadPlan, SippLoad, Talk, raise_open_files
from bench.storm import Room, caller_ids

BENCH = Path(__file__).resolve().parent
ROOM = Room("bench-assembly", "2468")


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=120.0, help="of churn (120)")
    ap.add_argument("--batch", type=int, default=20, help="callers arriving together (20)")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between batches (10)")
    ap.add_argument("--stay", type=float, default=60.0, help="seconds each caller stays (60)")
    ap.add_argument("--panels", type=int, default=10, help="moderators' panels open (10)")
    ap.add_argument("--sample", type=float, default=30.0, help="seconds between samples (30)")
    ap.add_argument("--rooms", type=Path, default=BENCH / "rooms.yaml")
    ap.add_argument("--out", type=Path, default=BENCH / "results")
    ap.add_argument(
        "--call-minutes", type=float, default=0.0,
        help="end the room's call this often: everyone hangs up, the room empties, the churn "
        "goes on (0: the call never ends). Memory at each empty room tells what a call keeps "
        "until its end from what the process keeps",
    )  # fmt: skip
    ap.add_argument(
        "--keep", type=Path,
        help="run in this folder and keep it: Asterisk's log (state/log/), service.log at INFO",
    )  # fmt: skip
    return ap.parse_args(argv)


def say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


def slope_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    if not spread:
        return None
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread


class Churn:
    """Batches of callers, each its own SIPp process, started on a timer."""

    def __init__(self, rig: Rig, args: argparse.Namespace) -> None:
        self.rig, self.args = rig, args
        self.loads: list[SippLoad] = []
        self.callers = 0
        self.started = time.monotonic()

    async def run(self, until: float) -> None:
        a, s = self.args, self.rig.settings
        period = 20.0
        while time.monotonic() < until:
            ids = caller_ids("s", a.batch)
            plan = LoadPlan(
                ids, f"{ROOM.pin}#", rate=a.batch / 2, extension=s.entry_extension,
                stay=a.stay, talk=Talk(period / 10, period),
            )  # fmt: skip
            load = SippLoad(plan, self.rig.options.workdir / "soak", ("127.0.0.1", s.sip_port))
            await load.start()
            self.loads.append(load)
            self.callers += a.batch
            await self._reap()
            await asyncio.sleep(a.every)

    async def _reap(self) -> None:
        for load in [x for x in self.loads if x.proc and x.proc.returncode is not None]:
            self.loads.remove(load)
            with contextlib.suppress(Exception):
                await load.wait(timeout=1)

    async def stop(self) -> None:
        for load in self.loads:
            with contextlib.suppress(Exception):
                await load.hangup_all(rate=100)
        for load in self.loads:
            with contextlib.suppress(Exception):
                await load.wait(timeout=60)
        self.loads = []


async def calls(rig: Rig, churn: Churn, until: float, minutes: float, ends: list[Any]) -> None:
    """The churn, in calls of ``minutes`` each (0: one call to the end): between two,
    everyone hangs up and the room empties, which ends its call; the service's memory
    10 s after each end goes in ``ends``."""
    import psutil

    assert rig.service is not None
    service = psutil.Process(rig.service.pid)
    while time.monotonic() < until:
        end = min(until, time.monotonic() + 60 * minutes) if minutes > 0 else until
        await churn.run(end)
        if end >= until:
            return
        await churn.stop()
        left = await _wait_empty(rig)
        await asyncio.sleep(10)
        rss = round(service.memory_info().rss / 2**20, 2)
        ends.append({"t_s": round(time.monotonic() - churn.started, 1), "service_rss_mib": rss,
                     "callers_so_far": churn.callers, "people_left": left})  # fmt: skip
        say(f"call {len(ends)} ended: service {rss} MiB after {churn.callers} callers")


class Script:
    """A moderator's script on the API: the stack and polls, all the time."""

    def __init__(self, rig: Rig, token: str) -> None:
        self.rig, self.token = rig, token
        self.sent = 0
        self.refused: dict[str, int] = {}

    async def run(self, until: float) -> None:
        base = f"{self.rig.web_url}/api/v1/rooms/{ROOM.name}"
        headers = {"Authorization": f"Bearer {self.token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            k = 0
            while time.monotonic() < until:
                await asyncio.sleep(1.0)
                k += 1
                people = [p["channel"] for p in await self.rig.participants(ROOM.name)]
                if not people:
                    continue
                steps: list[tuple[str, dict[str, Any]]] = [
                    ("stack/add", {"channel": people[k % len(people)]}),
                    ("stack/next", {}),
                    ("stack/end-turn", {}),
                ]
                if k % 20 == 0:
                    steps.append(("actions/poll-open", {"question": "soak?"}))
                if k % 20 == 10:
                    steps.append(("actions/poll-close", {}))
                for path, body in steps:
                    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                        async with http.post(f"{base}/{path}", json=body) as response:
                            self.sent += 1
                            if response.status != 200:
                                name = f"{path} {response.status}"
                                self.refused[name] = self.refused.get(name, 0) + 1


class Joins:
    """The room's joins by Asterisk's events, counted between samples."""

    def __init__(self, rig: Rig, mark: int) -> None:
        self.rig, self.at, self.dialled = rig, mark, 0

    def since_last(self, dialled: int) -> dict[str, int]:
        assert self.rig.ami is not None
        events = self.rig.ami.events
        joined = sum(
            1
            for e in events[self.at :]
            if e.get("Event") == "ConfbridgeJoin" and e.get("Conference") == ROOM.name
        )
        counts = {"dialled": dialled - self.dialled, "joined": joined}
        self.at, self.dialled = len(events), dialled
        return counts


async def agreement(rig: Rig, panels: Panels) -> bool:
    """The panel, the service's API and Asterisk list the same channels (tried for a
    second: a join or leave in flight is not a disagreement)."""
    for _ in range(5):
        asterisk = (await rig.asterisk_rooms()).get(ROOM.name, set())
        service = {p["channel"] for p in await rig.participants(ROOM.name)}
        panel = set(panels.first.muted)
        if asterisk == service == panel:
            return True
        await asyncio.sleep(0.25)
    return False


def history_check(rig: Rig, joins: int) -> dict[str, Any]:
    """The history of the room's calls in the service's database against Asterisk's
    count of joins."""
    url = rig.settings.effective_database_url
    path = url.split("///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as db:
        legs, open_legs = db.execute(
            "SELECT count(*), sum(l.left_at IS NULL) FROM legs l JOIN calls c ON c.id = l.call_id "
            "WHERE c.room_name = ?",
            (ROOM.name,),
        ).fetchone()
        open_calls = db.execute(
            "SELECT count(*) FROM calls WHERE room_name = ? AND ended_at IS NULL", (ROOM.name,)
        ).fetchone()[0]
    return {
        "asterisk_joins": joins,
        "legs": legs,
        "legs_still_open": open_legs or 0,
        "calls_still_open": open_calls,
        "consistent": legs == joins and not open_legs and not open_calls,
    }


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    import psutil  # the `bench` extra

    out: dict[str, Any] = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.soak", *sys.argv[1:]]),
        "args": {k: str(v) for k, v in vars(args).items()},
        "open_files": raise_open_files(),
    }
    samples: list[dict[str, Any]] = []
    with workdir(args.keep) as tmp:
        level = "INFO" if args.keep else "WARNING"
        rig = Rig(RigOptions(tmp, args.rooms, service_log_level=level), say)
        await rig.start()
        try:
            assert rig.ami is not None and rig.service is not None
            mark = rig.ami.mark()
            service = psutil.Process(rig.service.pid)
            asterisk = psutil.Process(rig.pids["asterisk"])
            token = await make_token(rig)
            started = time.monotonic()
            until = started + 60 * args.minutes
            churn, script = Churn(rig, args), Script(rig, token)
            churn.started, ends = started, out.setdefault("calls_ended", [])
            tasks = [asyncio.create_task(calls(rig, churn, until, args.call_minutes, ends))]
            say(f"churn: {args.batch} callers every {args.every:g} s for {args.minutes:g} min")
            # The panels open on a room with people in it.
            await asyncio.sleep(min(args.stay, 20.0))
            moderators = [f"bench-mod-{i:02d}" for i in range(1, args.panels + 1)]
            async with Panels(rig.web_url, ROOM.name, moderators) as panels:
                tasks.append(asyncio.create_task(script.run(until)))
                cpu_before = (time.monotonic(), sum(service.cpu_times()[:2]))
                seen = Joins(rig, mark)
                while time.monotonic() < until:
                    await asyncio.sleep(min(args.sample, max(0.0, until - time.monotonic())))
                    now, used = time.monotonic(), sum(service.cpu_times()[:2])
                    cpu = 100 * (used - cpu_before[1]) / max(1e-9, now - cpu_before[0])
                    cpu_before = (now, used)
                    sample = {
                        "t_s": round(now - started, 1),
                        "service_rss_mib": round(service.memory_info().rss / 2**20, 2),
                        "asterisk_rss_mib": round(asterisk.memory_info().rss / 2**20, 2),
                        "service_cpu_pct": round(cpu, 1),
                        "in_room": len(await rig.participants(ROOM.name)),
                        "agree": await agreement(rig, panels),
                        # Callers dialled since the last sample against the room's joins in
                        # the same time: churn that stops getting in shows here first.
                        **seen.since_last(churn.callers),
                        # Keys SIPp sent before the PIN prompt listened: told "wrong PIN".
                        "wrong_pins": await rig.wrong_pins(),
                    }
                    samples.append(sample)
                    say(
                        f"{sample['t_s'] / 60:5.1f} min: service {sample['service_rss_mib']} MiB "
                        f"{sample['service_cpu_pct']}% cpu, asterisk "
                        f"{sample['asterisk_rss_mib']} MiB, {sample['in_room']} in the room, "
                        f"{sample['joined']}/{sample['dialled']} joined, "
                        f"{sample['wrong_pins']} wrong PINs so far, agree={sample['agree']}"
                    )
                await asyncio.gather(*tasks, return_exceptions=True)
                say("everyone hangs up")
                await churn.stop()
                left = await _wait_empty(rig)
                out["panels_dropped"] = panels.dropped()
            await asyncio.sleep(30)  # what the service frees after a call, it has by now
            joins = sum(
                1
                for e in rig.ami.events[mark:]
                if e.get("Event") == "ConfbridgeJoin" and e.get("Conference") == ROOM.name
            )
            out["after_empty"] = {
                "people_left": left,
                "service_rss_mib": round(service.memory_info().rss / 2**20, 2),
                "asterisk_rss_mib": round(asterisk.memory_info().rss / 2**20, 2),
            }
            out["history"] = history_check(rig, joins)
            out["callers"] = churn.callers
            out["script"] = {"sent": script.sent, "refused": script.refused}
        finally:
            await rig.stop()
    out["samples"] = samples
    out["summary"] = summary(samples, out)
    return out


async def _wait_empty(rig: Rig, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not (await rig.asterisk_rooms()).get(ROOM.name):
            break
        await asyncio.sleep(1)
    return len((await rig.asterisk_rooms()).get(ROOM.name, set()))


def summary(samples: list[dict[str, Any]], out: dict[str, Any]) -> dict[str, Any]:
    # The first two samples are the warm-up (imports, caches, the first room's state).
    steady = samples[2:] if len(samples) > 4 else samples
    rss = [(s["t_s"], s["service_rss_mib"]) for s in steady]
    return {
        "service_rss_slope_mib_per_min": slope_per_minute(rss),
        "asterisk_rss_slope_mib_per_min": slope_per_minute(
            [(s["t_s"], s["asterisk_rss_mib"]) for s in steady]
        ),
        "service_rss_first_last_mib": [rss[0][1], rss[-1][1]] if rss else None,
        "service_rss_after_empty_mib": out.get("after_empty", {}).get("service_rss_mib"),
        "service_cpu_mean_pct": statistics.fmean(s["service_cpu_pct"] for s in samples)
        if samples
        else None,
        "agreement": f"{sum(s['agree'] for s in samples)}/{len(samples)}",
        # Samples in which callers dialled and not one of them got into the room.
        "stalled_samples": sum(1 for s in samples if s.get("dialled") and not s.get("joined")),
        "history_consistent": out.get("history", {}).get("consistent"),
        # With --call-minutes: the service's memory each time the room's call had ended.
        "service_rss_at_call_ends_mib": [e["service_rss_mib"] for e in out.get("calls_ended", [])],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    results = asyncio.run(soak(args))
    print(json.dumps(results["summary"], indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"soak-{datetime.now():%Y-%m-%d-%H%M}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
