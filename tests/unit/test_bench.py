"""The benchmark's pure parts: percentiles, join latencies read from Asterisk's events, the
SIPp load scenario and injection file, and the bare-dialplan baseline."""

from __future__ import annotations

import configparser
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, strategies as st

from bench.analysis import SEGMENTS, entry_segments, events_per_second, join_latencies
from bench.bare_dialplan import BARE_EXTENSION, render_bare_dialplan
from bench.names_bench import ANNOUNCED, names_said
from bench.report import api_rows, breakout_rows, table
from bench.sipp_load import ENDED, HANGUP, LoadPlan, Talk, injection_csv, render_scenario
from bench.stats import Summary, percentile, ratio
from bridge.domain.rooms import RoomsConfig, RoomSpec

# ---- percentiles --------------------------------------------------------------------------


def test_percentiles_interpolate_between_ranks_as_numpy_does() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 99) == pytest.approx(3.97)


def test_no_samples_give_no_figures_rather_than_zero() -> None:
    assert percentile([], 50) is None
    assert Summary.of([]) == Summary(0, None, None, None)
    assert ratio(None, 2.0) is None
    assert ratio(3.0, 0.0) is None


@given(st.lists(st.floats(-1e6, 1e6), min_size=1), st.floats(0, 100))
def test_a_percentile_lies_within_the_samples(values: list[float], q: float) -> None:
    found = percentile(values, q)
    assert found is not None and min(values) <= found <= max(values)


@given(st.lists(st.floats(0, 1e6), min_size=1))
def test_the_summary_is_ordered(values: list[float]) -> None:
    s = Summary.of(values)
    assert s.p50 is not None and s.p99 is not None and s.max is not None
    assert s.p50 <= s.p99 <= s.max


# ---- join latencies ---------------------------------------------------------------------------


def ev(name: str, at: float, channel: str = "", **fields: str) -> dict[str, str]:
    return {"Event": name, "Timestamp": f"{at:.6f}", "Channel": channel, **fields}


def key(at: float, channel: str, digit: str = "#") -> dict[str, str]:
    return ev("DTMFEnd", at, channel, Digit=digit, Direction="Received")


def join(at: float, channel: str, caller: str, room: str = "ga") -> dict[str, str]:
    return ev("ConfbridgeJoin", at, channel, CallerIDNum=caller, Conference=room)


def test_latency_runs_from_the_last_hash_to_the_join_and_skips_the_first_in_room() -> None:
    events = [
        key(10.0, "A"),
        join(13.2, "A", "a"),  # first into the empty room: heard a prompt
        key(11.0, "B", "4"),
        key(11.5, "B"),
        key(12.0, "B"),  # typed '#' twice: the last one counts
        join(12.004, "B", "b"),
        join(12.5, "C", "c"),  # no '#' seen (not one of ours or a lost key)
        join(12.6, "D", "stranger"),  # not a caller of this step
    ]
    found = join_latencies(events, {"a", "b", "c"})
    assert found.millis == [pytest.approx(4.0)]
    assert found.joined == {"a", "b", "c"}
    assert (found.first_in_room, found.without_key) == (1, 1)


def test_a_room_that_emptied_makes_the_next_joiner_first_again() -> None:
    events = [
        key(1.0, "A"),
        join(1.001, "A", "a"),
        ev("ConfbridgeLeave", 2.0, "A", Conference="ga"),
        key(3.0, "B"),
        join(3.002, "B", "b"),
    ]
    assert join_latencies(events, {"a", "b"}).first_in_room == 2
    held = join_latencies(events, {"a", "b"}, occupied={"ga": 1})  # a holder stays in
    assert held.millis == [pytest.approx(1.0), pytest.approx(2.0)]
    assert held.first_in_room == 0


def test_events_per_second_counts_by_asterisks_clock() -> None:
    events = [ev("ConfbridgeTalking", t) for t in (0.5, 1.0, 1.5, 2.5)]
    assert events_per_second(events, 0.0, 2.0) == {"all": 1.5, "ConfbridgeTalking": 1.5}


# ---- the SIPp load ---------------------------------------------------------------------------

PLAN = LoadPlan(caller_ids=("b1x00000", "b1x00001"), keys="2468#", rate=20, stay=30)


def test_the_injection_file_gives_each_call_its_caller_id_in_order() -> None:
    assert injection_csv(PLAN, "2468") == "SEQUENTIAL\nb1x00000;2468\nb1x00001;2468\n"


def test_a_caller_id_that_would_break_the_sip_message_is_refused() -> None:
    with pytest.raises(ValueError, match="unquoted"):
        injection_csv(LoadPlan(caller_ids=("a b",), keys="1#"), "1")


def test_the_scenario_types_the_keys_then_waits_and_can_be_hung_up_at_every_wait() -> None:
    xml = render_scenario(PLAN, (Path("/p/dtmf.pcap"), 1.5))
    assert "[field0]" in xml
    assert "${body}" not in xml and "${hangup}" not in xml
    assert xml.count('play_pcap_audio="/p/dtmf.pcap"') == 1
    waits = xml.count(f'<recv request="{HANGUP}" optional="true" timeout=')
    assert waits == 3  # before the keys, while they play, the stay
    assert xml.count('<recv request="BYE" next="remote_bye"/>') == waits
    assert 'timeout="30000"' in xml  # the stay


def test_a_talking_plan_plays_a_turn_each_period_then_stays_on() -> None:
    plan = LoadPlan(caller_ids=("b1",), keys="1#", stay=30, talk=Talk(seconds=1, period=10))
    turns = [Path(f"/p/talk-{n}.pcap") for n in range(3)]
    xml = render_scenario(plan, (Path("/p/d.pcap"), 1.0), turns)
    assert [xml.count(f'play_pcap_audio="{t}"') for t in turns] == [1, 1, 1]
    assert xml.count('timeout="10000"') == 3
    assert xml.index("talk-0") < xml.index("talk-1") < xml.index("talk-2")


def test_talk_must_fit_in_its_period() -> None:
    with pytest.raises(ValueError):
        Talk(seconds=20, period=20)


# ---- the bare dialplan -----------------------------------------------------------------------

ROOMS = RoomsConfig(
    rooms=(
        RoomSpec(name="ga", title="GA", pin="2468", moderator_pin="1357", max_participants=900),
        RoomSpec(name="wg", title="WG", pin="5150", muted_on_entry=True, announce_names=True),
    )
)


def dialplan() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, delimiters=("=>",))
    parser.read_string(render_bare_dialplan(ROOMS).replace("](+)", "]"))
    return parser


def test_the_baseline_answers_on_its_own_extension_of_the_entry_context() -> None:
    text = render_bare_dialplan(ROOMS)
    assert "[iobridge-entry](+)" in text  # added to the shipped context, not replacing it
    assert f"exten => {BARE_EXTENSION},1,Goto(iobridge-bench-bare,s,1)" in text
    assert "Read(PIN,conf-getpin,12,,1,8)" in text  # the prompt the bridge plays


def test_every_pin_runs_confbridge_with_the_profiles_the_bridge_would_choose() -> None:
    text = render_bare_dialplan(ROOMS)
    assert (
        "MSet(CONFBRIDGE(bridge,template)=iobridge_room,CONFBRIDGE(bridge,max_members)=900,"
        "CONFBRIDGE(user,template)=iobridge_participant,CONFBRIDGE(user,startmuted)=no)"
    ) in text
    assert "ConfBridge(ga,,,iobridge_participant_menu)" in text
    assert "CONFBRIDGE(user,template)=iobridge_moderator" in text
    assert "ConfBridge(ga,,,iobridge_moderator_menu)" in text
    assert "CONFBRIDGE(user,startmuted)=yes" in text  # wg mutes on entry
    assert "ConfBridge(wg,,,iobridge_listener_menu)" in text
    assert dialplan().has_section("iobridge-bench-bare-pins")


def test_the_baseline_joins_quietly_from_thirty_as_the_bridge_does() -> None:
    text = render_bare_dialplan(ROOMS)
    assert (
        "ExecIf($[0${CONFBRIDGE_INFO(parties,ga)} >= 30]?Set(CONFBRIDGE(user,quiet)=yes))" in text
    )
    # A room announcing names asks for one below the threshold, as the bridge does.
    assert "?Set(CONFBRIDGE(user,quiet)=yes):Set(CONFBRIDGE(user,announce_join_leave)=yes))" in text


def test_an_io_bridge_join_is_cut_into_segments_by_asterisks_own_events() -> None:
    channel = "PJSIP/bench-00000001"

    def at(t: float, name: str, **fields: str) -> dict[str, str]:
        return {"Event": name, "Channel": channel, "Timestamp": f"{t:.6f}", **fields}

    events = [
        at(9.0, "DTMFEnd", Digit="#", Direction="Received"),  # a first, wrong PIN
        at(9.001, "AGIExecEnd", Command="GET DATA conf-getpin 8000 12"),
        at(9.002, "AGIExecStart", Command="STREAM FILE conf-invalidpin"),
        at(10.0, "DTMFEnd", Digit="#", Direction="Received"),
        at(10.001, "AGIExecEnd", Command="GET DATA conf-getpin 8000 12"),
        at(10.003, "AGIExecStart", Command="EXEC MSet a=b"),
        at(10.0035, "AGIExecEnd", Command="EXEC MSet a=b"),
        at(10.005, "Newexten", Application="GotoIf"),
        at(10.0055, "Newexten", Application="ConfBridge"),
        at(10.0065, "ConfbridgeJoin", CallerIDNum="i1x00001"),
    ]
    found = entry_segments(events, {"i1x00001"})
    assert {k: [round(v, 2) for v in found[k]] for k in SEGMENTS} == {
        "digits": [1.0],
        "decision": [2.0],
        "room_set": [0.5],
        "handover": [2.0],
        "join": [1.0],
    }
    assert entry_segments(events, {"someone else"})["join"] == []


def test_a_call_counts_as_over_once_sipp_logged_its_end_by_either_side() -> None:
    log = (
        "IOB answered 1\nIOB answered 2\nIOB ended 1 by=caller\nIOB answered 3\n"
        "IOB ended 3 by=remote\nIOB unanswered 4\nIOB bye_answered 1\n"
    )
    assert {int(n) for n in ENDED.findall(log)} == {1, 3, 4}


# ---- the fair join comparison -------------------------------------------------------------


def test_each_repeat_and_each_size_swaps_which_path_goes_first() -> None:
    from bench.medians import path_order

    assert [path_order(0, r)[0] for r in range(3)] == ["iobridge", "bare", "iobridge"]
    assert [path_order(1, r)[0] for r in range(3)] == ["bare", "iobridge", "bare"]
    assert sorted(path_order(0, 1)) == sorted(path_order(0, 0))


def test_the_added_latency_is_the_difference_of_each_paths_median_run() -> None:
    from bench.medians import join_medians

    def storm(path: str, p50: float, p99: float) -> dict[str, object]:
        return {"n": 400, "path": path, "failed": 0, "latency_ms": {"p50": p50, "p99": p99}}

    storms = [
        storm("iobridge", 10.0, 30.0), storm("bare", 9.0, 29.0),
        storm("bare", 9.5, 40.0), storm("iobridge", 99.0, 99.0),  # one slow run is outvoted
        storm("iobridge", 10.2, 30.5), storm("bare", 9.9, 28.0),
    ]  # fmt: skip
    [row] = join_medians(storms)
    assert row["iobridge"] == {"runs": 3, "p50": 10.2, "p99": 30.5, "failed": 0}
    assert row["bare"]["p50"] == 9.5 and row["bare"]["p99"] == 29.0
    assert row["added_p50"] == pytest.approx(0.7) and row["met_p50"] is False
    assert row["added_p99"] == pytest.approx(1.5) and row["met_p99"] is True


# ---- the breakouts step's table -----------------------------------------------------------


def test_the_breakouts_rows_say_each_phase_its_last_join_what_is_missing_and_drops() -> None:
    def phase(p50: float, last: float, missing: int) -> dict[str, object]:
        joined = Summary.of([p50, last]).as_dict()
        return {"answered_s": 0.7, "joined": {**joined, "p50": p50}, "last_s": last,
                "missing": missing}  # fmt: skip

    step = {"size": 300, "groups": 30, "moved_s": phase(2.4, 14.25, 0),
            "back_s": phase(0.6, 2.05, 1), "dropped": 0}  # fmt: skip
    assert breakout_rows(step) == [
        "breakouts: 300 callers into 30 groups",
        "  moved  p50 2.4 s, last 14.25 s, missing 0 (the API answered in 0.7 s)",
        "  back   p50 0.6 s, last 2.05 s, missing 1 (the API answered in 0.7 s)",
        "  dropped calls: 0",
    ]
    shown = table({"started": "now", "machine": "m", "command": "c", "breakouts": step})
    assert "dropped calls: 0" in shown


# ---- the API step ---------------------------------------------------------------------------


def test_the_api_line_shows_both_floors_beside_the_answer() -> None:
    def spread(p50: float) -> dict[str, float]:
        return {"n": 200, "p50": p50, "p99": 2 * p50, "max": 3 * p50}

    api = {
        "posts": 200, "participants": 400, "answered_ms": spread(5.0),
        "asterisk_event_ms": spread(3.0), "asterisk_direct_ms": spread(1.5),
        "asterisk_reply_ms": spread(1.8), "http_floor_ms": spread(1.2), "failed": 0,
        "lost_in_asterisk": 0, "refusals": [], "processes": {},
    }  # fmt: skip
    line = api_rows(api)[0]
    assert "answer p50/p99/max 5.0/10.0/15.0" in line
    assert "no service: 1.5/3.0/4.5; its Response read back: 1.8/3.6/5.4" in line
    assert "GET /api/v1/me with the token (HTTP and the token's check, no action): 1.2/2.4/3.6" in (
        line
    )
    del api["http_floor_ms"], api["asterisk_reply_ms"]  # a result written before these
    assert "read back: -/-/-" in api_rows(api)[0] and "no action): -/-/-" in api_rows(api)[0]


# ---- the names step -------------------------------------------------------------------------


def test_the_names_step_tells_names_said_by_name_from_names_counted() -> None:
    play = f"Local/{ANNOUNCED.name}@iobridge-announce-0000000a;1"

    def step(exten: str, priority: str, app: str, data: str = "", channel: str = play) -> dict:
        return {"Event": "Newexten", "Channel": channel, "Exten": exten, "Priority": priority,
                "Application": app, "AppData": data}  # fmt: skip

    events = [
        step("name-joined", "1", "Wait", "0.5"),
        step("name-joined", "2", "Playback", "/names/x&conf-hasjoin"),
        step("name-count", "1", "Wait", "0.5"),
        step("name-count", "4", "SayNumber", "12"),
        step("name-count", "7", "SayNumber", "3"),
        step("name-left", "1", "Wait", "0.5", channel="Local/elsewhere@iobridge-announce-1;1"),
    ]
    rig = SimpleNamespace(ami=SimpleNamespace(events=events))
    assert names_said(rig, ANNOUNCED, 0) == (1, 15)  # type: ignore[arg-type]


# ---- several nodes (bench/cluster.py) -------------------------------------------------------


def test_the_keys_run_on_as_silence_frames_in_their_own_stream(tmp_path: Path) -> None:
    from bench.sipp_load import keys_then_silence
    from bridge.sipp_streams import dtmf_pcap, read_pcap, rtp_fields, rtp_offset

    keys, _ = dtmf_pcap("2468#", tmp_path)
    out = keys_then_silence(keys, 0.1, tmp_path / "keys.pcap")
    linktype, events = read_pcap(keys)
    _, packets = read_pcap(out)
    assert packets[: len(events)] == events
    frames = packets[len(events) :]
    assert len(frames) == 5  # 100 ms of 20 ms frames
    last = events[-1]
    rtp = rtp_offset(last.data, linktype)
    seq, stamp, ssrc = rtp_fields(last.data, linktype)
    duration = int.from_bytes(last.data[rtp + 14 : rtp + 16], "big")
    for i, frame in enumerate(frames):
        # The keys' addresses and ports (SIPp places a pcap's packets by their ports).
        assert frame.data[26:38] == last.data[26:38]
        assert frame.usec == last.usec + 20_000 * (i + 1)
        assert rtp_fields(frame.data, linktype) == (seq + i + 1, stamp + duration + 160 * i, ssrc)
        assert frame.data[rtp + 1] == 8  # A-law, no marker
        assert frame.data[rtp + 12 :] == bytes([0xD5]) * 160
        assert int.from_bytes(frame.data[rtp - 4 : rtp - 2], "big") == 8 + 12 + 160


def test_a_hand_over_is_timed_from_the_hash_and_from_its_dial_and_the_room_starter_left_out() -> (
    None
):
    from bench.cluster import latencies

    def event(name: str, caller: str, at: float, **more: str) -> dict[str, str]:
        return {"Event": name, "CallerIDNum": caller, "Timestamp": str(at), **more}

    local, handed = "PJSIP/iobridge-node-1-proxy-0001", "PJSIP/iobridge-node-1-node-2-0002"
    events = [
        event("DTMFEnd", "a", 10.0, Digit="#", Direction="Received"),
        event("Newexten", "a", 10.001, Application="ConfBridge"),
        event("DTMFEnd", "b", 10.5, Digit="#", Direction="Received"),
        event("Newexten", "b", 10.505, Application="ConfBridge"),
        event("ConfbridgeJoin", "b", 10.51, Channel=local),
        event("DTMFEnd", "c", 11.0, Digit="#", Direction="Received"),
        event("DialBegin", "c", 11.005),
        event("ConfbridgeJoin", "c", 11.02, Channel=handed),
        event("ConfbridgeJoin", "x", 11.1, Channel=local),  # not one of the storm's callers
        # The room's starter heard the "only person" prompt: the last to join, left out.
        event("ConfbridgeJoin", "a", 13.2, Channel=local),
    ]
    found = latencies(events, frozenset("abc"))
    assert [[round(ms, 3) for ms in kind] for kind in found] == [[10.0], [20.0], [15.0]]
