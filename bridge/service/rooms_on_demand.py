"""Rooms on demand, live: a host opens one (the API, the panel, ``iobridge rooms open``),
and the service closes it when its time is up and nobody is in it.

The rules (who may, the name, fresh PINs, when it closes) are ``bridge.domain.on_demand``;
the rows are ``bridge.store.rooms_on_demand``. The PINs are made here and shown once, to
the host who asked: the database keeps only their keyed hashes, and no log line has them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bridge.domain.accounts import Principal
from bridge.domain.on_demand import (
    BadRoomRequest,
    RandBelow,
    RoomRequest,
    closes_now,
    fresh_pins,
    room_name,
)
from bridge.domain.rooms import RoomSpec
from bridge.domain.roster import Switchboard
from bridge.errors import BadField, NoSuchRoom, NotAllowed
from bridge.store.db import Database
from bridge.store.room_cache import RoomCache
from bridge.store.rooms_on_demand import (
    add_room_on_demand,
    close_room,
    due_rooms,
    room_names,
    taken_pin_hashes,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenedRoom:
    """A room just opened, with its PINs: what the host is shown, once."""

    name: str
    title: str
    pin: str = field(repr=False)
    moderator_pin: str = field(repr=False)
    closes_at: datetime


class RoomsOnDemand:
    def __init__(
        self,
        db: Database,
        rooms: RoomCache,
        switchboard: Switchboard,
        find_room: Callable[[str], Awaitable[RoomSpec | None]],
        rights_changed: Callable[[str], None],
        *,
        randbelow: RandBelow = secrets.randbelow,
    ) -> None:
        self._db = db
        self._rooms = rooms
        self._switchboard = switchboard
        self._find_room = find_room
        self._rights_changed = rights_changed  # the host's open panels see their new room
        self._randbelow = randbelow

    async def open(
        self,
        principal: Principal,
        title: str,
        *,
        hours: float,
        copy_settings_from: str | None = None,
        now: datetime | None = None,
    ) -> OpenedRoom:
        """Open a room for ``principal``: ``NotAllowed`` unless a host, ``BadField`` for
        a title or length that cannot be, ``NoSuchRoom`` for settings copied from nowhere."""
        if not principal.may_open_rooms():
            raise NotAllowed(f"{principal.username} may not open rooms (a room's host may)")
        try:
            request = RoomRequest(title, hours, copy_settings_from)
        except BadRoomRequest as exc:
            raise BadField(str(exc)) from None
        base = await self._settings_of(principal, copy_settings_from)
        now = now or datetime.now(UTC)
        closes_at = request.closes_at(now)
        key = self._rooms.pin_key
        async with self._db.sessions.begin() as session:
            name = room_name(request.title, await room_names(session), self._randbelow)
            pin, moderator_pin = fresh_pins(
                await taken_pin_hashes(session), key.hash, self._randbelow
            )
            # Another room's call settings, not its calendar: a room on demand has no
            # schedule, is never in the directory and is no practice room (its PINs are in
            # no rooms file).
            spec = replace(
                base,
                name=name,
                title=request.title,
                pin=pin,
                moderator_pin=moderator_pin,
                schedule=None,
                public=False,
                show_pin=False,
                admit_outside_schedule=True,
                practice=False,
            )
            await add_room_on_demand(
                session, spec, key, closes_at=closes_at, opened_by=principal.username
            )
        self._rights_changed(principal.username)
        log.info(
            "rooms.opened_on_demand room=%s by=%s closes_at=%s copied_from=%s",
            name, principal.username, closes_at.isoformat(), copy_settings_from or "-",
        )  # fmt: skip
        return OpenedRoom(name, request.title, pin, moderator_pin, closes_at)

    async def _settings_of(self, principal: Principal, room: str | None) -> RoomSpec:
        if room is None:
            return RoomSpec(name="", title="", pin="")
        if not principal.may_moderate(room):  # asked first: a name tells nobody anything
            raise NotAllowed(f"{principal.username} may not moderate room '{room}'")
        spec = await self._find_room(room)
        if spec is None:
            raise NoSuchRoom(room, "there is no such room to copy settings from")
        return spec

    async def close_due(self, now: datetime | None = None) -> list[str]:
        """Close every room opened on demand whose time is up and that is empty now."""
        now = now or datetime.now(UTC)
        closed = []
        async with self._db.sessions.begin() as session:
            for name, closes_at in await due_rooms(session, now):
                live = self._switchboard.room(name)  # history may lag a join: both asked
                if closes_now(closes_at, now, live.count if live else 0) and await close_room(
                    session, name, now
                ):
                    closed.append(name)
        for name in closed:
            log.info("rooms.closed_on_demand room=%s", name)
        return closed

    async def keep_closing(self, every: float) -> None:
        """Close due rooms now and then, until cancelled. A failed round (the database
        away) is logged and tried again next time; it never stops the service."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.close_due()
            except Exception as exc:  # the database may be away: try again next round
                log.error("rooms.close_on_demand_failed reason=%r", exc)
