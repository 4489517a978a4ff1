"""Announcements the whole room hears: the AMI side of the bridge's announcer.

ConfBridge plays its own sounds to one caller or on joins and leaves, and has no action
that plays a file to a whole conference. So an announcement is a participant of the
bridge's own (dialplan ``[iobridge-announce]``): an originated Local channel whose ;2 half
joins the room as a quiet admin (profile ``iobridge_announcer``: heard by everyone, joins
a locked or full room, untouched by "mute participants"), while its ;1 half plays the
prompt (``[iobridge-announce-play]``) and hangs up, which takes the announcer out again.
Its ConfbridgeJoin/Leave are never a participant's (``is_announcer``).

The same announcer also holds a room open (extension ``hold``: silent, for a while): a
breakout moves everyone out of the main room at once, and ConfBridge's last leaver of a
conference waits, in its own channel, until the conference's sound queue has played out
(the leave beeps of all who left before: 0.4 s each) before it goes on to its group. With
the holder in the room, nobody moved is its last leaver (bench/README.md, Breakouts).

A cue (``bridge.domain.cues``) is the same announcer playing a file named in the
variable ``IOBRIDGE_CUE`` (extension ``cue``), or looping it while anyone else is in the
room (``cue-loop``: hold music). Playing a cue first hangs up the room's announcers, so a
cue still playing (hold music) stops.
"""

from __future__ import annotations

import re

from bridge.domain.languages import DEFAULT_LANGUAGE, LANGUAGES
from bridge.errors import BadField

CONTEXT = "iobridge-announce"
PLAY_CONTEXT = "iobridge-announce-play"
# A breakout's broadcast: one Local channel per group, ;2 in the group as the announcer, ;1 a
# muted listener in the main room (dialplan [iobridge-broadcast], [iobridge-broadcast-listen]).
BROADCAST_CONTEXT = "iobridge-broadcast"
LISTEN_CONTEXT = "iobridge-broadcast-listen"
# What can be announced: an extension of [iobridge-announce-play] each.
RECORDING_STARTED = "recording"
ANNOUNCEMENTS = frozenset({RECORDING_STARTED})
HOLD = "hold"  # stays silent in the room a while ([iobridge-announce-play], 20 s)
CUE, CUE_LOOP = "cue", "cue-loop"  # a cue's file is in the variable IOBRIDGE_CUE
NAME_JOINED, NAME_LEFT = "name-joined", "name-left"  # a caller's name, in IOBRIDGE_CUE too
NAME_COUNT = "name-count"  # names folded into a count: IOBRIDGE_JOINED, IOBRIDGE_LEFT
_UNSAFE = set(",|;&\"'`$\\{}()\n\r\t ")
# A room, or a breakout group's conference (``ROOM~group-1``): "~" is no regex metacharacter.
_ROOM = re.compile("[a-z0-9][a-z0-9-]*(~[a-z0-9][a-z0-9-]*)?")
_CHANNEL = re.compile(rf"^Local/[a-z0-9~-]+@({CONTEXT}|{BROADCAST_CONTEXT})-[0-9a-f]+;[12]$")
ANSWER_TIMEOUT_MS = 5000  # the announcer joins at once, or the dialplan refused the room


def is_announcer(channel: str) -> bool:
    """Whether an AMI event's channel is one of the bridge's announcers."""
    return _CHANNEL.match(channel) is not None


def announce_action(room: str, what: str, language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """Originate the announcer into ``room`` to play the announcement ``what`` in
    ``language`` (the room's)."""
    _check_room(room)
    if what not in ANNOUNCEMENTS:
        raise BadField(f"no announcement named {what!r}")
    action = _originate(room, what)
    action["Variable"] = _language_variable(language)
    return action


def hold_action(room: str) -> dict[str, str]:
    """Originate the announcer into ``room`` to stay there, silent, for 20 s; answered
    once it is in."""
    _check_room(room)
    return _originate(room, HOLD)


def cue_action(
    room: str, file: str, loops: bool, language: str = DEFAULT_LANGUAGE
) -> dict[str, str]:
    """Originate the announcer into ``room`` to play ``file`` (a path without its
    extension) once, or over and over while anyone else is in the room (``loops``); a
    built-in cue's speech in ``language`` (the room's: ``sounds/<language>/<cue>``)."""
    _check_room(room)
    _check_file(file)
    action = _originate(room, CUE_LOOP if loops else CUE)
    action["Variable"] = (
        f"IOBRIDGE_CUE={file},IOBRIDGE_CUE_ROOM={room},{_language_variable(language)}"
    )
    return action


def _language_variable(language: str) -> str:
    """The announcer's language (the half that plays, ;1): Asterisk picks each prompt by it."""
    if language not in LANGUAGES:
        raise BadField(f"not a language: {language!r}")
    return f"CHANNEL(language)={language}"


def name_action(
    room: str, file: str, joined: bool, language: str = DEFAULT_LANGUAGE
) -> dict[str, str]:
    """Originate the announcer into ``room`` to play a caller's name (``file``, a path
    without its extension) and "has joined" (``joined``) or "has left", in ``language``
    (the room's). It does not stop a cue that plays: both are heard."""
    _check_room(room)
    _check_file(file)
    action = _originate(room, NAME_JOINED if joined else NAME_LEFT)
    action["Variable"] = f"IOBRIDGE_CUE={file},{_language_variable(language)}"
    return action


def name_count_action(
    room: str, joined: int, left: int, language: str = DEFAULT_LANGUAGE
) -> dict[str, str]:
    """Originate the announcer into ``room`` to say how many joined and left ("joined the
    call: 12", "left the call: 3"), in ``language``: names folded into a count."""
    _check_room(room)
    if joined < 0 or left < 0 or joined + left == 0:
        raise BadField(f"nothing to count: {joined} joined, {left} left")
    action = _originate(room, NAME_COUNT)
    action["Variable"] = (
        f"IOBRIDGE_JOINED={joined},IOBRIDGE_LEFT={left},{_language_variable(language)}"
    )
    return action


def _check_file(file: str) -> None:
    if not file.startswith("/") or _UNSAFE & set(file):
        raise BadField(f"not a file Asterisk can play safely: {file!r}")


def silence_action(room: str) -> dict[str, str]:
    """Hang up whatever the room's announcers are playing (both halves of each)."""
    _check_room(room)
    return {"Action": "Hangup", "Channel": f"/^Local\\/{room}@{CONTEXT}-/"}


def broadcast_action(room: str, conference: str) -> dict[str, str]:
    """The main room ``room`` heard in the group's ``conference``, one way."""
    _check_room(room)
    _check_room(conference)
    return {
        "Action": "Originate",
        "Channel": f"Local/{conference}@{BROADCAST_CONTEXT}/n",
        "Context": LISTEN_CONTEXT,
        "Exten": room,
        "Priority": "1",
        "Async": "true",  # thirty groups at once: the bridge does not wait for each
        "CallerID": "io-bridge <broadcast>",
    }


def broadcast_stop_action(room: str) -> dict[str, str]:
    """Hang up every group's broadcast channel of ``room``."""
    _check_room(room)
    return {
        "Action": "Hangup",
        "Channel": f"/^Local\\/{room}~[a-z0-9-]+@{BROADCAST_CONTEXT}-/",
    }


def _check_room(room: str) -> None:
    if not _ROOM.fullmatch(room):  # the name goes into a regex: a slug has no metacharacter
        raise BadField(f"not a room name: {room!r}")


def _originate(room: str, what: str) -> dict[str, str]:
    return {
        "Action": "Originate",
        "Channel": f"Local/{room}@{CONTEXT}/n",  # /n: ;1 plays into ;2, keep both halves
        "Context": PLAY_CONTEXT,
        "Exten": what,
        "Priority": "1",
        "Async": "false",  # answered only once the announcer is let into the room
        "Timeout": str(ANSWER_TIMEOUT_MS),
        "CallerID": "io-bridge <announcer>",
    }
