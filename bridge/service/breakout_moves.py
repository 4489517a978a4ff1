"""Breakout moves on Asterisk: each ``Move`` an AMI Redirect the roster is told about first
(``RemovalOrdered(MOVED)``, so the leave and join Asterisk reports are one move, the
caller's leg and stack place kept), a few at once, and those that did not land sent again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bridge.asterisk.conference import ConferenceBridge
from bridge.domain.breakouts import Move
from bridge.domain.events import LeaveReason, RemovalOrdered
from bridge.domain.roster import Switchboard
from bridge.errors import BridgeError
from bridge.service.pbx_directory import PbxDirectory

log = logging.getLogger(__name__)

MOVES_AT_ONCE = 25  # AMI Redirects in flight per breakout: 300 callers move in about a second
# When a move that has not landed by then is sent again (twice at most): one that reached a
# caller in a key's dialplan leaves them where they were (dialplan/extensions.conf,
# [iobridge-group]), and under load a few Redirects of 300 were lost (bench/README.md). A
# move on its way (the caller left their conference) is never sent again.
LANDING = 4.0  # seconds
RESENDS = 2
Wanted = Callable[[str, str], str | None]  # (room, channel) -> the group they belong in now


class GroupMoves:
    def __init__(
        self,
        pbxs: PbxDirectory,
        switchboard: Switchboard,
        order_removal: Callable[[RemovalOrdered], None],
        settled: Callable[[str], Awaitable[None]],
        wanted: Wanted,
    ) -> None:
        self.pbxs = pbxs
        self.switchboard = switchboard
        self._order_removal = order_removal
        self._settled = settled  # a channel out of its key dialogue (bridge.service.keys)
        self._wanted = wanted
        self._checks: set[asyncio.Task[None]] = set()  # moves looked at again (``_landed``)

    async def send(self, room: str, moves: list[Move]) -> int:
        """The moves side by side (a few at once); how many Asterisk refused."""
        if not moves:
            return 0
        limit = asyncio.Semaphore(MOVES_AT_ONCE)
        pbx = self.pbxs.bridge_for(room)
        failed = await asyncio.gather(*(self._moved(pbx, limit, m) for m in moves))
        check = asyncio.get_running_loop().create_task(self._landed(room, moves))
        self._checks.add(check)
        check.add_done_callback(self._checks.discard)
        return sum(failed)

    def stop(self) -> None:
        for task in self._checks:
            task.cancel()

    async def _moved(self, pbx: ConferenceBridge, limit: asyncio.Semaphore, move: Move) -> bool:
        """One move; True when Asterisk refused it (the caller hung up on the way, say)."""
        await self._settled(move.channel)  # a Redirect inside a key's dialplan ends the call
        async with limit:
            self._order_removal(
                RemovalOrdered(move.room, move.channel, LeaveReason.MOVED, time.time())
            )
            try:
                await pbx.move(move.room, move.channel, move.group)
            except BridgeError as exc:
                self._order_removal(RemovalOrdered(move.room, move.channel, None, time.time()))
                log.warning(
                    "breakout.move_failed room=%s channel=%s reason=%s",
                    move.room,
                    move.channel,
                    exc,
                )
                return True
        return False

    async def _landed(self, room: str, moves: list[Move]) -> None:
        """Moves that did not land within ``LANDING``: sent again, to where the breakout
        wants each person now (their group, or the main room once it ended)."""
        for _ in range(RESENDS):
            await asyncio.sleep(LANDING)
            live = self.switchboard.room(room)
            if live is None:
                return
            moves = [
                Move(room, move.channel, self._wanted(room, move.channel))
                for move in moves
                if move.channel in live.participants
            ]
            moves = [
                m
                for m in moves
                if not live.participants[m.channel].moving
                and live.participants[m.channel].group != m.group
            ]
            if not moves:
                return
            log.warning("breakout.moves_again room=%s count=%d", room, len(moves))
            limit = asyncio.Semaphore(MOVES_AT_ONCE)
            pbx = self.pbxs.bridge_for(room)
            await asyncio.gather(*(self._moved(pbx, limit, m) for m in moves))
