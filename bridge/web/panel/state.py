"""What a room's panel shows, as one JSON object: the room's state, its roster, the
speaker stack and the audit trail. The live feed sends it whole; the page's script renders
it. Built from the service's state only, never from what a button hoped for."""

from __future__ import annotations

from typing import Any

from bridge.actions import ACTIONS
from bridge.domain.roster import Participant
from bridge.service.room_view import (
    NumberShown,
    RoomView,
    shown_breakout,
    shown_calls_out,
    shown_row,
    shown_stack,
    whole_numbers,
)
from bridge.store.audit import ActionRecord
from bridge.web import render


def roster_row(
    person: Participant,
    now: float,
    name: str = "",
    keys_paused: bool = False,
    dialed_out: bool = False,
    name_recorded: bool = False,
) -> dict[str, Any]:
    """One participant as the panel shows them. Their talk time is that of their finished
    spurts, and ``talking_since`` (the bridge's clock) when they talk now: the page runs
    the clock. So a row changes when something happens to its participant, not on every
    version while they talk; with 40 talking in a room of 400, every version carried 40
    rows for their clocks alone."""
    return {
        **render.participant(person, now, name, keys_paused, dialed_out, name_recorded),
        "talk_time": round(person.talk_time, 2),
        "talking_since": person.talking_since if person.talking else None,
    }


def room_snapshot(
    view: RoomView, trail: list[ActionRecord], shown: NumberShown = whole_numbers
) -> dict[str, Any]:
    """The whole room as the feed sends it, callers' numbers as ``shown`` (its readers'
    role: ``numbers_for``). The stack is as ``stack show --json`` prints it; its changes
    reach the panel as ``Change``s on ``service.roster.changes``."""
    return {
        "type": "snapshot",
        "now": view.now,
        "room": {
            "name": view.name,
            "title": view.spec.title,
            "live": view.live,
            "locked": view.locked,
            "recording": view.recording,
            "pbx": render.pbx_link(view.pbx_connected),
            "nodes_down": list(view.nodes_down),
            "links": list(view.links),
            "speaking_time_limit": view.spec.speaking_time_limit,
            "count": view.count,
            "practice_room": view.spec.practice,
            "practice": view.practice,
            # Rounded to the percent: the room part of a delta changes when the figure shown does.
            "first_time_share": None
            if view.first_time_share is None
            else round(view.first_time_share, 2),
        },
        "participants": [
            shown_row(
                roster_row(
                    person,
                    view.now,
                    view.names.get(person.channel, ""),
                    person.channel in view.keys_paused,
                    person.channel in view.dialed_out,
                    person.channel in view.names_recorded,
                ),
                shown,
            )
            for person in view.participants
        ],
        "stack": shown_stack(view.stack, shown),
        "poll": view.poll,
        "calls_out": shown_calls_out(view.calls_out, shown),
        "breakout": shown_breakout(view.breakout, shown),
        "audit": [audit_entry(record, shown) for record in trail],
    }


def changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """What a panel holding ``old`` needs to hold ``new``: the parts that changed, and the
    participants added or changed (``upsert``) or gone (``remove``, by channel). None when
    nothing did. In a room of hundreds, a burst of talk events changes a few rows."""
    delta: dict[str, Any] = {}
    for part in ("room", "stack", "poll", "calls_out", "breakout", "audit"):
        if old.get(part) != new.get(part):
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


def overview_row(view: RoomView, shown: NumberShown = whole_numbers) -> dict[str, Any]:
    """One room on the rooms overview: title, live count, speaker, hands raised, state."""
    return {
        "name": view.name,
        "title": view.spec.title,
        "live": view.live,
        "count": view.count,
        "speaker": view.speaker_as(shown),
        "hands": view.hands_raised,
        "locked": view.locked,
        "recording": view.recording,
        "schedule": schedule_text(view),
        "practice": view.spec.practice,
    }


def schedule_text(view: RoomView) -> str:
    """The room's scheduled call on now, or its next one, in the room's own zone."""
    if view.call_now is not None:
        end = view.call_now.end
        return f"Call on now, until {end:%H:%M} ({end.tzinfo})"
    if view.next_call is not None:
        start = view.next_call.start
        return f"Next call {start:%a %d %b, %H:%M} ({start.tzinfo})"
    return "Any time" if view.spec.schedule is None else "No call scheduled"


# ---- the audit trail ---------------------------------------------------------------------


def audit_entry(record: ActionRecord, shown: NumberShown = whole_numbers) -> dict[str, Any]:
    target = shown(record.target_caller_id) if record.target_caller_id else record.target_channel
    if record.result == "ok":
        action = ACTIONS.get(record.action)  # one no longer in the table: "did <name>"
        text = f"{record.actor} {action.done if action else f'did {record.action}'}"
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
