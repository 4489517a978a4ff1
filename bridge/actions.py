"""The one table of room actions: the HTTP API, the CLI and the panel all read it.

Each action names what it needs (a pydantic model of its arguments, in the order the CLI
takes them) and what it does (a call into the service). Adding an action here adds it to
the API route, the CLI's choices and the panel at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bridge.domain.rooms import QueuePolicy
from bridge.domain.speakers import Lane
from bridge.errors import BridgeError

if TYPE_CHECKING:
    from bridge.service import BridgeService

CHANNEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.@:;+-]{0,119}")  # PJSIP/x-0001, Local/x@ctx-1;2
# ConfBridge reads these as "every participant" and "everyone": never a channel.
CONFBRIDGE_KEYWORDS = frozenset({"all", "participants"})


def _channel(value: str) -> str:
    if not CHANNEL.fullmatch(value):
        raise ValueError("not a channel name (expected something like PJSIP/anonymous-00000001)")
    if value.lower() in CONFBRIDGE_KEYWORDS:
        raise ValueError(f"'{value}' is a ConfBridge keyword, not a participant's channel")
    return value


# The pattern is for the API's document; the validator gives the message a person reads.
Channel = Annotated[
    str,
    AfterValidator(_channel),
    Field(
        json_schema_extra={"pattern": f"^{CHANNEL.pattern}$"},
        description="a participant's channel, e.g. PJSIP/anonymous-00000001",
    ),
]


class NoArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OnParticipant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    place: Annotated[int, Field(ge=1, le=100_000)]


class Add(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    lane: Lane = Lane.STACK


class Clear(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lane: Lane | None = None  # every lane


class Priority(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    on: bool  # "on" / "off" on the command line


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: QueuePolicy


# Who runs the action being performed (set by ``RoomAction.perform`` for its task).
ACTOR: ContextVar[str] = ContextVar("actor", default="admin")

Result = dict[str, Any]
Run = Callable[["BridgeService", str, Any], Awaitable[Result | None]]


@dataclass(frozen=True)
class RoomAction:
    name: str
    summary: str  # for the CLI's help and the API's documentation
    arguments: type[BaseModel]
    run: Run

    @property
    def argument_names(self) -> tuple[str, ...]:
        return tuple(self.arguments.model_fields)

    async def perform(
        self, service: BridgeService, room: str, arguments: Any, actor: str = "admin"
    ) -> Result | None:
        """Run the action for ``actor`` (a moderator's name, or "admin" for the local
        CLI), timed for the metrics (``iobridge_action_seconds``); every caller (API,
        panel) goes through here."""
        started, outcome = time.perf_counter(), "error"
        ACTOR.set(actor)
        try:
            result = await self.run(service, room, arguments)
            outcome = "ok"
            return result
        except BridgeError as exc:
            outcome = exc.code
            raise
        finally:
            service.metrics.action_done(self.name, time.perf_counter() - started, outcome)


async def _record(service: BridgeService, room: str, _: NoArguments) -> Result:
    # Who started it goes into the post-call report.
    path = await service.moderation.start_recording(room, started_by=ACTOR.get())
    return {"file": path.name}


def _on(method: str) -> Run:
    """An action that names one participant: the moderation method of that name."""

    async def run(service: BridgeService, room: str, args: OnParticipant) -> None:
        await getattr(service.moderation, method)(room, args.channel)

    return run


def _whole_room(method: str) -> Run:
    async def run(service: BridgeService, room: str, _: NoArguments) -> None:
        await getattr(service.moderation, method)(room)

    return run


ROOM_ACTIONS: dict[str, RoomAction] = {
    action.name: action
    for action in (
        RoomAction("mute", "mute one participant", OnParticipant, _on("mute")),
        RoomAction("unmute", "unmute one participant", OnParticipant, _on("unmute")),
        RoomAction("kick", "hang up on one participant", OnParticipant, _on("kick")),
        RoomAction(
            "mute-all", "mute everyone but moderators", NoArguments, _whole_room("mute_all")
        ),
        RoomAction("unmute-all", "unmute everyone", NoArguments, _whole_room("unmute_all")),
        RoomAction("lock", "let no more participants in", NoArguments, _whole_room("lock")),
        RoomAction("unlock", "let participants in again", NoArguments, _whole_room("unlock")),
        RoomAction("record", "start recording the room", NoArguments, _record),
        RoomAction("stop-record", "stop recording", NoArguments, _whole_room("stop_recording")),
        RoomAction("end", "end the call for everyone", NoArguments, _whole_room("end")),
    )
}


def _stack(method: str, *fields: str) -> Run:
    """A stack command: the speaker-stack method of that name, with these arguments."""

    async def run(service: BridgeService, room: str, args: BaseModel) -> Result | None:
        result: Result | None = await getattr(service.speakers, method)(
            room, *(getattr(args, name) for name in fields)
        )
        return result

    return run


STACK_ACTIONS: dict[str, RoomAction] = {
    action.name: action
    for action in (
        RoomAction("next", "give the floor to the head of the stack", NoArguments,
                   _stack("call_next")),
        RoomAction("call", "give the floor to anyone in the room", OnParticipant,
                   _stack("call", "channel")),
        RoomAction("end-turn", "end the speaker's turn", NoArguments, _stack("end_turn")),
        RoomAction("move", "move an entry to a place in its lane", Move,
                   _stack("move", "channel", "place")),
        RoomAction("remove", "take an entry off the stack", OnParticipant,
                   _stack("remove", "channel")),
        RoomAction("add", "put someone from the room on the stack", Add,
                   _stack("add", "channel", "lane")),
        RoomAction("clear", "empty one lane, or all of them", Clear, _stack("clear", "lane")),
        RoomAction("priority", "put an entry ahead within its lane, or not", Priority,
                   _stack("set_priority", "channel", "on")),
        RoomAction("policy", "order the stack fifo or progressive", Policy,
                   _stack("set_policy", "policy")),
    )
}  # fmt: skip
