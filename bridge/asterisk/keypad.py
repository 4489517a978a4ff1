"""The keys of a room: the FastAGI route ``keys``. A caller inside a room pressed *9, *8,
*7, *1 (the speaker stack), 1-9 (a poll's answer), or a key their room does not offer;
ConfBridge's menu ran ``dialplan_exec`` into ``[iobridge-keys]``, which calls
``agi://.../keys,KEY,ROOM``. The service decides; this module plays the answer to that
caller alone (they stay in the room meanwhile), or nothing at all (``SILENCE``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bridge.asterisk.agi_channel import AgiChannel, CallerGone
from bridge.asterisk.fastagi import BadArguments, Route

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
    "poll_answer": "your-answer",
    "poll_block": "you-block",
    "keys_paused": "keys-paused",
    "moderator_asked": "moderator-asked",  # *0 in a breakout group
    "process_held_back": "process-held-back",
    # A moderator's keys (bridge.phone_keys):
    "next_called": "next-called",
    "nobody_waiting": "nobody-waiting",
    "all_muted": "all-muted",
    "room_locked_now": "room-locked-now",
    "room_unlocked_now": "room-unlocked-now",
    "stack_length": "stack-length",
}
UNKNOWN = "key_not_available"
SILENCE = "nothing"  # a key that does nothing now (a poll key with no poll open): no answer
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

    def answered(self, channel: str) -> None:
        """The caller heard the answer (or hung up): their key dialogue is over."""


@dataclass(frozen=True)
class KeyPress:
    """The ``keys`` script's arguments: the key (the menu's name for it: hand, direct,
    process, place) and the room the dialplan believes the caller is in (the service
    trusts the roster first)."""

    key: str
    room: str

    @classmethod
    def of(cls, agi: AgiChannel) -> KeyPress:
        key = agi.argument(1)
        if not key:
            raise BadArguments("keys needs KEY,ROOM")
        return cls(key, agi.argument(2) or "")


def keys_route(keypad: Keypad, sounds: Path) -> Route[KeyPress]:
    """The ``keys`` script; ``sounds``: where io-bridge's own prompts are."""

    async def dialogue(agi: AgiChannel, press: KeyPress) -> None:
        await keys_dialogue(agi, press, keypad, sounds)

    return Route("keys", KeyPress.of, dialogue)


async def keys_dialogue(agi: AgiChannel, press: KeyPress, keypad: Keypad, sounds: Path) -> None:
    """Hand the key to the service; tell the caller what it did. Once the answer has
    played (or the caller hung up) the caller hears the room again: logged as
    ``keypad.answered`` with how long they were out of it."""
    key, room = press.key, press.room
    started = asyncio.get_running_loop().time()
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
        if answer.place is not None and answer.heard != SILENCE:
            await agi.command(f'SAY NUMBER {answer.place} ""')
    except CallerGone:
        log.debug("keypad.caller_gone channel=%s", agi.channel)
    finally:
        keypad.answered(agi.channel)
        log.debug(
            "keypad.answered channel=%s key=%s heard=%s seconds=%.2f",
            agi.channel,
            key,
            answer.heard,
            asyncio.get_running_loop().time() - started,
        )


def prompt_paths(answer: Answer, sounds: Path) -> Sequence[str]:
    if answer.heard == SILENCE:
        return []
    name = PROMPTS.get(answer.heard, PROMPTS[UNKNOWN])
    return [str(sounds / name)]  # Asterisk adds the extension it finds (.wav)
