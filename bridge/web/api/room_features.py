"""The API's models of a room's features as the live view shows them: a practice with
simulated callers, the numbers called out, and breakout groups (``RoomState`` and
``ActionDone`` in ``bridge.web.api.models`` carry them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class PracticeState(BaseModel):
    """A practice with simulated callers, running or the room's last one."""

    room: str
    scenario: str
    running: bool
    callers: int = Field(description="simulated callers in the plan")
    speed: float = Field(description="2.0: the scenario's times run twice as fast")
    started_by: str
    started_at: float
    ends_at: float = Field(description="when the scenario's last caller hangs up")
    stopped_at: float | None = Field(description="null while it runs")
    on_the_line: int = Field(description="simulated callers on a call now")
    placed: int = Field(description="calls placed so far (a caller who called back: two)")
    failed: int = Field(description="calls that could not be placed")
    parts: dict[str, int] = Field(description="how many callers play each part")


class CallOut(BaseModel):
    """One number called into a room, as ``iobridge dialout ROOM show --json`` prints it."""

    number: str = Field(description="E.164")
    name: str = Field(description="the name the moderator gave it ('' if none)")
    state: Literal[
        "queued", "ringing", "answered", "joined", "declined", "busy", "no-answer", "failed",
        "cancelled",
    ]  # fmt: skip
    attempts: int
    updated_at: float


class GroupMember(BaseModel):
    channel: str
    caller_id: str
    name: str = Field(description="the label moderators gave, else the caller's name")


class BreakoutGroup(BaseModel):
    name: str = Field(description="group-1, group-2, ... (or a list file's names)")
    members: list[GroupMember]
    wants_moderator: bool = Field(description="someone in it pressed *0; cleared when a "
                                  "moderator joins")  # fmt: skip


class BreakoutState(BaseModel):
    """A room's breakout while it runs, as ``iobridge breakout ROOM show --json`` prints it
    (and ``broadcast``)."""

    room: str
    started_at: float
    ends_at: float = Field(description="when everyone goes back to the main room")
    groups: list[BreakoutGroup]
    broadcast: bool | None = Field(None, description="the main room heard in every group")
