"""What a room's panel shows, as one JSON object: the room's state, its roster, the
speaker stack and the audit trail. The live feed sends it whole; the page's script renders
it. Built from the service's state only, never from what a button hoped for."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bridge.domain.rooms import RoomSpec
from bridge.domain.roster import Participant
from bridge.store.audit import ActionRecord
from bridge.web import render

if TYPE_CHECKING:
    from bridge.service import BridgeService


# ---- the speaker stack -------------------------------------------------------------------


def stack_snapshot(service: BridgeService, room: RoomSpec) -> dict[str, Any]:
    """The room's stack as ``stack show --json`` prints it; an empty one while nobody is
    in the room. Its changes reach the panel as ``Change``s on ``service.roster.changes``."""
    shown = service.speakers.snapshot(room.name)
    if shown is None:
        return {"room": room.name, "policy": str(room.queue), "speaker": None, "queue": []}
    return shown


# ---- the room ----------------------------------------------------------------------------


def roster_row(person: Participant, now: float) -> dict[str, Any]:
    """One participant as the panel shows them. Their talk time is that of their finished
    spurts, and ``talking_since`` (the bridge's clock) when they talk now: the page runs
    the clock. So a row changes when something happens to its participant, not on every
    version while they talk; with 40 talking in a room of 400, every version carried 40
    rows for their clocks alone."""
    return {
        **render.participant(person, now),
        "talk_time": round(person.talk_time, 2),
        "talking_since": person.talking_since if person.talking else None,
    }


def _joined(person: Participant) -> float:
    return person.joined_at


def room_snapshot(
    service: BridgeService, room: RoomSpec, trail: list[ActionRecord]
) -> dict[str, Any]:
    now = time.time()
    switchboard = service.switchboard
    live = switchboard.room(room.name)
    present = sorted(live.participants.values(), key=_joined) if live else []
    people = [roster_row(person, now) for person in present]
    return {
        "type": "snapshot",
        "now": now,
        "room": {
            "name": room.name,
            "title": room.title,
            "live": live is not None,
            "locked": bool(live and live.locked),
            "recording": bool(live and live.recording),
            "pbx": render.pbx_state(switchboard),
            "speaking_time_limit": room.speaking_time_limit,
            "count": len(people),
        },
        "participants": people,
        "stack": stack_snapshot(service, room),
        "audit": [audit_entry(record) for record in trail],
    }


def changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """What a panel holding ``old`` needs to hold ``new``: the parts that changed, and the
    participants added or changed (``upsert``) or gone (``remove``, by channel). None when
    nothing did. In a room of hundreds, a burst of talk events changes a few rows."""
    delta: dict[str, Any] = {}
    for part in ("room", "stack", "audit"):
        if old[part] != new[part]:
            delta[part] = new[part]
    before = {p["channel"]: p for p in old["participants"]}
    after = {p["channel"]: p for p in new["participants"]}
    upsert = [person for channel, person in after.items() if before.get(channel) != person]
    remove = [channel for channel in before if channel not in after]
    if upsert:
        delta["upsert"] = upsert
    if remove:
        delta["remove"] = remove
    return {"now": new["now"], **delta} if delta else None


def overview_row(service: BridgeService, room: RoomSpec) -> dict[str, Any]:
    """One room on the rooms overview: title, live count, speaker, hands raised, state."""
    live = service.switchboard.room(room.name)
    stack = stack_snapshot(service, room)
    speaker = stack["speaker"]
    return {
        "name": room.name,
        "title": room.title,
        "live": live is not None,
        "count": live.count if live else 0,
        "speaker": (speaker["caller_id"] or speaker["channel"]) if speaker else None,
        "hands": len(stack["queue"]),
        "locked": bool(live and live.locked),
        "recording": bool(live and live.recording),
    }


# ---- the audit trail ---------------------------------------------------------------------

# How an action reads in the trail; an action not named here reads "<actor> did <name>".
_DONE = {
    "mute": "muted",
    "unmute": "unmuted",
    "kick": "kicked",
    "mute-all": "muted everyone",
    "unmute-all": "unmuted everyone",
    "lock": "locked the room",
    "unlock": "unlocked the room",
    "record": "started recording",
    "stop-record": "stopped recording",
    "end": "ended the call",
    "next": "called on the next speaker",
    "call": "called on",
    "end-turn": "ended the turn",
    "move": "moved",
    "remove": "removed from the stack",
    "add": "added to the stack",
    "clear": "cleared the stack",
    "priority": "set the priority of",
    "policy": "switched the policy",
}


def audit_entry(record: ActionRecord) -> dict[str, Any]:
    target = record.target_caller_id or record.target_channel
    if record.result == "ok":
        text = f"{record.actor} {_DONE.get(record.action, f'did {record.action}')}"
    else:
        text = f"{record.actor} tried {record.action}"
    if target:
        text += f" {target}"
    if record.arguments:  # {"place": 2} reads "(place: 2)"
        text += " (" + record.arguments.strip("{}").replace('"', "") + ")"
    if record.result != "ok":
        text += f": {record.message or record.result}"
    return {
        "at": record.at.timestamp(),
        "actor": record.actor,
        "action": record.action,
        "target": target,
        "result": record.result,
        "text": text,
    }
