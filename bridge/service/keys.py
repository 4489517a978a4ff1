"""Every key a caller presses in a room, to the feature it belongs to: ``poll1``..``poll9``
(the digits alone) to the room's poll, the rest (``hand``, ``direct``, ``process``,
``place``, ``mute``) to the speaker stack. The ``keys`` FastAGI route asks this."""

from __future__ import annotations

import logging

from bridge.asterisk.keypad import SILENCE, Answer
from bridge.domain.polls import BLOCK_KEY
from bridge.service.polls import RoomPolls
from bridge.service.speakers import SpeakerFloor

log = logging.getLogger(__name__)

POLL_KEY = "poll"  # the menu's name for digit N is pollN


class RoomKeys:
    def __init__(self, speakers: SpeakerFloor, polls: RoomPolls) -> None:
        self.speakers = speakers
        self.polls = polls

    async def key_pressed(self, room: str, channel: str, caller_id: str, key: str) -> Answer:
        digit = key.removeprefix(POLL_KEY)
        if digit == key:
            return await self.speakers.key_pressed(room, channel, caller_id, key)
        chose = self.polls.press(room, channel, digit)
        log.debug("poll.key room=%s key=%s counted=%s", room, digit, chose is not None)
        if chose is None:
            return Answer(SILENCE)  # no poll open, or no such option: the key does nothing
        if digit == BLOCK_KEY:
            return Answer("poll_block")
        return Answer("poll_answer", int(digit))
