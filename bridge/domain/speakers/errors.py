"""The moderator commands the stack refuses, each a named error whose message is written for
the moderator (a caller's key never raises: it always gets a ``Tell``)."""

from __future__ import annotations

from bridge.domain.speakers.model import Lane


class StackError(Exception):
    """A moderator command the stack cannot carry out; the message is for the moderator."""


class NotInRoom(StackError):
    def __init__(self, channel: str) -> None:
        super().__init__(f"{channel} is not in the room")
        self.channel = channel


class NotQueued(StackError):
    def __init__(self, channel: str) -> None:
        super().__init__(f"{channel} is not in the stack")
        self.channel = channel


class AlreadyQueued(StackError):
    def __init__(self, channel: str, lane: Lane, place: int) -> None:
        super().__init__(f"{channel} is already in the {lane} lane, at place {place}")
        self.channel, self.lane, self.place = channel, lane, place


class AlreadySpeaking(StackError):
    def __init__(self, channel: str) -> None:
        super().__init__(f"{channel} has the floor already")
        self.channel = channel


class NoSpeaker(StackError):
    def __init__(self) -> None:
        super().__init__("nobody has the floor")


class StackEmpty(StackError):
    def __init__(self) -> None:
        super().__init__("nobody is waiting to speak")


class PlaceOutOfLane(StackError):
    def __init__(self, channel: str, lane: Lane, place: int, first: int, last: int) -> None:
        where = f"place {first}" if first == last else f"places {first} to {last}"
        super().__init__(f"place {place}: {channel} is in the {lane} lane, which holds {where}")
        self.channel, self.lane, self.place, self.first, self.last = (
            channel,
            lane,
            place,
            first,
            last,
        )


class BadState(StackError):
    """A saved stack that cannot be read back."""
