"""Cues, live: a moderator plays a built-in or an admin's own cue to everyone in a room
(``bridge.domain.cues``), through the room's PBX's announcer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bridge.domain.cues import Cue, cue_names, find_cue
from bridge.domain.languages import DEFAULT_LANGUAGE
from bridge.domain.rooms import RoomSpec
from bridge.domain.roster import Switchboard
from bridge.errors import NoSuchCue, NoSuchRoom
from bridge.service.pbx_directory import PbxDirectory

log = logging.getLogger(__name__)


class RoomCues:
    def __init__(
        self,
        pbxs: PbxDirectory,
        switchboard: Switchboard,
        own_cues: Callable[[], Awaitable[dict[str, Cue]]],
        sounds: Path,
        find_room: Callable[[str], Awaitable[RoomSpec | None]],
    ) -> None:
        self._pbxs = pbxs
        self.switchboard = switchboard
        self._own_cues = own_cues
        self.sounds = sounds  # io-bridge's own prompts, the built-in cues among them
        self._find_room = find_room  # the room's language: a built-in cue's speech in it

    async def names(self) -> list[str]:
        return cue_names(await self._own_cues())

    async def play(self, room: str, name: str) -> str:
        """Play cue ``name`` to everyone in ``room``; the name of what plays."""
        own = await self._own_cues()
        cue = find_cue(name, own)
        if cue is None:
            raise NoSuchCue(name, cue_names(own))
        if self.switchboard.pbx_connected and self.switchboard.room(room) is None:
            raise NoSuchRoom(room)
        file = self.sounds / cue.file if cue.built_in else Path(cue.file).with_suffix("")
        spec = await self._find_room(room)
        language = spec.language if spec is not None else DEFAULT_LANGUAGE
        await self._pbxs.bridge_for(room).play_cue(room, str(file), cue.loops, language)
        log.info("cue.played room=%s cue=%s", room, name)
        return cue.name
