"""Pieces of the live state as JSON, shared by the API and the panel: a participant's row,
the PBX link, a source the guard holds back. A whole room is a ``RoomView``
(``bridge.service.room_view``), serialized by each door."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from bridge.domain.guard import HeldBack
from bridge.domain.roster import Participant, Switchboard

PbxState = Literal["connected", "disconnected"]


def pbx_state(switchboard: Switchboard) -> PbxState:
    return pbx_link(switchboard.pbx_connected)


def pbx_link(connected: bool) -> PbxState:
    return "connected" if connected else "disconnected"


def participant(
    p: Participant,
    now: float,
    name: str = "",
    keys_paused: bool = False,
    dialed_out: bool = False,
    name_recorded: bool = False,
) -> dict[str, Any]:
    return {
        "channel": p.channel,
        "caller_id": p.caller_id,
        "name": name,
        "caller_name": p.caller_name,
        "role": str(p.role),
        "muted": p.muted,
        "talking": p.talking,
        "joined_at": p.joined_at,
        "talk_time": round(p.talk_time_at(now), 2),
        "turns": p.turns,
        "keys_paused": keys_paused,
        "dialed_out": dialed_out,
        "group": p.group,
        "name_recorded": name_recorded,
    }


def held_back(held: HeldBack) -> dict[str, Any]:
    """A source the guard holds back, as ``iobridge lockouts list`` shows it."""
    return {
        "source": str(held.source),
        "failures": held.failures,
        "until": datetime.fromtimestamp(held.until, UTC).isoformat(),
        "refused": held.refused,
    }
