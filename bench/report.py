"""The benchmark's one table, its JSON and its plot of the scaling curves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.names_bench import names_rows
from bench.stats import fmt, ratio

TARGETS = [
    "1,000 callers at 20/s with 0 failed joins (800 must hold)",
    "added join latency over bare at 400 and 1,000 (median of 3 runs, paths alternating): "
    "p50 <= +0.5 ms, p99 <= +2 ms (issue 23; issue 13's was p50 < 1.5, p99 < 3)",
    "after a mass leave of 400: a new caller in within 2 s, 0 ghosts",
    "action to 20 panels: p99 < 50 ms at 400",
    "the API's answer to a mute with a token in a room of 400: p50 < 3 ms, p99 < 10 ms",
    "steady 400, 10% talking: service < 10% of a core, < 150 MB",
    "resync of 400 < 1 s",
]


def _proc(figures: dict[str, Any], name: str) -> str:
    f = figures.get(name, {})
    cpu = f"{fmt(f.get('cpu_peak_pct'), 0)}/{fmt(f.get('cpu_mean_pct'), 0)}%"
    return f"{cpu} {fmt(f.get('rss_max_mb'), 0)}MB"


def storm_rows(storms: list[dict[str, Any]]) -> list[str]:
    rows = [
        f"{'path':<9}{'N':>6}{'failed':>8}{'p50':>8}{'p99':>8}{'max':>8}  "
        f"{'x p50':>6}{'x p99':>6}{'+p50':>7}{'+p99':>7}    {'asterisk cpu pk/mean rss':<26}"
        f"{'service cpu pk/mean rss':<24}"
    ]
    bare = {(s["n"], s.get("repeat", 0)): s for s in storms if s["path"] == "bare"}
    for s in storms:
        base = bare.get((s["n"], s.get("repeat", 0)), {}).get("latency_ms", {})
        lat = s["latency_ms"]
        extra = ""
        if s["path"] != "bare" and base:
            add50 = (
                None if lat["p50"] is None or base.get("p50") is None else lat["p50"] - base["p50"]
            )
            add99 = (
                None if lat["p99"] is None or base.get("p99") is None else lat["p99"] - base["p99"]
            )
            x50, x99 = ratio(lat["p50"], base.get("p50")), ratio(lat["p99"], base.get("p99"))
            extra = f"{fmt(x50):>6}{fmt(x99):>6}{fmt(add50):>7}{fmt(add99):>7}"
        rows.append(
            f"{s['path']:<9}{s['n']:>6}{s['failed']:>8}{fmt(lat['p50']):>8}{fmt(lat['p99']):>8}"
            f"{fmt(lat['max']):>8}  {extra:<26}  {_proc(s['processes'], 'asterisk'):<26}"
            f"{_proc(s['processes'], 'service'):<24}"
        )
    return rows


def median_rows(medians: list[dict[str, Any]]) -> list[str]:
    """Each size's median over its runs (the paths alternating order), and what io-bridge
    adds to bare Asterisk, against issue 23's target."""
    rows = [
        f"  {'N':>6}{'runs':>6}{'io-bridge p50/p99':>20}{'bare p50/p99':>16}"
        f"{'+p50':>8}{'+p99':>8}  target +0.5/+2 met"
    ]
    for m in medians:
        ours, bare = m["iobridge"], m["bare"]
        rows.append(
            f"  {m['n']:>6}{ours['runs']:>6}{_spread(ours, 'p50', 'p99'):>20}"
            f"{_spread(bare, 'p50', 'p99'):>16}{fmt(m['added_p50']):>8}{fmt(m['added_p99']):>8}"
            f"  {m['met_p50']}/{m['met_p99']}"
        )
    return rows


def api_rows(api: dict[str, Any]) -> list[str]:
    nothing = {"p50": None, "p99": None, "max": None}
    floor = api.get("asterisk_direct_ms", nothing)
    return [
        f"API with a token ({api['posts']} mute/unmute POSTs one at a time, room of "
        f"{api['participants']}; ms from sending): answer p50/p99/max "
        f"{_spread(api['answered_ms'])}, Asterisk's ConfbridgeMute/Unmute "
        f"{_spread(api['asterisk_event_ms'])} (sent by the bench's own AMI login, no "
        f"service: {_spread(floor)}; its Response read back: "
        f"{_spread(api.get('asterisk_reply_ms', nothing))}), GET /api/v1/me with the token "
        f"(HTTP and the token's check, no action): {_spread(api.get('http_floor_ms', nothing))}, "
        f"failed {api['failed']}, lost {api['lost_in_asterisk']}; "
        f"service {_proc(api['processes'], 'service')}",
        *(f"  refused: {refusal}" for refusal in api["refusals"]),
    ]


def segment_rows(storms: list[dict[str, Any]]) -> list[str]:
    """Where an io-bridge join's time goes (bench.analysis.SEGMENTS), p50/p99 by N."""
    rows = []
    for s in storms:
        if s.get("segments_ms"):
            parts = ", ".join(
                f"{name} {_spread(summary, 'p50', 'p99')}"
                for name, summary in s["segments_ms"].items()
            )
            rows.append(f"  N={s['n']:<5} {parts}")
    return rows


def _spread(summary: dict[str, Any], *quantiles: str) -> str:
    return "/".join(fmt(summary[q]) for q in quantiles or ("p50", "p99", "max"))


def action_rows(ac: dict[str, Any]) -> list[str]:
    """One row per kind of action: ms from sending the POST until its response, until each
    panel showed the outcome, until the last of them did, and until Asterisk's own event."""
    messages = ac["panel_messages"]
    rows = [
        f"moderator actions ({ac['actions']} on {ac['participants']} participants, "
        f"{ac['panels']} panels open; ms from sending the POST):",
        f"  {'kind':<14}{'n':>5}{'failed':>7}  {'POST p50/p99':<15}{'each panel p50/p99/max':<25}"
        f"{'all panels p50/p99/max':<25}{'Asterisk p50/p99/max':<23}lost in panels/Asterisk",
    ]
    for kind, k in ac["kinds"].items():
        rows.append(
            f"  {kind:<14}{k['actions']:>5}{k['failed']:>7}  "
            f"{_spread(k['post_answered_ms'], 'p50', 'p99'):<15}"
            f"{_spread(k['echo_each_panel_ms']):<25}{_spread(k['echo_all_panels_ms']):<25}"
            f"{_spread(k['asterisk_echo_ms']):<23}{k['lost_in_panels']}/{k['lost_in_asterisk']}"
        )
        rows += [f"    refused: {refusal}" for refusal in k["refusals"]]
    rows.append(
        f"  panel messages: {messages['per_panel']:.0f} per panel, median "
        f"{messages['median_bytes'] / 1024:.1f} KiB, largest {messages['largest_bytes'] / 1024:.0f}"
        f" KiB; panels the service closed: {ac['panels_dropped']}"
    )
    return rows


def population_rows(pop: dict[str, Any]) -> list[str]:
    st, rs, ml = pop["steady"], pop["resync"], pop["mass_leave"]
    return [
        f"steady {pop['size']} ({st['seconds']:.0f} s, 10% talking): asterisk "
        f"{_proc(st['processes'], 'asterisk')}, service {_proc(st['processes'], 'service')}, "
        f"AMI {st['ami_events_per_s']['all']:.0f} events/s",
        *action_rows(pop["actions"]),
        f"resync {rs['participants']}: roster matches Asterisk "
        f"{fmt(rs['login_to_match_s'], 3)} s after the service's AMI login "
        f"({fmt(rs['spawn_to_match_s'], 2)} s from spawning the process), "
        f"matched={rs['matched']}",
        f"mass leave {ml['leavers']}: new caller in after {fmt(ml['new_caller_in_s'], 2)} s, "
        f"drained in {fmt(ml['drain_s'])} s, ghosts {ml['ghosts']} (BYEs answered "
        f"{ml.get('byes_answered')}/{ml.get('byes_sent')}), deepest queues "
        + ", ".join(f"{k}={v}" for k, v in list(ml["deepest_queues"].items())[:3]),
    ]


def table(results: dict[str, Any]) -> str:
    lines = [f"io-bridge benchmark {results['started']}  ({results['machine']})"]
    lines += [f"command: {results['command']}"]
    if results.get("storms"):
        lines += ["", "join storm (ms: last '#' to ConfbridgeJoin; x = ratio to bare):"]
        lines += storm_rows(results["storms"])
        if results.get("join_medians"):
            lines += [
                "join, median of each size's runs (ms):",
                *median_rows(results["join_medians"]),
            ]
        if segments := segment_rows(results["storms"]):
            lines += ["io-bridge joins, segment by segment (ms p50/p99; Asterisk's events):"]
            lines += segments
    if results.get("population"):
        lines += ["", *population_rows(results["population"])]
    if results.get("api"):
        lines += ["", *api_rows(results["api"])]
    if results.get("breakouts"):
        lines += ["", *breakout_rows(results["breakouts"])]
    if results.get("names"):
        lines += ["", *names_rows(results["names"])]
    for error in results.get("errors", []):
        lines.append(f"FAILED: {error}")
    lines += ["", "targets (issues 13 and 23): " + "; ".join(TARGETS)]
    return "\n".join(lines)


def breakout_rows(step: dict[str, Any]) -> list[str]:
    """Seconds from the POST to each caller's join in their group, then back (issue 20:
    every caller within 10 s each way, none dropped)."""
    rows = [f"breakouts: {step['size']} callers into {step['groups']} groups"]
    for label, key in (("moved", "moved_s"), ("back", "back_s")):
        phase = step[key]
        joined = phase["joined"]
        rows.append(
            f"  {label:<6} p50 {fmt(joined['p50'])} s, last {phase['last_s']} s, "
            f"missing {phase['missing']} (the API answered in {phase['answered_s']} s)"
        )
    rows.append(f"  dropped calls: {step['dropped']}")
    return rows


def write(results: dict[str, Any], out_dir: Path, stem: str) -> tuple[Path, Path | None]:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stem}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path, plot(results, out_dir / f"{stem}.png")


def plot(results: dict[str, Any], path: Path) -> Path | None:
    storms = results.get("storms") or []
    if not storms:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None  # the `bench` extra is not installed: the JSON and table still are
    fig, (lat, cpu) = plt.subplots(1, 2, figsize=(11, 4.2))
    for path_name, style in (("iobridge", "-o"), ("bare", "--s")):
        runs = sorted(
            (s for s in storms if s["path"] == path_name and not s.get("repeat")),
            key=lambda s: s["n"],
        )
        ns = [s["n"] for s in runs]
        for q in ("p50", "p99"):
            lat.plot(ns, [s["latency_ms"][q] for s in runs], style, label=f"{path_name} {q}")
        for proc in ("asterisk", "service"):
            peaks = [s["processes"].get(proc, {}).get("cpu_peak_pct") for s in runs]
            if any(p is not None for p in peaks):
                cpu.plot(ns, peaks, style, label=f"{proc} ({path_name} run)")
    lat.set(xlabel="callers (20/s)", ylabel="join latency, ms", yscale="log", title="Join latency")
    cpu.set(xlabel="callers (20/s)", ylabel="% of one core (peak)", title="CPU")
    lat.legend(fontsize=8)
    cpu.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
