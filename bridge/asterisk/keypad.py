"""The speaker stack's keys over FastAGI: a caller inside a room pressed *9, *8, *7, *1 (or a
key their room does not offer); ConfBridge's menu ran ``dialplan_exec`` into
``[iobridge-keys]``, which calls ``agi://.../keys,KEY,ROOM``. The service decides; this module
plays the answer to that caller alone (they stay in the room meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bridge.asterisk.agi_channel import AgiChannel, CallerGone

log = logging.getLogger(__name__)

# io-bridge's own prompts (asterisk-config/sounds/), by what the caller is told. Those that
# end in "number" are followed by the caller's place.
PROMPTS: dict[str, str] = {
    "hand_raised": "hand-raised",
    "direct_response": "direct-raised",
    "point_of_process": "process-raised",
    "hand_lowered": "hand-lowered",
    "turn_done": "turn-done",
    "place": "your-place",
    "not_queued": "not-in-queue",
    "have_floor": "you-have-the-floor",
    "key_not_available": "key-unavailable",
}
UNKNOWN = "key_not_available"
# The caller is out of the room's audio until the answer: the bridge must answer quickly.
ANSWER_WITHIN = 3.0  # seconds


@dataclass(frozen=True)
class Answer:
    """What one caller hears after a key: a prompt by name (see ``PROMPTS``), and a place."""

    heard: str
    place: int | None = None


class Keypad(Protocol):
    """What the keys ask of the service."""

    async def key_pressed(self, room: str, channel: str, caller_id: str, key: str) -> Answer: ...

    def answer_played(self, channel: str) -> None:
        """The caller has heard the answer (or hung up): they hear the room again."""


async def keys_dialogue(agi: AgiChannel, keypad: Keypad, sounds: Path) -> None:
    """Hand the key to the service; tell the caller what it did."""
    key = agi.headers.get("agi_arg_1", "")
    room = agi.headers.get("agi_arg_2", "")
    try:
        async with asyncio.timeout(ANSWER_WITHIN):
            answer = await keypad.key_pressed(room, agi.channel, agi.caller_id, key)
    except TimeoutError:
        log.error("keypad.too_slow channel=%s key=%s", agi.channel, key)
        answer = Answer(UNKNOWN)
    except Exception:
        log.exception("keypad.failed channel=%s key=%s", agi.channel, key)
        answer = Answer(UNKNOWN)
    try:
        await agi.play(*prompt_paths(answer, sounds))
        if answer.place is not None:
            await agi.command(f'SAY NUMBER {answer.place} ""')
    except CallerGone:
        log.debug("keypad.caller_gone channel=%s", agi.channel)
    finally:
        keypad.answer_played(agi.channel)


def prompt_paths(answer: Answer, sounds: Path) -> Sequence[str]:
    name = PROMPTS.get(answer.heard, PROMPTS[UNKNOWN])
    return [str(sounds / name)]  # Asterisk adds the extension it finds (.wav)
