"""Rooms and moderators in the database: provisioning from the rooms file, PIN look-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.events import Role
from bridge.domain.rooms import ROOM_SETTINGS, SECRET_SETTINGS, RoomsConfig, RoomSpec
from bridge.store.models import Call, Moderator, ModeratorRoom, Room, RoomsRevision

SECRET_FIELDS = SECRET_SETTINGS | {"password_hash"}


class SyncRefused(Exception):
    """The sync would pull a room out from under a call in progress; nothing was changed."""


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        out = [f"+ {what}" for what in self.added]
        out += [f"~ {what}" for what in self.changed]
        out += [f"- {what}" for what in self.removed]
        return out or ["nothing to change"]


def room_spec(row: Room) -> RoomSpec:
    return RoomSpec(name=row.name, **{key: getattr(row, key) for key in ROOM_SETTINGS})


def _describe_changes(row: object, values: dict[str, object]) -> list[str]:
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    return [f"{name} (hidden)" if name in SECRET_FIELDS else name for name in changed]


async def sync_rooms(
    session: AsyncSession, config: RoomsConfig, now: datetime | None = None
) -> SyncReport:
    """Make the database say what the file says, within the caller's transaction."""
    now = now or datetime.now(UTC)
    report = SyncReport()
    rows = {r.name: r for r in await session.scalars(select(Room))}
    wanted = {spec.name: spec for spec in config.rooms}

    busy = set(await session.scalars(select(Call.room_name).where(Call.ended_at.is_(None))))
    leaving = [name for name, row in rows.items() if name not in wanted and row.retired_at is None]
    refused = sorted(name for name in leaving if name in busy)
    if refused:
        raise SyncRefused(
            "room(s) with a call in progress cannot be removed: "
            + ", ".join(refused)
            + " (end the call or keep the room in the file, then sync again)"
        )

    # Describe before touching anything: the PIN shuffle below rewrites PINs for a moment.
    changes = {
        name: _describe_changes(row, wanted[name].settings())
        for name, row in rows.items()
        if name in wanted and row.retired_at is None
    }
    # PINs may move between rooms in one sync: park the moving ones first so the unique
    # index on active PINs never sees two rooms with one PIN mid-way.
    # A retired room keeps its PIN (a caller typing it hears that the room is closed).
    for name in leaving:
        rows[name].retired_at = now
        report.removed.append(f"room {name} (retired; its history is kept)")
    for name, row in rows.items():
        spec = wanted.get(name)
        if spec is not None and row.retired_at is None and spec.pin != row.pin:
            row.pin = f"~{row.id}"
    await session.flush()
    for name, spec in wanted.items():
        values = spec.settings()
        if name not in rows:
            session.add(Room(name=name, **values))
            report.added.append(f"room {name}")
            continue
        row = rows[name]
        if row.retired_at is not None:
            row.retired_at = None
            report.added.append(f"room {name} (brought back)")
        elif changes[name]:
            report.changed.append(f"room {name}: {', '.join(changes[name])}")
        for key, value in values.items():
            setattr(row, key, value)
    await session.flush()
    await _sync_moderators(session, config, report)
    return report


async def rooms_revision(session: AsyncSession) -> int:
    """A number that moves on every write to the rooms table: database triggers bump it
    (migration 0002), so a sync, a test or an admin's own SQL all count."""
    found = await session.scalar(select(RoomsRevision.revision).where(RoomsRevision.id == 1))
    return found or 0


async def _sync_moderators(session: AsyncSession, config: RoomsConfig, report: SyncReport) -> None:
    room_ids = {
        r.name: r.id for r in await session.scalars(select(Room).where(Room.retired_at.is_(None)))
    }
    rows = {m.username: m for m in await session.scalars(select(Moderator))}
    wanted = {m.username: m for m in config.moderators}
    for name, row in rows.items():
        if name not in wanted:
            await session.delete(row)
            report.removed.append(f"moderator {name}")
    for name, spec in wanted.items():
        all_rooms = "*" in spec.rooms
        room_set = set() if all_rooms else {room_ids[r] for r in spec.rooms}
        if name not in rows:
            account = Moderator(
                username=name,
                password_hash=spec.password_hash,
                file_password_hash=spec.password_hash,
                all_rooms=all_rooms,
            )
            account.rooms = [ModeratorRoom(room_id=rid) for rid in sorted(room_set)]
            session.add(account)
            report.added.append(f"moderator {name}")
            continue
        row = rows[name]
        changes = []
        if row.file_password_hash != spec.password_hash:  # a login's rehash is no change
            changes.append("password")
            row.password_hash = row.file_password_hash = spec.password_hash
        current = {link.room_id for link in row.rooms}
        if row.all_rooms != all_rooms or current != room_set:
            changes.append("rooms")
            row.all_rooms = all_rooms
            row.rooms = [link for link in row.rooms if link.room_id in room_set] + [
                ModeratorRoom(room_id=rid) for rid in sorted(room_set - current)
            ]
        if changes:
            report.changed.append(f"moderator {name}: {', '.join(changes)}")
    await session.flush()


@dataclass(frozen=True)
class PinMatch:
    room: RoomSpec
    role: Role
    retired: bool


async def match_pin(session: AsyncSession, digits: str) -> PinMatch | None:
    """The room and role a typed PIN opens; a retired room's PIN is reported as such."""
    if not digits:
        return None
    rows = (
        await session.scalars(
            select(Room)
            .where(or_(Room.pin == digits, Room.moderator_pin == digits))
            .order_by(Room.retired_at.is_not(None), Room.id)
        )
    ).all()
    for row in rows:
        role = Role.PARTICIPANT if row.pin == digits else Role.MODERATOR
        return PinMatch(room_spec(row), role, retired=row.retired_at is not None)
    return None


async def every_room(session: AsyncSession) -> list[tuple[RoomSpec, bool]]:
    """Every room with whether it is retired, in the order ``match_pin`` prefers them."""
    rows = await session.scalars(select(Room).order_by(Room.retired_at.is_not(None), Room.id))
    return [(room_spec(r), r.retired_at is not None) for r in rows]


async def active_rooms(session: AsyncSession) -> list[RoomSpec]:
    rows = await session.scalars(select(Room).where(Room.retired_at.is_(None)).order_by(Room.name))
    return [room_spec(r) for r in rows]


async def find_room(session: AsyncSession, name: str) -> RoomSpec | None:
    row = await session.scalar(select(Room).where(Room.name == name, Room.retired_at.is_(None)))
    return room_spec(row) if row else None


async def has_rooms(session: AsyncSession) -> bool:
    return (await session.scalar(select(Room.id).limit(1))) is not None
