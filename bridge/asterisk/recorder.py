"""Recording a room without the AMI "system" class: the AMI side of the bridge's recorder.

ConfBridge's own ConfbridgeStartRecord/StopRecord are registered under "system", which
also allows adding dialplan and loading modules. So a recording is a participant of the
bridge's own instead (dialplan ``[iobridge-recorder]``): an originated Local channel named
after the recording, ``Local/<room>-<YYYYmmdd-HHMMSS>@iobridge-recorder``, that records
what it hears and leaves by itself when nobody else is in the room. Stopping it is a
Hangup of that channel. Its ConfbridgeJoin and ConfbridgeLeave say "recording" and
"stopped"; it is never a participant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bridge.errors import BadField

CONTEXT = "iobridge-recorder"
WATCH_CONTEXT = "iobridge-recorder-watch"
STAMP = "[0-9]{8}-[0-9]{6}"  # recording_name()'s time stamp, as a POSIX regex
_ROOM = re.compile("[a-z0-9-]+")
_CHANNEL = re.compile(rf"^Local/[a-z0-9-]+-{STAMP}@{CONTEXT}-[0-9a-f]+;[12]$")
START_TIMEOUT_MS = 5000  # the recorder answers at once, or the dialplan refused it
# How long the bridge waits for Asterisk's answer to that Originate: past the Originate's
# own timeout, so that Asterisk has always said yes or no by then (the AMI's usual wait was
# the same 5 s, and a recorder that answered in its last moment ran while the moderator was
# told the start had failed). No answer even then: the bridge stops it (``Moderation``).
ANSWER_WITHIN_S = START_TIMEOUT_MS / 1000 + 5.0


def is_recorder(channel: str) -> bool:
    """Whether an AMI event's channel is one of the bridge's recorders."""
    return _CHANNEL.match(channel) is not None


def start_action(stem: str) -> dict[str, str]:
    """Originate the recorder for the recording named ``stem`` (``<room>-<stamp>``)."""
    return {
        "Action": "Originate",
        "Channel": f"Local/{stem}@{CONTEXT}/n",  # /n: keep both halves, the watch needs ;1
        "Context": WATCH_CONTEXT,
        "Exten": stem,
        "Priority": "1",
        "Async": "false",  # answer only once the dialplan accepted the room and the name
        "Timeout": str(START_TIMEOUT_MS),
        "CallerID": "io-bridge recorder <recorder>",
    }


def stop_action(room: str) -> dict[str, str]:
    """Hang up whatever recorder ``room`` has (both halves of its Local channel)."""
    if not _ROOM.fullmatch(room):  # the name goes into a regex: a slug has no metacharacter
        raise BadField(f"no room is named '{room}'")
    return {"Action": "Hangup", "Channel": f"/^Local\\/{room}-{STAMP}@{CONTEXT}-/"}


def hung_up_any(replies: Sequence[Any]) -> bool:
    return any(reply.get("Event") == "ChannelHungup" for reply in replies)
