"""The caller's name and place, recorded at entry in a room that asks for it (``ask_name``,
``announce_names``): part of the ``entry`` route, after the PIN and before ConfBridge.

The caller hears "after the tone, say your name and where you are calling from", a tone,
and is recorded until they press ``#``, stay silent for ``SILENCE_SECONDS``, or talk for
``LONGEST_MS``: a caller who says nothing is in the room a few seconds later. The
recording is bounded so that it never stands between a caller and the room (ConfBridge's
own name recording kept a silent caller ~20 s).

A room key pressed meanwhile (``*9`` to raise a hand) ends the recording too; it is not
lost but handed to the service, which runs it once the caller is in the room (the keys
route would have run it a moment later, had they been in already).
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Protocol

from bridge.asterisk.agi_channel import AgiChannel
from bridge.asterisk.fastagi import BadArguments

log = logging.getLogger(__name__)

PROMPT = "name-prompt"  # asterisk-config/sounds/: "after the tone, say your name and ..."
FORMAT = "wav"
SILENCE_SECONDS = 4  # silence that ends the recording
LONGEST_MS = 6000  # the recording's cap, whatever the caller does
NEXT_KEY_MS = 2000  # after *, how long the key's second digit may take
END = "#"
# The room keys that start with * (confbridge.conf's menus) and what the keys route calls
# them: the speaker stack's, which every role's menu has. Other keys during the recording
# only end it.
STAR_KEYS = {"9": "hand", "8": "direct", "7": "process", "1": "place"}


async def record_name(agi: AgiChannel, sounds: Path, file: Path) -> str | None:
    """Record the caller's name into ``file`` (a path without its extension, ``.wav``
    added); the room key they pressed meanwhile (``hand``...), or None."""
    await agi.play(str(sounds / PROMPT))
    result = await agi.command(
        f"RECORD FILE {file} {FORMAT} {END}* {LONGEST_MS} BEEP s={SILENCE_SECONDS}",
        timeout=LONGEST_MS / 1000 + 10,
    )
    value, how = result.get("result", ("", ""))
    if how != "dtmf" or _digit(value) != "*":
        return None
    second = await agi.command(f"WAIT FOR DIGIT {NEXT_KEY_MS}", timeout=NEXT_KEY_MS / 1000 + 5)
    key = STAR_KEYS.get(_digit(second.get("result", ("", ""))[0]) or "")
    log.info("agi.name_key channel=%s key=%s", agi.channel, key)
    return key


def names_folder(recordings: Path) -> Path:
    """Where Asterisk records the names (each deleted when its caller leaves): in the
    recordings folder, which Asterisk may write to, never listed as a recording."""
    return recordings / "names"


def _digit(code: object) -> str | None:
    """AGI answers a key with its character code (``42`` for ``*``)."""
    try:
        number = int(str(code))
    except ValueError:
        return None
    return chr(number) if 32 < number < 127 else None


class NameDesk(Protocol):
    """Where a caller's recorded name goes (``bridge.service.names.CallerNames``)."""

    folder: Path  # where Asterisk writes the recordings
    sounds: Path  # io-bridge's own prompts

    def name_recorded(self, room: str, channel: str, file: Path) -> None: ...

    def key_before_join(self, room: str, channel: str, caller_id: str, key: str) -> None: ...


_UNIQUE_ID = re.compile(r"[0-9]+\.[0-9]+")


async def take_name(agi: AgiChannel, room: str, names: NameDesk) -> None:
    """Record the name of a caller admitted to ``room``; hand over the recording and any
    room key pressed meanwhile."""
    unique_id = agi.headers.get("agi_uniqueid", "")
    if not _UNIQUE_ID.fullmatch(unique_id):
        raise BadArguments(f"not a channel's unique id: {unique_id[:40]!r}")
    file = names.folder / f"{room}-{unique_id}"
    started = asyncio.get_running_loop().time()
    key = await record_name(agi, names.sounds, file)
    log.info(
        "agi.name_taken channel=%s room=%s seconds=%.1f key=%s",
        agi.channel,
        room,
        asyncio.get_running_loop().time() - started,
        key,
    )
    names.name_recorded(room, agi.channel, file.with_name(f"{file.name}.wav"))
    if key is not None:
        names.key_before_join(room, agi.channel, agi.caller_id, key)
