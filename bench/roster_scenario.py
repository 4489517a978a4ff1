"""The roster benchmark's scenario: one room's hour as Asterisk 22 writes it on the AMI wire
(300 callers come in and join, talk-detection storms, mutes and unmutes, everyone leaves),
from a fixed seed, so every run measures the same messages."""

from __future__ import annotations

import random
from collections.abc import Iterator

from panoramisk.utils import EOL

from bridge.asterisk.ami_events import ENTRY_CONTEXT

PARTICIPANTS = 300
MODERATORS = 3
TALKING_EVENTS = 12_000  # on and off, in pairs
MUTE_EVENTS = 1_200
ROOM = "general-assembly"
START = 1_764_100_000.0
CHUNK = 16_384  # bytes per read from the AMI socket
SEED = 20_260_302

Headers = dict[str, str]


# ---- the scenario, as Asterisk 22 would write it ------------------------------------------------


def _bridge(stamp: float, parties: int) -> Headers:
    return {
        "Privilege": "call,all",
        "Timestamp": f"{stamp:.6f}",
        "Conference": ROOM,
        "BridgeUniqueid": "2c7b1a52-3c7e-4d0a-9f1e-0a3c5b7d9e11",
        "BridgeType": "base",
        "BridgeTechnology": "softmix",
        "BridgeCreator": "ConfBridge",
        "BridgeName": ROOM,
        "BridgeNumChannels": str(parties),
        "BridgeVideoSourceMode": "none",
    }


def _channel(n: int, state: str = "6", desc: str = "Up", priority: str = "6") -> Headers:
    return {
        "Channel": f"PJSIP/anonymous-{n:08x}",
        "ChannelState": state,
        "ChannelStateDesc": desc,
        "CallerIDNum": f"+4930555{n:05d}",
        "CallerIDName": f"Caller {n}",
        "ConnectedLineNum": "<unknown>",
        "ConnectedLineName": "<unknown>",
        "Language": "en",
        "AccountCode": "",
        "Context": ENTRY_CONTEXT,
        "Exten": "1000",
        "Priority": priority,
        "Uniqueid": f"{START:.0f}.{n}",
        "Linkedid": f"{START:.0f}.{n}",
    }


def scenario(seed: int = SEED) -> list[Headers]:
    """Every AMI event of the hour, in order, as header dicts."""
    rng = random.Random(seed)
    clock = START
    out: list[Headers] = []
    parties = 0

    def tick(most: float) -> float:
        nonlocal clock
        clock += rng.uniform(0.0, most)
        return clock

    def channel_event(name: str, n: int, **extra: str) -> Headers:
        return {
            "Event": name,
            "Privilege": "call,all",
            "Timestamp": f"{tick(0.01):.6f}",
            **_channel(n),
            **extra,
        }

    def conf_event(name: str, n: int | None, **extra: str) -> Headers:
        headers = {"Event": name, **_bridge(tick(0.05), parties)}
        if n is not None:
            headers |= _channel(n)
        return headers | extra

    muted: dict[int, bool] = {}
    out.append(conf_event("ConfbridgeStart", None))
    for n in range(PARTICIPANTS):
        moderator = n < MODERATORS
        muted[n] = not moderator and rng.random() < 0.7  # most of an assembly listens
        out.append(
            channel_event("Newchannel", n, ChannelState="4", ChannelStateDesc="Ring", Priority="1")
        )
        out.append(channel_event("Newstate", n))
        out.append(channel_event("BridgeEnter", n, **_bridge(clock, parties)))
        parties += 1
        out.append(
            conf_event(
                "ConfbridgeJoin",
                n,
                Admin="Yes" if moderator else "No",
                Muted="Yes" if muted[n] else "No",
            )
        )
    talk_pairs = TALKING_EVENTS // 2
    mutes_left = MUTE_EVENTS
    for i in range(talk_pairs):
        # A few voices carry the floor; the detector also fires on everyone's room noise.
        n = rng.randrange(MODERATORS * 3) if rng.random() < 0.6 else rng.randrange(PARTICIPANTS)
        admin = "Yes" if n < MODERATORS else "No"
        out.append(conf_event("ConfbridgeTalking", n, TalkingStatus="on", Admin=admin))
        out.append(conf_event("ConfbridgeTalking", n, TalkingStatus="off", Admin=admin))
        if mutes_left and i % max(1, talk_pairs // MUTE_EVENTS) == 0:
            m = rng.randrange(PARTICIPANTS)
            muted[m] = not muted[m]
            name = "ConfbridgeMute" if muted[m] else "ConfbridgeUnmute"
            out.append(conf_event(name, m, Admin="Yes" if m < MODERATORS else "No"))
            mutes_left -= 1
    for n in rng.sample(range(PARTICIPANTS), PARTICIPANTS):
        out.append(conf_event("ConfbridgeLeave", n, Admin="Yes" if n < MODERATORS else "No"))
        parties -= 1
        out.append(channel_event("BridgeLeave", n, **_bridge(clock, parties)))
        out.append(channel_event("Hangup", n, Cause="16", **{"Cause-txt": "Normal Clearing"}))
    out.append(conf_event("ConfbridgeEnd", None))
    return out


def to_wire(messages: list[Headers]) -> bytes:
    text = "".join(
        EOL.join(f"{key}: {value}" for key, value in headers.items()) + EOL + EOL
        for headers in messages
    )
    return text.encode("ascii")


def chunks(data: bytes, size: int = CHUNK) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
