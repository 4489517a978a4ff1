"""The one table of moderator actions: the API, the panel and the CLI all read it.

Each entry says what the action takes (its arguments model), who may run it (the ``Right``
it needs), how the audit trail reads it, and what it does: a small typed handler that gets
the room, the actor and the two features an action may act through (``Context``), never
the whole service. Adding an action is one entry here plus its handler (the recipe is in
docs/architecture.md, "Adding an action").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from bridge.actions.arguments import (
    Add,
    Bar,
    BreakoutBroadcast,
    BreakoutExtend,
    BreakoutMove,
    BreakoutStart,
    Clear,
    DialOutCancel,
    DialOutStart,
    HandOver,
    Keys,
    LabelCaller,
    Limit,
    Move,
    NoArguments,
    OnParticipant,
    PlayCue,
    Policy,
    PollOpen,
    PracticeStart,
    Priority,
    Switch,
)
from bridge.domain.accounts import Right
from bridge.domain.trunks import NotANumber, e164
from bridge.errors import DialOutRefused

if TYPE_CHECKING:
    from bridge.service.bars import CallerBars
    from bridge.service.breakouts import RoomBreakouts
    from bridge.service.cues import RoomCues
    from bridge.service.dialout import DialOut
    from bridge.service.holders import RoomHolders
    from bridge.service.keys import RoomKeys
    from bridge.service.labels import CallerLabels
    from bridge.service.moderation import Moderation
    from bridge.service.polls import RoomPolls
    from bridge.service.practice import RoomPractice
    from bridge.service.speakers import SpeakerFloor

Result = dict[str, Any]
A = TypeVar("A", bound=BaseModel)


class Group(StrEnum):
    """Where an action is found: its API path and its CLI command."""

    ROOM = "room"  # POST /api/v1/rooms/{room}/actions/NAME, iobridge room ROOM NAME
    STACK = "stack"  # POST /api/v1/rooms/{room}/stack/NAME, iobridge stack ROOM NAME

    @property
    def path(self) -> str:
        return "actions" if self is Group.ROOM else "stack"


@dataclass(frozen=True)
class Context:
    """What a handler acts on: the room, who runs the action, and the features it may use."""

    room: str
    actor: str  # a moderator's name, or "admin" for the local CLI
    moderation: Moderation
    speakers: SpeakerFloor
    polls: RoomPolls
    cues: RoomCues
    holders: RoomHolders
    labels: CallerLabels
    bars: CallerBars
    keys: RoomKeys
    practice: RoomPractice
    dialout: DialOut
    breakouts: RoomBreakouts


@dataclass(frozen=True)
class Action(Generic[A]):
    name: str
    group: Group
    summary: str  # for the CLI's help and the API's documentation
    arguments: type[A]
    right: Right
    done: str  # how the audit trail reads it: "alice <done> <target> (<arguments>)"
    handler: Callable[[Context, A], Awaitable[Result | None]]

    @property
    def argument_names(self) -> tuple[str, ...]:
        return tuple(self.arguments.model_fields)


# ---- the room: moderation ----------------------------------------------------------------


async def _mute(at: Context, args: OnParticipant) -> None:
    await at.moderation.mute(at.room, args.channel)


async def _unmute(at: Context, args: OnParticipant) -> None:
    await at.moderation.unmute(at.room, args.channel)


async def _kick(at: Context, args: OnParticipant) -> None:
    await at.moderation.kick(at.room, args.channel)


async def _bar(at: Context, args: Bar) -> None:
    # Barred first: a caller who redials at once, between the kick and the bar, is refused.
    at.bars.bar(at.room, args.channel, args.minutes)
    await at.moderation.kick(at.room, args.channel)


async def _keys(at: Context, args: Keys) -> None:
    at.keys.set_keys(at.room, args.channel, args.state == "on")


async def _mute_all(at: Context, _: NoArguments) -> None:
    await at.moderation.mute_all(at.room)


async def _unmute_all(at: Context, _: NoArguments) -> None:
    await at.moderation.unmute_all(at.room)


async def _lock(at: Context, _: NoArguments) -> None:
    await at.moderation.lock(at.room)


async def _unlock(at: Context, _: NoArguments) -> None:
    await at.moderation.unlock(at.room)


async def _record(at: Context, _: NoArguments) -> Result:
    # Who started it goes into the post-call report.
    path = await at.moderation.start_recording(at.room, started_by=at.actor)
    return {"file": path.name}


async def _stop_record(at: Context, _: NoArguments) -> None:
    await at.moderation.stop_recording(at.room)


async def _end(at: Context, _: NoArguments) -> None:
    await at.moderation.end(at.room)


async def _hand_over(at: Context, args: HandOver) -> Result:
    return {"holder": await at.holders.hand(at.room, at.actor, args.to)}


async def _label(at: Context, args: LabelCaller) -> Result:
    return {"label": at.labels.give(at.room, args.channel, args.label)}


async def _play(at: Context, args: PlayCue) -> Result:
    return {"cue": await at.cues.play(at.room, args.cue)}


# ---- calling phones in ---------------------------------------------------------------------


async def _dialout_start(at: Context, args: DialOutStart) -> Result:
    calls = await at.dialout.start(
        at.room, at.actor, args.numbers, args.trunk, args.confirm, args.retries, args.retry_after
    )
    return {"calls": [call.as_json() for call in calls]}


async def _dialout_cancel(at: Context, args: DialOutCancel) -> Result:
    number = None
    if args.number is not None:
        try:
            number = e164(args.number)
        except NotANumber as exc:
            raise DialOutRefused(str(exc)) from None
    calls = await at.dialout.cancel(at.room, number)
    return {"calls": [call.as_json() for call in calls]}


# ---- temperature checks ------------------------------------------------------------------


async def _poll_open(at: Context, args: PollOpen) -> Result:
    tally = await at.polls.open_poll(at.room, args.question, tuple(args.options), args.block)
    return {"poll": tally.as_json(at.polls.present(at.room))}


async def _practice(at: Context, args: PracticeStart) -> Result:
    run = await at.practice.start(
        at.room,
        at.actor,
        scenario=args.scenario,
        scenario_text=args.scenario_text,
        callers=args.callers,
        speed=args.speed,
    )
    return {"practice": run.as_json()}


async def _practice_stop(at: Context, _: NoArguments) -> Result:
    return {"practice": (await at.practice.stop(at.room)).as_json()}


async def _poll_close(at: Context, _: NoArguments) -> Result:
    tally = await at.polls.close_poll(at.room)
    return {"poll": tally.as_json(at.polls.present(at.room))}


# ---- breakouts ---------------------------------------------------------------------------


async def _breakout_start(at: Context, args: BreakoutStart) -> Result:
    breakout = await at.breakouts.start(
        at.room,
        groups=args.groups,
        size=args.size,
        minutes=args.minutes,
        by=args.by,
        listed=args.listed,
    )
    return {"breakout": breakout}


async def _breakout_extend(at: Context, args: BreakoutExtend) -> Result:
    return {"breakout": await at.breakouts.extend(at.room, args.minutes)}


async def _breakout_move(at: Context, args: BreakoutMove) -> Result:
    return {"breakout": await at.breakouts.move(at.room, args.channel, args.group)}


async def _breakout_broadcast(at: Context, args: BreakoutBroadcast) -> Result:
    return {"breakout": await at.breakouts.set_broadcast(at.room, args.state == "on")}


async def _breakout_end(at: Context, _: NoArguments) -> Result:
    return {"breakout": await at.breakouts.end(at.room)}


# ---- the speaker stack -------------------------------------------------------------------


async def _next(at: Context, _: NoArguments) -> Result:
    return await at.speakers.call_next(at.room)


async def _call(at: Context, args: OnParticipant) -> Result:
    return await at.speakers.call(at.room, args.channel)


async def _end_turn(at: Context, _: NoArguments) -> None:
    await at.speakers.end_turn(at.room)


async def _move(at: Context, args: Move) -> None:
    await at.speakers.move(at.room, args.channel, args.place)


async def _remove(at: Context, args: OnParticipant) -> None:
    await at.speakers.remove(at.room, args.channel)


async def _add(at: Context, args: Add) -> None:
    await at.speakers.add(at.room, args.channel, args.lane)


async def _clear(at: Context, args: Clear) -> None:
    await at.speakers.clear(at.room, args.lane)


async def _priority(at: Context, args: Priority) -> None:
    await at.speakers.set_priority(at.room, args.channel, args.on)


async def _policy(at: Context, args: Policy) -> None:
    await at.speakers.set_policy(at.room, args.policy)


async def _limit(at: Context, args: Limit) -> None:
    await at.speakers.set_limit(at.room, args.seconds)


async def _auto_advance(at: Context, args: Switch) -> None:
    await at.speakers.set_auto_advance(at.room, args.state == "on")


ROOM, STACK = Group.ROOM, Group.STACK
HOST, ASSISTANT = Right.HOST, Right.ASSISTANT
ACTIONS: dict[str, Action[Any]] = {
    action.name: action
    for action in (
        Action("mute", ROOM, "mute one participant", OnParticipant, ASSISTANT, "muted", _mute),
        Action("unmute", ROOM, "unmute one participant", OnParticipant, ASSISTANT, "unmuted",
               _unmute),
        Action("kick", ROOM, "hang up on one participant", OnParticipant, HOST, "kicked", _kick),
        Action("bar", ROOM, "hang up on a participant and keep them out of the room until the "
               "call ends (or for MINUTES)", Bar, HOST, "kicked and barred", _bar),
        Action("keys", ROOM, "pause one caller's keys (off) or give them back (on)", Keys,
               ASSISTANT, "set the keys of", _keys),
        Action("mute-all", ROOM, "mute everyone but moderators", NoArguments, ASSISTANT,
               "muted everyone", _mute_all),
        Action("unmute-all", ROOM, "unmute everyone", NoArguments, ASSISTANT,
               "unmuted everyone", _unmute_all),
        Action("lock", ROOM, "let no more participants in", NoArguments, HOST,
               "locked the room", _lock),
        Action("unlock", ROOM, "let participants in again", NoArguments, HOST,
               "unlocked the room", _unlock),
        Action("record", ROOM, "start recording the room", NoArguments, HOST,
               "started recording", _record),
        Action("stop-record", ROOM, "stop recording", NoArguments, HOST, "stopped recording",
               _stop_record),
        Action("end", ROOM, "end the call for everyone", NoArguments, HOST, "ended the call",
               _end),
        Action("hand-over", ROOM, "hand the room to another host (you assist from then on)",
               HandOver, HOST, "handed the room over", _hand_over),
        Action("label", ROOM, "label a caller with a name and place (empty: no label)",
               LabelCaller, ASSISTANT, "labelled", _label),
        Action("play", ROOM, "play a cue to everyone in the room", PlayCue, ASSISTANT,
               "played the cue", _play),
        Action("dialout-start", ROOM, "call phone numbers into the room through a trunk",
               DialOutStart, HOST, "called out to", _dialout_start),
        Action("dialout-cancel", ROOM, "stop calling one number, or every number not yet in",
               DialOutCancel, HOST, "cancelled calling out", _dialout_cancel),
        Action("poll-open", ROOM, "ask the room a question, answered on the keypad", PollOpen,
               ASSISTANT, "opened a poll", _poll_open),
        Action("poll-close", ROOM, "close the room's poll and keep its tally", NoArguments,
               ASSISTANT, "closed the poll", _poll_close),
        Action("practice", ROOM, "fill a practice room with simulated callers on a scenario",
               PracticeStart, HOST, "started a practice", _practice),
        Action("practice-stop", ROOM, "hang up every simulated caller of the practice",
               NoArguments, HOST, "stopped the practice", _practice_stop),
        Action("breakout-start", ROOM, "split the room into timed groups", BreakoutStart,
               ASSISTANT, "started breakouts", _breakout_start),
        Action("breakout-extend", ROOM, "give the groups more minutes", BreakoutExtend,
               ASSISTANT, "extended the breakouts", _breakout_extend),
        Action("breakout-move", ROOM, "move someone to a group, or main (a moderator joins a "
               "group so)", BreakoutMove, ASSISTANT, "moved to a group", _breakout_move),
        Action("breakout-broadcast", ROOM, "the main room's moderators heard in every group, "
               "or not", BreakoutBroadcast, ASSISTANT, "set the broadcast", _breakout_broadcast),
        Action("breakout-end", ROOM, "bring everyone back to the main room", NoArguments,
               ASSISTANT, "ended the breakouts", _breakout_end),
        Action("next", STACK, "give the floor to the head of the stack", NoArguments, ASSISTANT,
               "called on the next speaker", _next),
        Action("call", STACK, "give the floor to anyone in the room", OnParticipant, ASSISTANT,
               "called on", _call),
        Action("end-turn", STACK, "end the speaker's turn", NoArguments, ASSISTANT,
               "ended the turn", _end_turn),
        Action("move", STACK, "move an entry to a place in its lane", Move, ASSISTANT, "moved",
               _move),
        Action("remove", STACK, "take an entry off the stack", OnParticipant, ASSISTANT,
               "removed from the stack", _remove),
        Action("add", STACK, "put someone from the room on the stack", Add, ASSISTANT,
               "added to the stack", _add),
        Action("clear", STACK, "empty one lane, or all of them", Clear, ASSISTANT,
               "cleared the stack", _clear),
        Action("priority", STACK, "put an entry ahead within its lane, or not", Priority,
               ASSISTANT, "set the priority of", _priority),
        Action("policy", STACK, "order the stack fifo or progressive", Policy, ASSISTANT,
               "switched the policy", _policy),
        Action("limit", STACK, "set the speaking time limit in seconds for this call (off: none)",
               Limit, ASSISTANT, "set the speaking time limit", _limit),
        Action("auto-advance", STACK, "call on the next speaker by themselves when a turn ends "
               "(on) or not (off), for this call", Switch, ASSISTANT, "set auto-advance",
               _auto_advance),
    )
}  # fmt: skip


def of_group(group: Group) -> dict[str, Action[Any]]:
    return {name: action for name, action in ACTIONS.items() if action.group is group}


ROOM_ACTIONS = of_group(Group.ROOM)
STACK_ACTIONS = of_group(Group.STACK)
