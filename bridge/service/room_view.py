"""What a room looks like now, built once from the service's live state: the roster in the
order people joined, the speaker stack and who has the floor, the room's poll, the room's
flags and counts, and the numbers called into it.
The panel's feed and overview, ``GET /api/v1/rooms[/ROOM]`` and, through the API,
``iobridge room ROOM status --json`` all serialize a ``RoomView``; none reads the live state
on its own. Built from memory only (the room's settings come in as a ``RoomSpec``, from the
room cache): no database, no Asterisk.

The view holds the roster's own ``Participant`` objects: serialize it when it is built.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bridge.domain.accounts import Principal
from bridge.domain.privacy import mask_number
from bridge.domain.rooms import Right, RoomSpec
from bridge.domain.roster import Participant
from bridge.domain.schedule import Occurrence
from bridge.errors import NoSuchRoom

if TYPE_CHECKING:
    from bridge.service import BridgeService


@dataclass(frozen=True)
class RoomView:
    spec: RoomSpec
    now: float  # the bridge's clock when the view was built
    pbx_connected: bool
    live: bool  # someone is in the room now
    locked: bool
    recording: bool
    started_at: float | None  # when the call began; None when not live
    participants: tuple[Participant, ...]  # in the order they joined
    stack: dict[str, Any]  # as ``stack show --json``; an empty one while nobody is in
    poll: dict[str, Any] | None  # as ``poll show --json``; None: no poll in this call
    names: dict[str, str]  # channel -> the label moderators gave the caller, if any
    keys_paused: frozenset[str]  # channels whose keys a moderator paused
    dialed_out: frozenset[str]  # channels a moderator called into the room
    calls_out: list[dict[str, Any]]  # as ``dialout ROOM show --json``'s "calls"
    # The room's schedule (bridge.domain.schedule): the call on now, and the next one.
    call_now: Occurrence | None = None
    next_call: Occurrence | None = None
    practice: dict[str, Any] | None = None  # the room's practice (running or last), as JSON
    # as ``breakout show --json``, with "broadcast"; None: no breakout runs
    breakout: dict[str, Any] | None = None
    nodes: tuple[str, ...] = ()  # several nodes: the room's, its home node first
    nodes_down: tuple[str, ...] = ()  # several nodes: those without an AMI link now
    # a big room: its links from the home node, {"node", "state": "up" | "down"}
    links: tuple[dict[str, str], ...] = ()
    first_time_share: float | None = None  # of the talk so far; None: no turn yet
    names_recorded: frozenset[str] = frozenset()  # channels that said their name at entry

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def count(self) -> int:
        return len(self.participants)

    @property
    def speaker(self) -> str | None:
        """Who has the floor, in the words a moderator reads (label, caller ID, channel)."""
        return self.speaker_as(whole_numbers)

    def speaker_as(self, shown: NumberShown) -> str | None:
        """``speaker``, with the number as a reader sees it (``numbers_for``)."""
        speaker = self.stack["speaker"]
        if not speaker:
            return None
        return str(speaker["name"] or shown(speaker["caller_id"]) or speaker["channel"])

    @property
    def hands_raised(self) -> int:
        return len(self.stack["queue"])


def room_view(service: BridgeService, spec: RoomSpec, now: float | None = None) -> RoomView:
    now = time.time() if now is None else now
    switchboard = service.switchboard
    live = switchboard.room(spec.name)
    stack = service.speakers.snapshot(spec.name)
    if stack is None:  # nobody in the room: an empty stack with the room's policy
        stack = {
            "room": spec.name,
            "policy": str(spec.queue),
            "speaking_time_limit": spec.speaking_time_limit,
            "auto_advance": spec.auto_advance,
            "speaker": None,
            "queue": [],
        }
    people = tuple(sorted(live.participants.values(), key=_joined)) if live else ()
    names = {
        p.channel: name
        for p in people
        if (name := service.labels.name_of(spec.name, p.caller_id, p.channel))
    }
    return RoomView(
        spec=spec,
        now=now,
        pbx_connected=switchboard.pbx_connected,
        live=live is not None,
        locked=bool(live and live.locked),
        recording=bool(live and live.recording),
        started_at=live.started_at if live else None,
        participants=people,
        stack=_with_names(stack, names),
        poll=_poll(service, spec.name),
        names=names,
        keys_paused=service.keys.paused(spec.name),
        **_scheduled(spec, now),
        practice=_practice(service, spec.name),
        dialed_out=service.dialout.dialled_in(spec.name),
        calls_out=[call.as_json() for call in service.dialout.calls_of(spec.name)],
        breakout=service.breakouts.show(spec.name),
        nodes=_nodes_of(service, spec.name, people),
        links=_links_of(service, spec.name),
        nodes_down=_nodes_down(service),
        first_time_share=service.first_time.share(spec.name, now),
        names_recorded=service.names.recorded_in(spec.name),
    )


def _scheduled(spec: RoomSpec, now: float) -> dict[str, Occurrence | None]:
    if spec.schedule is None:
        return {}
    at = datetime.fromtimestamp(now, UTC)
    return {"call_now": spec.schedule.current(at), "next_call": spec.schedule.next_start(at)}


def _with_names(stack: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The stack as ``stack show --json`` prints it: each entry's ``name`` beside its
    ``caller_id``."""
    speaker = stack["speaker"]
    return {
        **stack,
        "speaker": None
        if speaker is None
        else {**speaker, "name": names.get(speaker["channel"], "")},
        "queue": [{**entry, "name": names.get(entry["channel"], "")} for entry in stack["queue"]],
    }


def _poll(service: BridgeService, room: str) -> dict[str, Any] | None:
    tally = service.polls.tally(room)
    return None if tally is None else tally.as_json(service.polls.present(room))


def _practice(service: BridgeService, room: str) -> dict[str, Any] | None:
    run = service.practice.status(room)
    return None if run is None else run.as_json()


def _joined(person: Participant) -> float:
    return person.joined_at


def _nodes_of(
    service: BridgeService, room: str, people: tuple[Participant, ...]
) -> tuple[str, ...]:
    """Several nodes: the nodes ``room`` is on, its home node first (none while it is placed
    nowhere); none with one Asterisk."""
    if service.node_links is None or room not in service.pbx_directory.placed():
        return ()
    return tuple(service.pbx_directory.nodes_of(room, (p.channel for p in people)))


def _links_of(service: BridgeService, room: str) -> tuple[dict[str, str], ...]:
    """A big room's links (``bridge.service.cascade``); none otherwise."""
    if service.node_links is None:
        return ()
    return tuple(link.as_json() for link in service.node_links.cascade.links_of(room))


def _nodes_down(service: BridgeService) -> tuple[str, ...]:
    """Several nodes: those whose AMI link is down (their rooms' calls are lost)."""
    links = service.node_links
    return () if links is None else tuple(n.name for n in links.nodes if not links.is_up(n.name))


NumberShown = Callable[[str], str]  # a caller's number as one reader of a room sees it


def whole_numbers(caller_id: str) -> str:
    return caller_id


def numbers_for(principal: Principal, spec: RoomSpec) -> NumberShown:
    """How ``principal`` sees callers' numbers in room ``spec``: whole for its hosts (and
    the admin), masked for its assistants ("+1 555 *** **23") unless the room's
    ``show_numbers_to_assistants`` says otherwise. Every door that shows a room to a
    moderator serializes through this: the panel's feed and overview, the API's rooms and
    action answers, the push feed's stream, the calls' reports (page, CSV, chart, API) and
    the audit trail; nothing is left to the browser. (The webhooks are the admin's: whole.)"""
    return _numbers(principal, spec.name, spec.show_numbers_to_assistants)


async def numbers_in(service: BridgeService, principal: Principal, room: str) -> NumberShown:
    """``numbers_for`` a room named in the history (a past call's): a room no longer in the
    rooms file shows its assistants masked numbers (no room says otherwise any more)."""
    try:
        spec = await service.find_room(room)
    except NoSuchRoom:
        return _numbers(principal, room, shown_to_assistants=False)
    return numbers_for(principal, spec)


def _numbers(principal: Principal, room: str, shown_to_assistants: bool) -> NumberShown:
    if shown_to_assistants or principal.role_in(room) is not Right.ASSISTANT:
        return whole_numbers
    return mask_number


def shown_row(row: dict[str, Any], shown: NumberShown) -> dict[str, Any]:
    """A participant's row (``render.participant``) with their number as the reader sees
    it; the name their phone sent is masked too when it is the number."""
    if shown is whole_numbers:
        return row
    return {**row, "caller_id": shown(row["caller_id"]), "caller_name": shown(row["caller_name"])}


def shown_stack(stack: dict[str, Any], shown: NumberShown) -> dict[str, Any]:
    """The stack (``stack show --json``) with numbers as the reader sees them."""
    if shown is whole_numbers:
        return stack
    speaker = stack["speaker"]
    return {
        **stack,
        "speaker": None
        if speaker is None
        else {**speaker, "caller_id": shown(speaker["caller_id"])},
        "queue": [{**entry, "caller_id": shown(entry["caller_id"])} for entry in stack["queue"]],
    }


def shown_calls_out(calls: list[dict[str, Any]], shown: NumberShown) -> list[dict[str, Any]]:
    """The numbers called into a room (``dialout ROOM show --json``'s "calls") as the
    reader sees them."""
    if shown is whole_numbers:
        return calls
    return [{**call, "number": shown(call["number"])} for call in calls]


def shown_breakout(breakout: dict[str, Any] | None, shown: NumberShown) -> dict[str, Any] | None:
    """A breakout (``breakout show --json``) with its members' numbers as the reader sees
    them; a member's name is masked too when it is the number."""
    if breakout is None or shown is whole_numbers:
        return breakout
    groups = [
        {
            **group,
            "members": [
                {**m, "caller_id": shown(m["caller_id"]), "name": shown(m["name"])}
                for m in group["members"]
            ],
        }
        for group in breakout["groups"]
    ]
    return {**breakout, "groups": groups}
