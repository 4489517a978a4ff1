"""Breakouts: a moderator splits a live room into timed groups and brings everyone back.

Pure, like the speaker stack: ``split`` decides who goes where (``plan.py``); a ``Breakout``
(``session.py``) takes the moderators' commands, callers arriving and leaving, ``*0`` and the
clock, and answers with effects the live side carries out (``Move`` a channel, ``Warn``
the groups, ``Broadcast`` on or off, ``StintEnded`` for history). No I/O, no clock of its own.

- Groups are ``group-1``, ``group-2``, ... (a list file may name its own, slugs); each is its
  own ConfBridge, ``conference_name(room, group)``, which ``split_conference`` reads back so
  the roster shows group members as members of the room.
- Moderators stay in the main room unless moved into a group; joining a group clears its
  ``*0`` request.
- A latecomer goes to the smallest group (or stays in the main room, ``Latecomers.MAIN``); a
  caller who dropped and calls back (same caller ID) goes back to their group.
- "two minutes left" and "one minute left" play once each to every group; ``extend`` re-arms
  the marks still ahead; at the end everyone is moved back to the main room.
"""

from bridge.domain.breakouts.model import (
    GROUP_SEPARATOR,
    MAIN_ROOM,
    MAX_MINUTES,
    WARNINGS,
    BadGroupList,
    BreakoutChanged,
    BreakoutError,
    Broadcast,
    Effect,
    Latecomers,
    Member,
    Move,
    NoSuchGroup,
    NotInBreakout,
    SplitBy,
    StintEnded,
    Warn,
    conference_name,
    group_name,
    split_conference,
)
from bridge.domain.breakouts.plan import Plan, split
from bridge.domain.breakouts.session import Breakout

__all__ = [
    "GROUP_SEPARATOR",
    "MAIN_ROOM",
    "MAX_MINUTES",
    "WARNINGS",
    "BadGroupList",
    "Breakout",
    "BreakoutChanged",
    "BreakoutError",
    "Broadcast",
    "Effect",
    "Latecomers",
    "Member",
    "Move",
    "NoSuchGroup",
    "NotInBreakout",
    "Plan",
    "SplitBy",
    "StintEnded",
    "Warn",
    "conference_name",
    "group_name",
    "split",
    "split_conference",
]
