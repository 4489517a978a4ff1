"""The live state as JSON: what the API answers and the CLI prints."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from bridge.domain.guard import HeldBack
from bridge.domain.roster import LiveRoom, Participant, Switchboard

PbxState = Literal["connected", "disconnected"]


def pbx_state(switchboard: Switchboard) -> PbxState:
    return "connected" if switchboard.pbx_connected else "disconnected"


def room(switchboard: Switchboard, name: str, now: float | None = None) -> dict[str, Any]:
    now = now or time.time()
    live = switchboard.room(name)
    if live is None:
        return {"room": name, "live": False, "participants": []}
    return _live_room(live, now)


def _live_room(live: LiveRoom, now: float) -> dict[str, Any]:
    return {
        "room": live.name,
        "live": True,
        "locked": live.locked,
        "recording": live.recording,
        "started_at": live.started_at,
        "participants": [
            participant(p, now) for p in sorted(live.participants.values(), key=_by_join)
        ],
    }


def participant(p: Participant, now: float) -> dict[str, Any]:
    return {
        "channel": p.channel,
        "caller_id": p.caller_id,
        "caller_name": p.caller_name,
        "role": str(p.role),
        "muted": p.muted,
        "talking": p.talking,
        "joined_at": p.joined_at,
        "talk_time": round(p.talk_time_at(now), 2),
        "turns": p.turns,
    }


def _by_join(p: Participant) -> float:
    return p.joined_at


def held_back(held: HeldBack) -> dict[str, Any]:
    """A source the guard holds back, as ``iobridge lockouts list`` shows it."""
    return {
        "source": str(held.source),
        "failures": held.failures,
        "until": datetime.fromtimestamp(held.until, UTC).isoformat(),
        "refused": held.refused,
    }
