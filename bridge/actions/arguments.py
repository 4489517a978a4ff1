"""What each moderator action takes: one pydantic model per shape of arguments, fields in
the order the CLI takes them. The API documents these models as the actions' bodies, and
the panel's buttons send their fields."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from bridge.domain.bars import MAX_BAR_MINUTES
from bridge.domain.breakouts import MAIN_ROOM, MAX_MINUTES, SplitBy
from bridge.domain.breakouts.model import GROUP_NAME, MAX_GROUPS
from bridge.domain.channels import CHANNEL, channel_problem
from bridge.domain.labels import MAX_LABEL, BadLabel, check_label
from bridge.domain.polls import DEFAULT_OPTIONS, MAX_OPTIONS, MAX_QUESTION, check_options
from bridge.domain.practice import MAX_SCENARIO_CALLERS, MAX_SPEED, MIN_SPEED
from bridge.domain.rooms import QueuePolicy
from bridge.domain.speakers import Lane

MAX_SCENARIO_TEXT = (
    12_000  # characters of a scenario file sent with an action (under its body limit)
)


def _channel(value: str) -> str:
    problem = channel_problem(value)
    if problem is not None:
        raise ValueError(problem)
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


MAX_LIMIT_SECONDS = 3600


def _limit(value: object) -> object:
    """``iobridge stack ROOM limit off`` (or 0): no limit."""
    if isinstance(value, str) and value.strip().lower() == "off":
        return 0
    return value


class Limit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: Annotated[
        int,
        BeforeValidator(_limit),
        Field(
            ge=0,
            le=MAX_LIMIT_SECONDS,
            description="the speaking time limit in seconds, from this turn on; 0 or off: none",
        ),
    ]


class Switch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["on", "off"]


class PlayCue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cue: Annotated[str, Field(min_length=1, max_length=40, description="a cue's name, e.g. chime")]


def _options(value: list[str]) -> list[str]:
    return list(check_options(tuple(value)))


def _split(value: object) -> object:
    """``iobridge room ROOM poll-open`` passes the options as one "a,b,c" argument."""
    if isinstance(value, str):
        return [part for part in value.split(",")] if value.strip() else []
    return value


class PollOpen(BaseModel):
    """``--options agree,unsure,disagree`` on the command line: a list here."""

    model_config = ConfigDict(extra="forbid")

    question: Annotated[str, Field(max_length=MAX_QUESTION)] = ""
    options: Annotated[list[str], BeforeValidator(_split), AfterValidator(_options)] = Field(
        default_factory=lambda: list(DEFAULT_OPTIONS),
        description=f"the answers, keys 1, 2, 3 ... in this order (1 to {MAX_OPTIONS})",
    )
    block: bool = False  # key 9 blocks


class HandOver(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Annotated[
        str,
        Field(
            pattern=r"^[a-z0-9._-]{1,64}$",
            description="the username of another host of the room, who runs the call from now",
        ),
    ]


def _label(value: str) -> str:
    try:
        return check_label(value)
    except BadLabel as exc:
        raise ValueError(str(exc)) from None


class LabelCaller(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    label: Annotated[
        str,
        AfterValidator(_label),
        Field(
            max_length=4 * MAX_LABEL,  # spaces around it are dropped; the rest is checked
            description="the caller's name and place, at most 80 characters; empty: none",
        ),
    ]


class Bar(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    minutes: Annotated[
        int | None,
        Field(
            ge=1,
            le=MAX_BAR_MINUTES,
            description="how long the bar holds; null or left out: until the call ends",
        ),
    ] = None


class Keys(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    state: Annotated[
        Literal["on", "off"],
        Field(description="off: the caller's keys do nothing (they hear why); on: they work"),
    ]


class PracticeStart(BaseModel):
    """A practice: a shipped scenario by name, or a scenario file's text (the CLI sends the
    file it was given, checked first)."""

    model_config = ConfigDict(extra="forbid")

    scenario: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,60}$")] = "general-assembly"
    scenario_text: Annotated[str | None, Field(max_length=MAX_SCENARIO_TEXT)] = None
    callers: Annotated[int | None, Field(ge=1, le=MAX_SCENARIO_CALLERS)] = None
    speed: Annotated[float, Field(ge=MIN_SPEED, le=MAX_SPEED)] = 1.0


def one_a_line(value: object) -> object:
    """One text of numbers (the panel's box, ``iobridge room ROOM dialout-start``): a line
    each; a list is taken as it is."""
    if isinstance(value, str):
        return value.splitlines()
    return value


class DialOutStart(BaseModel):
    """Numbers to call into the room; each is checked (E.164, its trunk's prefixes, the daily
    cap) before any is dialled."""

    model_config = ConfigDict(extra="forbid")

    numbers: Annotated[
        list[Annotated[str, Field(max_length=200)]],
        BeforeValidator(one_a_line),
        Field(
            min_length=1,
            max_length=1000,
            description="one number a line, E.164 (+15557770001), an optional name after a "
            "comma: '+15557770001, Alex'",
        ),
    ]
    trunk: Annotated[
        str | None,
        Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="the trunk; null: the first "
              "whose allowed prefixes take the number"),
    ] = None  # fmt: skip
    confirm: bool = Field(
        True, description='the callee hears "press 1 to join" and joins only on 1'
    )
    retries: Annotated[
        int, Field(ge=0, le=5, description="more attempts for busy or unanswered, "
                   "retry_after apart")
    ] = 1  # fmt: skip
    retry_after: Annotated[
        float | None,
        Field(ge=1, le=3600, description="seconds between a number's attempts; null: the "
              "bridge's IOBRIDGE_DIALOUT_RETRY_SECONDS (60 unless the admin set it)"),
    ] = None  # fmt: skip


class DialOutCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Annotated[
        str | None,
        Field(max_length=40, description="the number to stop calling; null: every call out"),
    ] = None


# ---- breakouts ---------------------------------------------------------------------------

Minutes = Annotated[
    float,
    Field(gt=0, le=MAX_MINUTES, description=f"minutes, more than 0 and at most {MAX_MINUTES}"),
]
GroupName = Annotated[
    str,
    Field(
        pattern=f"^{GROUP_NAME.pattern}$",
        description=f"a group's name (group-1, group-2, ...), or {MAIN_ROOM}: the main room",
    ),
]


class BreakoutStart(BaseModel):
    """``--groups N`` or ``--size K`` (one of them; neither with ``--by list``)."""

    model_config = ConfigDict(extra="forbid")

    groups: Annotated[int | None, Field(ge=1, le=MAX_GROUPS)] = None
    size: Annotated[int | None, Field(ge=1, le=10_000)] = None
    minutes: Minutes = 10.0
    by: SplitBy = SplitBy.RANDOM
    listed: Annotated[
        dict[GroupName, Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]],
                                  Field(max_length=10_000)]] | None,
        Field(
            max_length=MAX_GROUPS,
            description="with by=list: each group's name and whom it holds (caller IDs or "
            "channels); callers it leaves out fill the smallest groups",
        ),
    ] = None  # fmt: skip

    @model_validator(mode="after")
    def _one_way(self) -> BreakoutStart:
        if self.by is SplitBy.LIST:
            if self.listed is None:
                raise ValueError("by list needs the list (--file FILE.yaml)")
        elif (self.groups is None) == (self.size is None):
            raise ValueError("give the number of groups or their size, one of them")
        elif self.listed is not None:
            raise ValueError("a list is for by list only")
        return self


class BreakoutExtend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: Minutes


class BreakoutMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    group: GroupName


class BreakoutBroadcast(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Annotated[
        Literal["on", "off"],
        Field(description="on: the main room's moderators heard in every group; off: not"),
    ]
