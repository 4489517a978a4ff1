"""A room's breakout while it runs: who is in which group, the clock, ``*0``, broadcast.

The live side asks it and carries out the effects. Membership here is where the bridge has
sent people; Asterisk's roster says where they are (the two agree once the moves land)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.domain.breakouts.model import (
    MAIN_ROOM,
    MAX_MINUTES,
    WARNINGS,
    BreakoutError,
    Broadcast,
    Effect,
    Latecomers,
    Member,
    Move,
    NoSuchGroup,
    StintEnded,
    Warn,
)
from bridge.domain.breakouts.plan import Plan

# A caller ID that names nobody in particular: such a caller is not recognised on return.
UNKNOWN_CALLERS = frozenset({"", "anonymous", "unknown", "restricted"})


def check_minutes(minutes: float) -> float:
    if not 0 < minutes <= MAX_MINUTES:
        raise BreakoutError(
            f"minutes must be more than 0 and at most {MAX_MINUTES}, got {minutes:g}"
        )
    return minutes


@dataclass
class Breakout:
    room: str
    started_at: float
    ends_at: float
    latecomers: Latecomers = Latecomers.SMALLEST
    groups: dict[str, dict[str, Member]] = field(default_factory=dict)  # group -> channel -> member
    since: dict[str, float] = field(default_factory=dict)  # channel -> in its group since
    homes: dict[str, str] = field(default_factory=dict)  # caller ID of who dropped -> group
    wants_moderator: set[str] = field(default_factory=set)
    warned: set[int] = field(default_factory=set)  # seconds-left marks played (or passed)
    broadcast: bool = False
    ended_at: float | None = None
    # Callers a moderator sent back to the main room: a restart must not take them for
    # latecomers (``resume``).
    sent_back: set[str] = field(default_factory=set)

    @classmethod
    def start(
        cls,
        room: str,
        plan: Plan,
        at: float,
        minutes: float,
        latecomers: Latecomers = Latecomers.SMALLEST,
    ) -> tuple[Breakout, list[Effect]]:
        breakout = cls(room, at, at + check_minutes(minutes) * 60, latecomers)
        breakout.groups = {name: {} for name in plan.names()}
        breakout._pass_marks(at)
        effects: list[Effect] = []
        for name, members in plan.groups:
            for member in members:
                effects += breakout._place(member, name, at)
        return breakout, effects

    # ---- reading -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.ended_at is None

    def group_of(self, channel: str) -> str | None:
        for name, members in self.groups.items():
            if channel in members:
                return name
        return None

    def smallest_group(self) -> str:
        return min(self.groups, key=lambda g: len(self.groups[g]))  # the first on a tie

    def members(self) -> list[Member]:
        return [m for members in self.groups.values() for m in members.values()]

    def as_json(self) -> dict[str, object]:
        """``iobridge breakout ROOM show --json``."""
        return {
            "room": self.room,
            "started_at": self.started_at,
            "ends_at": self.ends_at,
            "groups": [
                {
                    "name": name,
                    "members": [m.as_json() for m in members.values()],
                    "wants_moderator": name in self.wants_moderator,
                }
                for name, members in self.groups.items()
            ],
        }

    # ---- people --------------------------------------------------------------------------

    def arrive(self, member: Member, at: float) -> list[Effect]:
        """Someone joined the main room while the breakout runs: a caller who dropped goes
        back to their group, a new caller to the smallest group (or stays, as the setting
        says), a moderator stays."""
        if not self.running or self.group_of(member.channel) is not None or member.moderator:
            return []
        home = self.homes.pop(member.caller_id, None)
        if home is not None and home in self.groups:
            return self._place(member, home, at)
        if self.latecomers is Latecomers.MAIN:
            return []
        return self._place(member, self.smallest_group(), at)

    def leave(self, channel: str, at: float) -> list[Effect]:
        """``channel`` hung up (a move is not a leave): out of its group, its group kept for
        when the same caller ID calls back."""
        group = self.group_of(channel)
        if group is None:
            return []
        member = self.groups[group][channel]
        self.sent_back.discard(channel)
        if self.running and member.caller_id not in UNKNOWN_CALLERS and not member.moderator:
            self.homes[member.caller_id] = group
        return self._take_out(channel, at)

    def move(self, member: Member, to: str, at: float) -> list[Effect]:
        """A moderator moves someone to a group, or to ``main``; a moderator going into a
        group answers its ``*0``."""
        if not self.running:
            raise BreakoutError(f"the breakout in '{self.room}' has ended")
        if to != MAIN_ROOM and to not in self.groups:
            raise NoSuchGroup(to, list(self.groups))
        if self.group_of(member.channel) == (None if to == MAIN_ROOM else to):
            if member.moderator and to != MAIN_ROOM:  # sent where they are: still an answer
                self.wants_moderator.discard(to)
            return []
        effects = self._take_out(member.channel, at)
        if to == MAIN_ROOM:
            self.sent_back.add(member.channel)
            return [*effects, Move(self.room, member.channel, None)]
        return effects + self._place(member, to, at)

    def ask_moderator(self, channel: str) -> str | None:
        """``*0``: the caller's group wants a moderator; None when the caller is in no group."""
        group = self.group_of(channel)
        if group is not None and self.running:
            self.wants_moderator.add(group)
        return group

    # ---- the moderators' controls --------------------------------------------------------

    def extend(self, minutes: float, at: float) -> None:
        if not self.running:
            raise BreakoutError(f"the breakout in '{self.room}' has ended")
        self.ends_at = max(self.ends_at, at) + check_minutes(minutes) * 60
        self.warned = set()
        self._pass_marks(at)

    def set_broadcast(self, on: bool) -> list[Effect]:
        if not self.running:
            raise BreakoutError(f"the breakout in '{self.room}' has ended")
        if on == self.broadcast:
            return []
        self.broadcast = on
        return [Broadcast(self.room, on, tuple(self.groups))]

    def end(self, at: float) -> list[Effect]:
        """Everyone back to the main room."""
        if not self.running:
            return []
        effects: list[Effect] = []
        if self.broadcast:
            effects += self.set_broadcast(False)
        for member in self.members():
            effects += self._take_out(member.channel, at)
            effects.append(Move(self.room, member.channel, None))
        self.ended_at = at
        self.homes.clear()
        self.wants_moderator.clear()
        self.sent_back.clear()
        return effects

    # ---- across a restart ----------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """What a restarted service needs to carry on (JSON): ``from_state`` reads it back."""
        return {
            "room": self.room,
            "started_at": self.started_at,
            "ends_at": self.ends_at,
            "latecomers": str(self.latecomers),
            "groups": [
                {
                    "name": name,
                    "members": [
                        {**m.as_json(), "moderator": m.moderator, "since": self.since[c]}
                        for c, m in members.items()
                    ],
                }
                for name, members in self.groups.items()
            ],
            "homes": dict(self.homes),
            "wants_moderator": sorted(self.wants_moderator),
            "warned": sorted(self.warned),
            "broadcast": self.broadcast,
            "sent_back": sorted(self.sent_back),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Breakout:
        """The running breakout ``to_state`` saved (KeyError, ValueError: not one)."""
        breakout = cls(
            str(state["room"]),
            float(state["started_at"]),
            float(state["ends_at"]),
            Latecomers(state["latecomers"]),
            homes={str(k): str(v) for k, v in state["homes"].items()},
            wants_moderator={str(g) for g in state["wants_moderator"]},
            warned={int(s) for s in state["warned"]},
            broadcast=bool(state["broadcast"]),
            sent_back={str(c) for c in state["sent_back"]},
        )
        for group in state["groups"]:
            members = breakout.groups[str(group["name"])] = {}
            for m in group["members"]:
                member = Member(m["channel"], m["caller_id"], m["name"], bool(m["moderator"]))
                members[member.channel] = member
                breakout.since[member.channel] = float(m["since"])
        return breakout

    def resume(self, present: Mapping[str, tuple[Member, str | None]], at: float) -> list[Effect]:
        """After a restart, made to agree with where Asterisk has everyone now (``present``:
        channel -> the person and the group they are in, None for the main room). Who hung
        up meanwhile left (their stint ends now: when is not known); who is in a group's
        conference is in that group. Ended if its end passed meanwhile; otherwise whoever
        waits in the main room is sent on: to the group a move that had not landed was
        taking them to, or as a latecomer (those a moderator sent back stay)."""
        effects: list[Effect] = []
        for member in self.members():
            if member.channel not in present:
                effects += self.leave(member.channel, at)
        for channel, (member, group) in present.items():
            if group is not None and group in self.groups and self.group_of(channel) != group:
                effects += self._take_out(channel, at)
                self._place(member, group, at)  # no Move: Asterisk has them there already
        if at >= self.ends_at:
            return effects + self.end(at)
        for channel, (member, group) in present.items():
            if group is not None or channel in self.sent_back:
                continue
            wanted = self.group_of(channel)
            if wanted is not None:
                effects.append(Move(self.room, channel, wanted))
            else:
                effects += self.arrive(member, at)
        return effects

    # ---- the clock -----------------------------------------------------------------------

    def next_due(self) -> float | None:
        """When ``tick`` has something to do next; None once ended."""
        if not self.running:
            return None
        marks = [self.ends_at - s for s in WARNINGS if s not in self.warned]
        return min([*marks, self.ends_at])

    def tick(self, at: float) -> list[Effect]:
        """The warnings due by ``at`` (only the latest of several at once), or the end."""
        if not self.running:
            return []
        if at >= self.ends_at:
            return self.end(at)
        due = sorted(s for s in WARNINGS if s not in self.warned and at >= self.ends_at - s)
        if not due:
            return []
        self.warned.update(due)
        return [Warn(self.room, WARNINGS[due[0]], tuple(self.groups))]

    # ---- inside --------------------------------------------------------------------------

    def _pass_marks(self, at: float) -> None:
        """Marks already behind (a 1-minute breakout never hears "two minutes left")."""
        self.warned.update(s for s in WARNINGS if at >= self.ends_at - s)

    def _place(self, member: Member, group: str, at: float) -> list[Effect]:
        self.groups[group][member.channel] = member
        self.since[member.channel] = at
        self.sent_back.discard(member.channel)
        if member.moderator:
            self.wants_moderator.discard(group)
        return [Move(self.room, member.channel, group)]

    def _take_out(self, channel: str, at: float) -> list[Effect]:
        group = self.group_of(channel)
        if group is None:
            return []
        member = self.groups[group].pop(channel)
        since = self.since.pop(channel, at)
        return [
            StintEnded(
                self.room, group, channel, member.caller_id, member.name, since, max(since, at)
            )
        ]
