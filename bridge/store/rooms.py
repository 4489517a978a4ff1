"""Rooms and moderators in the database: provisioning from the rooms file, PIN look-up.

PINs are stored as keyed hashes (``bridge.domain.pins``): a sync hashes the file's PINs, a
look-up hashes the typed digits. Rooms read back carry no PINs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.events import Role
from bridge.domain.pins import PinKey
from bridge.domain.rooms import (
    ROOM_SETTINGS,
    SECRET_SETTINGS,
    ModeratorSpec,
    RoomsConfig,
    RoomSpec,
)
from bridge.store.accounts import end_sessions_of
from bridge.store.cues import sync_cues
from bridge.store.known_callers import FROM_FILE, store_known
from bridge.store.models import Call, Moderator, ModeratorRoom, Room, RoomsRevision
from bridge.store.pin_key import check_pin_key, replace_pin_key
from bridge.store.tokens import revoke_tokens_of
from bridge.store.trunks import sync_trunks

# A PIN setting of the file, and the column that keeps its hash.
PIN_COLUMNS = {"pin": "pin_hash", "moderator_pin": "moderator_pin_hash"}
SETTING_OF_COLUMN = {column: setting for setting, column in PIN_COLUMNS.items()}
SECRET_FIELDS = SECRET_SETTINGS | set(PIN_COLUMNS.values()) | {"password_hash"}


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
    """A room as stored: every setting but its PINs (the database has only their hashes)."""
    values = {key: getattr(row, key) for key in ROOM_SETTINGS if key not in PIN_COLUMNS}
    return RoomSpec(name=row.name, pin="", moderator_pin=None, **values)


def stored_values(spec: RoomSpec, pin_key: PinKey) -> dict[str, object]:
    """A room's columns as the file says them: its PINs hashed."""
    return {  # in the settings' order: a change report lists them so
        PIN_COLUMNS.get(name, name): pin_key.hash_optional(value) if name in PIN_COLUMNS else value
        for name, value in spec.settings().items()
    }


def _describe_changes(row: object, values: dict[str, object]) -> list[str]:
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    names = [SETTING_OF_COLUMN.get(name, name) for name in changed]
    return [f"{name} (hidden)" if name in SECRET_FIELDS else name for name in names]


async def sync_rooms(
    session: AsyncSession,
    config: RoomsConfig,
    now: datetime | None = None,
    *,
    pin_key: PinKey,
    new_pin_key: bool = False,
) -> SyncReport:
    """Make the database say what the file says, within the caller's transaction.
    ``new_pin_key``: the PINs are hashed with ``pin_key`` from now on, whatever key the
    database had (the old one was lost); otherwise a database hashed with another key is
    refused (``PinKeyMismatch``)."""
    now = now or datetime.now(UTC)
    if new_pin_key:
        await replace_pin_key(session, pin_key)
    else:
        await check_pin_key(session, pin_key, adopt=True)
    report = SyncReport()
    # Rooms opened on demand are not the file's: a sync neither retires nor changes them.
    every_row = list(await session.scalars(select(Room)))
    rows = {r.name: r for r in every_row if not r.on_demand}
    wanted = {spec.name: spec for spec in config.rooms}
    wanted_values = {name: stored_values(spec, pin_key) for name, spec in wanted.items()}
    _refuse_clashes([r for r in every_row if r.on_demand], wanted_values)

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
        name: _describe_changes(row, wanted_values[name])
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
        values = wanted_values.get(name)
        if values is not None and row.retired_at is None and values["pin_hash"] != row.pin_hash:
            row.pin_hash = f"~{row.id}"
    await session.flush()
    for name in wanted:
        values = wanted_values[name]
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
    await _sync_moderators(session, config, report, now)
    for added, changed, removed in (
        await sync_cues(session, config.cues),
        await sync_trunks(session, config.trunks),
        await store_known(session, config.directory, FROM_FILE, replace=True),
    ):
        report.added += added
        report.changed += changed
        report.removed += removed
    return report


def _refuse_clashes(on_demand: list[Room], wanted: dict[str, dict[str, object]]) -> None:
    """The file may not take the name or a PIN of a room opened on demand (its hosts and
    callers hold them); the PINs are compared as the keyed hashes the database has."""
    names = {row.name for row in on_demand}
    held = {h for row in on_demand for h in (row.pin_hash, row.moderator_pin_hash) if h}
    problems = [
        f"room {name}: the name of a room opened on demand" for name in wanted if name in names
    ]
    problems += [
        f"room {name}: {SETTING_OF_COLUMN[column]} is a PIN of a room opened on demand"
        for name, values in wanted.items()
        for column in PIN_COLUMNS.values()
        if values[column] in held
    ]
    if problems:
        raise SyncRefused("; ".join(problems) + " (choose another in the file, then sync again)")


async def rooms_revision(session: AsyncSession) -> int:
    """A number that moves on every write to the rooms table: database triggers bump it
    (migration 0002), so a sync, a test or an admin's own SQL all count."""
    found = await session.scalar(select(RoomsRevision.revision).where(RoomsRevision.id == 1))
    return found or 0


async def _sync_moderators(
    session: AsyncSession, config: RoomsConfig, report: SyncReport, now: datetime
) -> None:
    active = list(await session.scalars(select(Room).where(Room.retired_at.is_(None))))
    room_ids = {r.name: r.id for r in active if not r.on_demand}
    # A host's own rooms opened on demand stay theirs whatever the file says.
    own_rooms = {r.id for r in active if r.on_demand}
    rows = {m.username: m for m in await session.scalars(select(Moderator))}
    wanted = {m.username: m for m in config.moderators}
    for name, row in rows.items():
        if name not in wanted:
            await session.delete(row)
            report.removed.append(f"moderator {name}")
    for name, spec in wanted.items():
        all_rooms = "*" in spec.rooms
        roles = {} if all_rooms else {room_ids[r]: _role(spec, r) for r in spec.rooms}
        all_rooms_role = _role(spec, "*")
        if name not in rows:
            account = Moderator(
                username=name,
                password_hash=spec.password_hash,
                file_password_hash=spec.password_hash,
                all_rooms=all_rooms,
                all_rooms_role=all_rooms_role,
            )
            account.rooms = [ModeratorRoom(room_id=rid, role=roles[rid]) for rid in sorted(roles)]
            session.add(account)
            report.added.append(f"moderator {name}")
            continue
        row = rows[name]
        changes = []
        if row.file_password_hash != spec.password_hash:  # a login's rehash is no change
            # Whoever knew the old password is out: their sessions end, their tokens stop.
            changes.append("password (sessions ended, tokens revoked)")
            row.password_hash = row.file_password_hash = spec.password_hash
            await end_sessions_of(session, row.id)
            await revoke_tokens_of(session, row.id, now)
        own = [link for link in row.rooms if link.room_id in own_rooms]
        current = {link.room_id: link.role for link in row.rooms if link.room_id not in own_rooms}
        if row.all_rooms != all_rooms or set(current) != set(roles):
            changes.append("rooms")
        elif current != roles or (all_rooms and row.all_rooms_role != all_rooms_role):
            changes.append("roles")
        row.all_rooms, row.all_rooms_role = all_rooms, all_rooms_role
        kept = [link for link in row.rooms if link.room_id in roles]
        for link in kept:
            link.role = roles[link.room_id]
        added = sorted(set(roles) - set(current))
        row.rooms = own + kept + [ModeratorRoom(room_id=rid, role=roles[rid]) for rid in added]
        if changes:
            report.changed.append(f"moderator {name}: {', '.join(changes)}")
    await session.flush()


def _role(spec: ModeratorSpec, room: str) -> str:
    return "assistant" if room in spec.assisting else "host"


@dataclass(frozen=True)
class PinMatch:
    room: RoomSpec
    role: Role
    retired: bool


@dataclass(frozen=True)
class StoredRoom:
    """A room as the entry desk needs it: its settings and its PINs' hashes."""

    spec: RoomSpec
    retired: bool
    pin_hash: str = field(repr=False)
    moderator_pin_hash: str | None = field(repr=False)
    on_demand: bool = False  # opened by a host, not from the rooms file
    closes_at: datetime | None = None


async def match_pin(session: AsyncSession, digits: str, pin_key: PinKey) -> PinMatch | None:
    """The room and role a typed PIN opens; a retired room's PIN is reported as such."""
    if not digits:
        return None
    hashed = pin_key.hash(digits)
    rows = (
        await session.scalars(
            select(Room)
            .where(or_(Room.pin_hash == hashed, Room.moderator_pin_hash == hashed))
            .order_by(Room.retired_at.is_not(None), Room.id)
        )
    ).all()
    for row in rows:
        role = Role.PARTICIPANT if row.pin_hash == hashed else Role.MODERATOR
        return PinMatch(room_spec(row), role, retired=row.retired_at is not None)
    return None


async def every_room(session: AsyncSession) -> list[StoredRoom]:
    """Every room, in the order ``match_pin`` prefers them."""
    rows = await session.scalars(select(Room).order_by(Room.retired_at.is_not(None), Room.id))
    return [
        StoredRoom(
            room_spec(r),
            r.retired_at is not None,
            r.pin_hash,
            r.moderator_pin_hash,
            r.on_demand,
            r.closes_at,
        )
        for r in rows
    ]


async def active_rooms(session: AsyncSession) -> list[RoomSpec]:
    rows = await session.scalars(select(Room).where(Room.retired_at.is_(None)).order_by(Room.name))
    return [room_spec(r) for r in rows]


async def find_room(session: AsyncSession, name: str) -> RoomSpec | None:
    row = await session.scalar(select(Room).where(Room.name == name, Room.retired_at.is_(None)))
    return room_spec(row) if row else None


async def has_rooms(session: AsyncSession) -> bool:
    return (await session.scalar(select(Room.id).limit(1))) is not None
