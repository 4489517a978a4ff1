"""What a room looks like now, built once from the service's live state: the roster in the
order people joined, the speaker stack and who has the floor, the room's poll, the room's
flags and counts.
The panel's feed and overview, ``GET /api/v1/rooms[/ROOM]`` and, through the API,
``iobridge room ROOM status --json`` all serialize a ``RoomView``; none reads the live state
on its own. Built from memory only (the room's settings come in as a ``RoomSpec``, from the
room cache): no database, no Asterisk.

The view holds the roster's own ``Participant`` objects: serialize it when it is built.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge.domain.rooms import RoomSpec
from bridge.domain.roster import Participant

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
    nodes: tuple[str, ...] = ()  # several nodes: the room's, its home node first
    nodes_down: tuple[str, ...] = ()  # several nodes: those without an AMI link now

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def count(self) -> int:
        return len(self.participants)

    @property
    def speaker(self) -> str | None:
        """Who has the floor, in the words a moderator reads (caller ID, else channel)."""
        speaker = self.stack["speaker"]
        return (speaker["caller_id"] or speaker["channel"]) if speaker else None

    @property
    def hands_raised(self) -> int:
        return len(self.stack["queue"])


def room_view(service: BridgeService, spec: RoomSpec, now: float | None = None) -> RoomView:
    now = time.time() if now is None else now
    switchboard = service.switchboard
    live = switchboard.room(spec.name)
    stack = service.speakers.snapshot(spec.name)
    if stack is None:  # nobody in the room: an empty stack with the room's policy
        stack = {"room": spec.name, "policy": str(spec.queue), "speaker": None, "queue": []}
    return RoomView(
        spec=spec,
        now=now,
        pbx_connected=switchboard.pbx_connected,
        live=live is not None,
        locked=bool(live and live.locked),
        recording=bool(live and live.recording),
        started_at=live.started_at if live else None,
        participants=tuple(sorted(live.participants.values(), key=_joined)) if live else (),
        stack=stack,
        poll=_poll(service, spec.name),
        nodes=service.nodes_of(spec.name),
        nodes_down=service.nodes_down(),
    )


def _poll(service: BridgeService, room: str) -> dict[str, Any] | None:
    tally = service.polls.tally(room)
    return None if tally is None else tally.as_json(service.polls.present(room))


def _joined(person: Participant) -> float:
    return person.joined_at
