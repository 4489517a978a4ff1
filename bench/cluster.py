"""``make bench`` step ``cluster``: a join storm through Kamailio into one room, on three nodes
and then the same storm on one node behind the same Kamailio (``iobridge up --nodes N``'s
layout on loopback, the service in this process).

What it reports, per layout:

* the join latency from the caller's last PIN key (``#``, DTMFEnd on the node that answered)
  to their ConfbridgeJoin on the room's node, p50/p99, for callers who landed on the room's
  node (local joins) and for callers handed over from another node; the hand-over's added
  latency is the difference, over the same storm's local joins and over the one-node storm's;
* for the handed over, from the hand-over's Dial() (DialBegin on the node that answered, when
  the node-to-node INVITE leaves) to the join: the hand-over's own cost;
* Kamailio's own CPU (user + system, every process of its session) per 100 joins.

Every caller's RTP runs on through the keys (silence frames after the ``#``), as a phone's
does; ``--gap`` leaves ``--after-keys`` seconds without any, the old way, which the room's
node's Answer() (it waits for a first frame) added to every hand-over.

    python -m bench.cluster [--callers 200] [--rate 20] [--layouts 3 1 3 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.rig import BENCH_USER, PROJECT_ROOT, bench_manager_user, free_rtp_range
from bench.sipp_load import LoadPlan, SippLoad, Talk, raise_open_files
from bench.stats import Summary
from bridge.asterisk.install import ensure_asterisk
from bridge.cluster import NodesOnOneMachine, loopback_nodes, write_nodes_file
from bridge.runtime import Runtime
from bridge.settings import Settings
from tests.support import AmiWatcher, free_port, free_udp_and_tcp_port

ROOMS = Path(__file__).parent / "rooms.yaml"
ROOM, PIN = "bench-assembly", "2468"
RESULTS = Path(__file__).parent / "results"


def say(line: str) -> None:
    print(f"{datetime.now():%H:%M:%S} {line}", flush=True)


def session_cpu_seconds(leader: int) -> float:
    """User + system CPU of every process in ``leader``'s session (Kamailio forks)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == leader:  # field 6, the session id (fields here start at 3)
            total += int(fields[11]) + int(fields[12])
    return total / tick


def latencies(
    events: list[dict[str, Any]], callers: frozenset[str]
) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds to each caller's join: from their last ``#`` (local joins, handed-over
    ones), and from the hand-over's Dial() (DialBegin on the node that answered: the
    node-to-node INVITE leaves then) for the handed over. The first in the room is left out:
    ConfBridge plays them the "only person" prompt (3.2 s) before their join, so they are
    the first to start ConfBridge(), not the first to join."""
    hashes: dict[str, float] = {}
    dials: dict[str, float] = {}
    joins: list[tuple[float, str, str]] = []
    starts: list[tuple[float, str]] = []
    for event in events:
        caller = str(event.get("CallerIDNum", ""))
        if caller not in callers:
            continue
        at = float(event.get("Timestamp", 0))
        if event.get("Event") == "DTMFEnd" and event.get("Digit") == "#":
            if event.get("Direction") == "Received":
                hashes[caller] = at
        elif event.get("Event") == "DialBegin":
            dials[caller] = at
        elif event.get("Event") == "Newexten" and event.get("Application") == "ConfBridge":
            starts.append((at, caller))
        elif event.get("Event") == "ConfbridgeJoin":
            joins.append((at, caller, str(event.get("Channel", ""))))
    local: list[float] = []
    handed: list[float] = []
    from_dial: list[float] = []
    first = min(starts)[1] if starts else None
    for at, caller, channel in joins:
        if caller == first:
            continue
        if caller in hashes:
            # A handed-over caller joins on the node-to-node endpoint (iobridge-HOME-PEER).
            kind = local if "-proxy-" in channel else handed
            kind.append(1000 * (at - hashes[caller]))
        if "-proxy-" not in channel and caller in dials:
            from_dial.append(1000 * (at - dials[caller]))
    return local, handed, from_dial


async def storm(
    workdir: Path,
    nodes_count: int,
    callers: int,
    rate: float,
    after_keys: float,
    continuous: bool = True,
) -> dict[str, Any]:
    secret = secrets.token_urlsafe(16)
    config, dialplan = workdir / "asterisk-config", workdir / "dialplan"
    shutil.copytree(PROJECT_ROOT / "asterisk-config", config)
    shutil.copytree(PROJECT_ROOT / "dialplan", dialplan)
    with (config / "manager.conf").open("a") as manager:
        manager.write(bench_manager_user(secret))
    # Every node gets the one node's range: the room's node holds a leg of every caller (its
    # own and the handed over), a node that answered two per caller it handed over. An even
    # split of one node's range (as before) left the room's node 332 ports, 166 calls, and
    # the 34 callers past that were refused ("couldn't allocate a port for RTP").
    per_node = 4 * callers + 200
    rtp = free_rtp_range(nodes_count * per_node)
    settings = Settings(
        state_dir=workdir / "state",
        sip_port=free_udp_and_tcp_port(),
        ami_port=free_port(),
        agi_port=free_port(),
        http_port=free_port(),
        rtp_port_start=rtp,
        rtp_port_end=rtp + nodes_count * per_node - 1,
        rooms_file=ROOMS,
        config_dir=config,
        dialplan_dir=dialplan,
        log_level="WARNING",
    )
    settings.secure_state_dir()
    settings.ensure_ami_secret()
    settings.ensure_agi_secret()
    settings.ensure_admin_token()
    install = await asyncio.to_thread(ensure_asterisk, settings.cache_dir, progress=say)
    nodes = loopback_nodes(settings, nodes_count)
    settings.nodes_file = write_nodes_file(settings, nodes)
    machine = NodesOnOneMachine(settings, install, nodes)
    await machine.start()
    runtime = Runtime(settings, progress=lambda _: None)
    watchers = [
        AmiWatcher(node.ami.port, BENCH_USER, SecretStr(secret), host=node.ami.host)
        for node in nodes
    ]
    try:
        await runtime.start(with_pbx=False)
        for watcher in watchers:
            await watcher.start()
        ids = tuple(f"c{nodes_count}x{i:05d}" for i in range(callers))
        wanted = frozenset(ids)
        # As a phone does, every caller sends audio frames from the keys on (half a second
        # of speech a minute, silence frames between), with no gap after the last key
        # (silence frames in the keys' own stream until the first turn): the room's node
        # answers a handed-over caller once a first frame comes (Asterisk's Answer() waits
        # up to 500 ms for one), so a gap without RTP after the '#' (``--gap``) is counted
        # in every hand-over.
        plan = LoadPlan(
            ids,
            f"{PIN}#",
            rate,
            settings.entry_extension,
            stay=120,
            talk=Talk(0.5, 60.0),
            after_keys=after_keys,
            silence_after_keys=after_keys + 1.0 if continuous else 0.0,
        )
        assert machine.proxy.pid is not None
        cpu_before = session_cpu_seconds(machine.proxy.pid)
        load = SippLoad(plan, workdir / "sipp", (settings.bind_host, settings.sip_port))
        await load.start()
        deadline = time.monotonic() + callers / rate + 40
        joined = 0
        while time.monotonic() < deadline:
            events = [e for w in watchers for e in w.events]
            joined = sum(
                1
                for e in events
                if e.get("Event") == "ConfbridgeJoin" and e.get("CallerIDNum") in wanted
            )
            if joined >= callers:
                break
            await asyncio.sleep(0.5)
        cpu = session_cpu_seconds(machine.proxy.pid) - cpu_before
        local, handed, from_dial = latencies([e for w in watchers for e in w.events], wanted)
        await load.stop()
        result = {
            "nodes": nodes_count,
            "callers": callers,
            "rate": rate,
            "after_keys_s": after_keys,
            "rtp_through_keys": continuous,
            "load": [round(x, 1) for x in os.getloadavg()],
            "joined": joined,
            "local_ms": Summary.of(local).as_dict(),
            "handed_over_ms": Summary.of(handed).as_dict(),
            "dial_to_join_ms": Summary.of(from_dial).as_dict(),
            "kamailio_cpu_s_per_100_joins": round(100 * cpu / max(joined, 1), 4),
        }
        say(json.dumps(result))
        return result
    finally:
        for watcher in watchers:
            await watcher.stop()
        await runtime.stop()
        await machine.stop()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    raise_open_files()
    results: dict[str, Any] = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "storms": [],
    }
    for count in args.layouts:
        say(
            f"join storm: {args.callers} callers at {args.rate:g}/s through Kamailio, {count} nodes"
        )
        if args.keep is not None:
            # Every log of the run stays: Kamailio's, each node's Asterisk's, SIPp's.
            kept = args.keep / f"{count}-nodes-{datetime.now():%H%M%S}"
            kept.mkdir(parents=True)
            found = await storm(kept, count, args.callers, args.rate, args.after_keys, not args.gap)
            say(f"logs kept in {kept}")
        else:
            with tempfile.TemporaryDirectory(prefix="iobridge-cluster-") as tmp:
                found = await storm(
                    Path(tmp), count, args.callers, args.rate, args.after_keys, not args.gap
                )
        results["storms"].append(found)
    # The hand-over's added latency, per storm on several nodes: over the local joins of the
    # same storm, and over the joins of the one-node storm run next (the comparison).
    storms = results["storms"]
    added = []
    for i, many in enumerate(storms):
        if many["nodes"] == 1 or not many["handed_over_ms"]["n"]:
            continue
        one = next((later for later in storms[i + 1 :] if later["nodes"] == 1), None)
        bases = {"local": many["local_ms"], "one_node": one["local_ms"] if one else None}
        added.append(
            {
                f"{key}_over_{name}": round(many["handed_over_ms"][key] - base[key], 1)
                for name, base in bases.items()
                if base and base["n"]
                for key in ("p50", "p99")
            }
        )
    results["hand_over_added_ms"] = added
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument(
        "--after-keys", type=float, default=0.06, help="seconds from the '#' to the first turn"
    )
    parser.add_argument(
        "--gap",
        action="store_true",
        help="no RTP at all during --after-keys (the old way: the gap is in every hand-over)",
    )
    parser.add_argument(
        "--layouts", type=int, nargs="+", default=[3, 1], help="node counts, in this order"
    )
    parser.add_argument("--keep", type=Path, help="keep every log of the run under this folder")
    found = asyncio.run(main(parser.parse_args()))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"cluster-{datetime.now():%Y-%m-%d-%H%M}.json"
    out.write_text(json.dumps(found, indent=2) + "\n")
    say(f"wrote {out}")
    print(json.dumps(found.get("hand_over_added_ms", {})))
