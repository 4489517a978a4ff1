"""The SIPp test caller's pcap splicing and scenario rendering; no SIPp or Asterisk needed."""

from __future__ import annotations

import itertools
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bridge.sipcaller import CallPlan, render_scenario
from bridge.sipp_streams import (
    KEY_FILES,
    SIPP_SHARE,
    PcapPacket,
    build_audio_loop,
    build_dtmf_pcap,
    dtmf_pcap,
    read_pcap,
    rtp_fields,
    rtp_offset,
    write_pcap,
)

EVENT_CODES = {**{d: int(d) for d in "0123456789"}, "*": 10, "#": 11}


def _frame(payload_type: int, seq: int, stamp: int, ssrc: int, payload: bytes) -> bytes:
    """An Ethernet/IPv4/UDP/RTP frame like those in SIPp's stock pcaps."""
    rtp = struct.pack("!BBHII", 0x80, payload_type, seq & 0xFFFF, stamp, ssrc) + payload
    udp = struct.pack("!HHHH", 49176, 10000, 8 + len(rtp), 0xBEEF) + rtp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), bytes(4))
    return bytes(12) + b"\x08\x00" + ip + udp


def _fake_digit(key: str, seq: int, stamp: int, start_usec: int) -> list[PcapPacket]:
    """Ten packets like SIPp's dtmf_2833_<key>.pcap: 7 updates, then the end packet 3 times."""
    event, packets = EVENT_CODES[key], []
    for i in range(10):
        end = i >= 7
        duration = 2240 if end else 320 * i
        payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
        marker = 0x80 if i == 0 else 0
        packets.append(
            PcapPacket(
                start_usec + min(i, 7) * 20_000,
                _frame(marker | 101, seq + min(i, 7), stamp, 0x0E05384E, payload),
            )
        )
    return packets


@pytest.fixture
def fake_share(tmp_path: Path) -> Path:
    """Per-digit pcaps with the stock files' flaw: one SSRC, unrelated numbering."""
    share = tmp_path / "share"
    share.mkdir()
    for n, (key, name) in enumerate(KEY_FILES.items()):
        seq, stamp = (8000 - 37 * n) & 0xFFFF, (90000 - 5000 * n) & 0xFFFFFFFF
        packets = _fake_digit(key, seq, stamp, 1_134_424_483_000_000 - n * 3_000_000)
        write_pcap(share / f"dtmf_2833_{name}.pcap", 1, packets)
    return share


def _rtp(path: Path) -> list[tuple[int, int, int, int, int, bool]]:
    """(usec, seq, timestamp, ssrc, event, end) of each packet of an RFC 4733 pcap."""
    linktype, packets = read_pcap(path)
    rows = []
    for p in packets:
        seq, stamp, ssrc = rtp_fields(p.data, linktype)
        event, flags, _ = struct.unpack_from("!BBH", p.data, rtp_offset(p.data, linktype) + 12)
        rows.append((p.usec, seq, stamp, ssrc, event, bool(flags & 0x80)))
    return rows


def _check_spliced(path: Path, keys: str) -> None:
    raw = path.read_bytes()
    magic, major, minor, _, _, _, linktype = struct.unpack_from("<IHHiIII", raw)
    assert (magic, major, minor, linktype) == (0xA1B2C3D4, 2, 4, 1)
    rows = _rtp(path)
    assert len(rows) == 8 * len(keys)  # 7 updates and one end (of the stock 10)
    assert len({r[3] for r in rows}) == 1, "one SSRC"
    seqs = [r[1] for r in rows]
    assert all(b == a + 1 for a, b in itertools.pairwise(seqs)), "steady sequence"
    times = [r[0] for r in rows]
    assert times == sorted(times), "packet times never go back"
    # One RTP timestamp per event, increasing from event to event, in the keys' order.
    events: list[tuple[int, int]] = []
    for _, _, stamp, _, event, _ in rows:
        if not events or events[-1][0] != stamp:
            events.append((stamp, event))
    assert [e for _, e in events] == [EVENT_CODES[k] for k in keys]
    stamps = [s for s, _ in events]
    assert all(b > a for a, b in itertools.pairwise(stamps))
    # One end packet per key: a repeat is counted as a second press by Asterisk once another
    # stream's packet has come in between (an echoing or talking caller on a loaded box).
    ends = [i for i, r in enumerate(rows) if r[5]]
    assert len(ends) == len(keys), "one end packet per key"
    assert all(i + 1 == len(rows) or rows[i + 1][2] != rows[i][2] for i in ends), "end is last"
    # Silence between keys: the next key starts well after the last one's end packets.
    starts = [i for i, r in enumerate(rows) if i == 0 or r[2] != rows[i - 1][2]]
    for i in starts[1:]:
        assert rows[i][0] - rows[i - 1][0] >= 200_000


def test_spliced_keys_count_up_steadily(fake_share: Path, tmp_path: Path) -> None:
    out = tmp_path / "keys.pcap"
    seconds = build_dtmf_pcap("424242#", out, src=fake_share)
    _check_spliced(out, "424242#")
    rows = _rtp(out)
    assert seconds == pytest.approx((rows[-1][0] - rows[0][0]) / 1e6)


def test_a_pause_waits_a_second_between_keys(fake_share: Path, tmp_path: Path) -> None:
    build_dtmf_pcap("1#", tmp_path / "quick.pcap", src=fake_share)
    build_dtmf_pcap("1#,,2#", tmp_path / "paused.pcap", src=fake_share)
    quick, paused = _rtp(tmp_path / "quick.pcap"), _rtp(tmp_path / "paused.pcap")
    second_key = next(r for r in paused[len(quick) :])
    assert second_key[0] - quick[-1][0] >= 2_000_000
    _check_spliced(tmp_path / "paused.pcap", "1#2#")


def test_every_key_can_be_spliced(fake_share: Path, tmp_path: Path) -> None:
    keys = "0123456789*#"
    build_dtmf_pcap(keys, tmp_path / "all.pcap", src=fake_share)
    _check_spliced(tmp_path / "all.pcap", keys)


@pytest.mark.skipif(not SIPP_SHARE.is_dir(), reason="sip-tester's pcaps are not installed")
def test_splicing_the_stock_files(tmp_path: Path) -> None:
    build_dtmf_pcap("*9424242#", tmp_path / "stock.pcap")
    _check_spliced(tmp_path / "stock.pcap", "*9424242#")


def test_sequence_numbers_wrap_around(fake_share: Path, tmp_path: Path) -> None:
    # Start the first digit just below 65535: the numbering must wrap, not overflow.
    write_pcap(fake_share / "dtmf_2833_1.pcap", 1, _fake_digit("1", 65530, 7, 0))
    build_dtmf_pcap("11", tmp_path / "wrap.pcap", src=fake_share)
    seqs = [r[1] for r in _rtp(tmp_path / "wrap.pcap")]
    assert seqs == [(65530 + i) & 0xFFFF for i in range(16)]  # 8 packets a key


def test_dtmf_pcap_is_cached_per_keys(fake_share: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    built = build_dtmf_pcap("*9#", cache / "keys-s9p.pcap", src=fake_share)
    before = (cache / "keys-s9p.pcap").stat().st_mtime_ns
    path, seconds = dtmf_pcap("*9#", cache)  # found in the cache: not rebuilt from the share
    assert path == cache / "keys-s9p.pcap"
    assert seconds == pytest.approx(built)
    assert path.stat().st_mtime_ns == before
    assert not list(cache.glob("*.tmp"))


def test_audio_loop_is_one_steady_stream(tmp_path: Path) -> None:
    src = [
        PcapPacket(1_000_000 + i * 30_000, _frame(8, 100 + i, 240 * i, 0xDEE0EE8F, bytes(240)))
        for i in range(50)
    ]  # 1.5 s of PCMA in 30 ms packets
    write_pcap(tmp_path / "speech.pcap", 1, src)
    seconds = build_audio_loop(tmp_path / "speech.pcap", tmp_path / "loop.pcap", 4.0)
    assert seconds >= 4.0 - 0.03
    linktype, packets = read_pcap(tmp_path / "loop.pcap")
    assert len(packets) == 150  # three rounds of 1.5 s
    fields = [rtp_fields(p.data, linktype) for p in packets]
    assert [f[0] for f in fields] == [100 + i for i in range(150)]
    assert [f[1] for f in fields] == [240 * i for i in range(150)]
    assert [p.usec for p in packets] == [1_000_000 + i * 30_000 for i in range(150)]
    assert {f[2] for f in fields} == {0xDEE0EE8F}


def test_read_pcap_refuses_other_files(tmp_path: Path) -> None:
    (tmp_path / "x.pcap").write_bytes(b"\x0a\x0d\x0d\x0a" + bytes(40))  # pcapng
    with pytest.raises(ValueError, match="pcap"):
        read_pcap(tmp_path / "x.pcap")


def test_pcap_round_trip(tmp_path: Path) -> None:
    packets = [PcapPacket(1_700_000_000_999_999, b"abc"), PcapPacket(1_700_000_001_000_000, b"")]
    write_pcap(tmp_path / "t.pcap", 1, packets)
    assert read_pcap(tmp_path / "t.pcap") == (1, packets)


# --- the scenario ---


def _parse(xml: str) -> ET.Element:
    root = ET.fromstring(xml.encode("iso-8859-1"))
    labels = {e.get("id") for e in root.iter("label")}
    jumps = {e.get(a) for e in root for a in ("next", "ontimeout") if e.get(a)}
    assert jumps <= labels, f"jumps to missing labels: {jumps - labels}"
    return root


def _waits(root: ET.Element) -> list[int]:
    return [int(e.get("timeout", "0")) for e in root.iter("recv") if e.get("next") == "hangup"]


def _plays(root: ET.Element) -> list[str]:
    return [e.get("play_pcap_audio", "") for e in root.iter("exec")]


def test_scenario_types_keys_then_stays() -> None:
    plan = CallPlan(keys="424242#", key_delay=1.5, stay=5)
    root = _parse(render_scenario(plan, dtmf=(Path("/w/pcap/dtmf-424242p.pcap"), 3.0)))
    assert _plays(root) == ["/w/pcap/dtmf-424242p.pcap"]
    assert _waits(root) == [1500, 3300, 5000]
    invite = next(e.text or "" for e in root.iter("send") if "INVITE sip:" in (e.text or ""))
    assert "m=audio [media_port] RTP/AVP 8 0 101" in invite
    assert "a=rtpmap:101 telephone-event/8000" in invite
    assert 'From: "sipp" <sip:sipp@[local_ip]:[local_port]>' in invite


def test_keys_typed_on_request_play_when_asked_and_at_the_latest_after_key_delay() -> None:
    plan = CallPlan(keys="2468#", key_delay=20, keys_on_request=True, stay=5)
    elements = list(_parse(render_scenario(plan, dtmf=(Path("/w/dtmf.pcap"), 2.2))))
    (first_wait,) = [e for e in elements if e.tag == "recv" and e.get("timeout") == "20000"]
    at = elements.index(first_wait)
    asked = next(e for e in elements[at:] if e.get("request") == "KEYS")
    assert asked.get("optional") == "true"
    # KEYS and the wait's timeout lead to the same place: the keys, played next.
    assert asked.get("next") == first_wait.get("ontimeout")
    label = next(e for e in elements if e.tag == "label" and e.get("id") == asked.get("next"))
    assert "/w/dtmf.pcap" in ET.tostring(elements[elements.index(label) + 1], encoding="unicode")
    # Without the option, no caller waits for a request that will never come.
    plain = render_scenario(CallPlan(keys="2468#", stay=5), dtmf=(Path("/w/dtmf.pcap"), 2.2))
    assert 'request="KEYS"' not in plain


def test_later_keys_asked_for_before_the_wait_after_the_pin_ends_are_typed_not_fatal() -> None:
    # A handed-over caller can be in the room before that wait is over; SIPp aborts a call
    # on a request its current step does not expect (tests/integration/test_nodes.py).
    plan = CallPlan(keys="2468#", stay=5, later_keys=("*9",))
    dtmf, later = (Path("/w/dtmf.pcap"), 2.2), (Path("/w/later.pcap"),)
    elements = list(_parse(render_scenario(plan, dtmf=dtmf, later=later)))
    after_pin = [e for e in elements if e.tag == "recv" and e.get("timeout") == "2500"]
    (wait,) = after_pin
    at = elements.index(wait)
    press = next(e for e in elements[at:] if e.get("request") == "PRESS0")
    assert elements.index(press) < next(
        i for i, e in enumerate(elements) if i > at and e.get("request") == "BYE"
    )  # one of the wait's own alternatives
    early = elements.index(
        next(e for e in elements if e.tag == "label" and e.get("id") == press.get("next"))
    )
    pause = elements[early + 1]  # the rest of the last key's gap, then the keys
    assert (pause.get("timeout"), pause.get("ontimeout")) == ("300", "press0")
    typed = next(e for e in elements if e.tag == "label" and e.get("id") == "press0")
    assert "/w/later.pcap" in ET.tostring(elements[elements.index(typed) + 1], encoding="unicode")


def test_scenario_without_keys_just_stays() -> None:
    root = _parse(render_scenario(CallPlan(caller_id="anonymous", stay=0)))
    assert _plays(root) == []
    assert _waits(root) == [1]  # 0 would make SIPp wait forever
    assert "sip:anonymous@" in ET.tostring(root, encoding="unicode")


def test_scenario_replays_audio_for_a_long_stay() -> None:
    audio = (Path("/w/pcap/audio-60s.pcap"), 63.0)
    root = _parse(render_scenario(CallPlan(audio=True, stay=150), audio=audio))
    assert _plays(root) == ["/w/pcap/audio-60s.pcap"] * 3
    assert _waits(root) == [63000, 63000, 24000]


def test_scenario_answer_timeout_and_hangup_paths() -> None:
    root = _parse(render_scenario(CallPlan(), answer_timeout=7))
    early = [e for e in root.iter("recv") if e.get("ontimeout") == "unanswered"]
    assert early and all(e.get("timeout") == "7000" for e in early)
    assert any(e.get("request") == "HANGUP" and e.get("next") == "cancel" for e in root)
    assert any(e.get("request") == "BYE" and e.get("next") == "remote_bye" for e in root)


def test_scenario_needs_its_pcaps() -> None:
    with pytest.raises(ValueError):
        render_scenario(CallPlan(keys="1"))
    with pytest.raises(ValueError):
        render_scenario(CallPlan(audio=True))


@pytest.mark.parametrize(
    "fields",
    [
        {"keys": "12a"},
        {"keys": ",12"},
        {"caller_id": 'x"><evil'},
        {"extension": "10 00"},
        {"stay": -1},
    ],
)
def test_plan_refuses_what_cannot_be_sent(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CallPlan(**fields)  # type: ignore[arg-type]
