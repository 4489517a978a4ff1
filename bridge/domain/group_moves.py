"""Moves between a room's conference and its breakout groups', as the roster reads them.

Asterisk reports a move as a leave from one conference and a join to another; the roster
keeps the person in the room throughout (one leg in history, their speaker stack place
untouched, polls and talk time going on). The bridge says a move is coming with
``RemovalOrdered(reason=MOVED)``; the leave that follows is then a move, and a join of
someone already in the room is their arrival in their group (or back in the main room)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bridge.domain.breakouts.model import conference_name
from bridge.domain.events import (
    DomainEvent,
    LeaveReason,
    MainConferenceEmptied,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantMoved,
    RoomEnded,
)


class Person(Protocol):
    """A participant as the roster keeps one (``bridge.domain.roster.Participant``)."""

    leaving: LeaveReason | None
    group: str | None
    moving: bool
    muted: bool
    in_turn: bool

    def stop_talking(self, at: float) -> None: ...


People = Mapping[str, Person]


def conference_of(room: str, people: People | None, channel: str) -> str:
    """The conference ``channel`` is in: its breakout group's, or the room's own. Someone on
    their way between two is still named in the one they left (an action there fails, and
    the one who sent it hears so); someone not in the room, in the room's own."""
    person = people.get(channel) if people is not None else None
    return conference_name(room, person.group if person is not None else None)


def explain_move(people: People | None, event: DomainEvent) -> DomainEvent | None:
    """The event as a move when it is one; None when it is not about a move."""
    if people is None:
        return None
    match event:
        case ParticipantLeft():
            person = people.get(event.channel)
            if person is not None and person.leaving is LeaveReason.MOVED:
                return ParticipantMoved(event.room, event.channel, event.group, event.at, False)
        case ParticipantJoined():
            if event.channel in people:
                return ParticipantMoved(
                    event.room, event.channel, event.group, event.at, True, event.muted
                )
        case RoomEnded():
            if any(p.group is not None or p.moving for p in people.values()):
                return MainConferenceEmptied(event.room, event.at)
    return None


def apply_move(people: People | None, event: ParticipantMoved) -> None:
    person = people.get(event.channel) if people is not None else None
    if person is None:
        return
    person.stop_talking(event.at)
    if not event.settled:
        person.moving = True
        person.leaving = None  # the move is the leave; a hang-up on the way says its own
        return
    person.moving = False
    person.group = event.group
    person.muted = event.muted
    if event.muted:
        person.in_turn = False
