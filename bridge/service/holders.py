"""Who holds a room for the rest of its call: a host may hand the room to another host
(the ``hand-over`` action), and while one holds it, the room's other hosts assist there
(``Principal.stepping_down``). A holder lasts until the call ends or the runtime stops:
the rooms file still says who the hosts are, a hand-over only says who runs this call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bridge.domain.accounts import Principal, Right
from bridge.domain.events import DomainEvent, Resynced, RoomEnded
from bridge.domain.roster import Switchboard
from bridge.errors import ActionRefused

# A moderator's role in a room as the rooms file gives it (None: not a moderator there).
RoleOf = Callable[[str, str], Awaitable[Right | None]]


class RoomHolders:
    def __init__(self, switchboard: Switchboard, role_of: RoleOf) -> None:
        self.switchboard = switchboard
        self.role_of = role_of
        self._holders: dict[str, str] = {}  # room -> username

    def holder(self, room: str) -> str | None:
        return self._holders.get(room)

    def acting(self, principal: Principal, room: str) -> Principal:
        """``principal`` with the rights it has in ``room`` now, hand-overs included."""
        return principal.stepping_down(room, self.holder(room))

    async def hand(self, room: str, giver: str, to: str) -> str:
        """``giver`` (a host of the room, checked by the action's right) hands ``room`` to
        ``to``, who must be one of its hosts in the rooms file; the name of the new holder."""
        if to == giver:
            raise ActionRefused(f"{to} already holds room '{room}'")
        role = await self.role_of(to, room)  # NoSuchModerator when there is no such account
        if role is None:
            raise ActionRefused(f"{to} is not a moderator of room '{room}': hand it to a host")
        if role is not Right.HOST:
            raise ActionRefused(f"{to} is an assistant in room '{room}': hand it to a host")
        self._holders[room] = to
        return to

    def on_event(self, event: DomainEvent) -> None:
        match event:
            case RoomEnded():
                self._holders.pop(event.room, None)
            case Resynced():
                for room in [r for r in self._holders if self.switchboard.room(r) is None]:
                    del self._holders[room]
