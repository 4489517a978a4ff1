"""The database: rooms and moderators (from the rooms file), the wrong PINs the guard
counts, the history of calls and participant legs, the panel's sessions, the API's tokens
and the moderators' actions. Typed SQLAlchemy 2 models; alembic owns the schema
(migrations/)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bridge.domain.pins import HASH_LENGTH
from bridge.domain.rooms import TITLE_LIMIT
from bridge.domain.schedule import Schedule
from bridge.store.schedule_text import ScheduleText

NETWORKS_LIMIT = 1000  # characters of a room's allowed networks

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class NetworkList(TypeDecorator[tuple[str, ...]]):
    """A room's allowed networks (``allow_sources``), kept as one comma-separated text."""

    impl = String(NETWORKS_LIMIT)
    cache_ok = True

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: Dialect) -> str:
        return ",".join(value or ())

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[str, ...]:
        return tuple(value.split(",")) if value else ()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Room(Base):
    """A room as provisioned from the rooms file. Removed rooms are retired, not deleted,
    so their call history keeps pointing somewhere. Its PINs are kept only as keyed hashes
    (``bridge.domain.pins``): the digits are in the rooms file and nowhere else."""

    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(TITLE_LIMIT))
    # On SQLite these columns still say VARCHAR(12) (migration 0007 renamed them in place;
    # SQLite does not enforce lengths).
    pin_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    moderator_pin_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    max_participants: Mapped[int] = mapped_column(Integer, default=500)
    muted_on_entry: Mapped[bool] = mapped_column(Boolean, default=False)
    queue: Mapped[str] = mapped_column(String(16), default="fifo")
    speaking_time_limit: Mapped[int] = mapped_column(Integer, default=0)
    record: Mapped[bool] = mapped_column(Boolean, default=False)
    announce_names: Mapped[bool] = mapped_column(Boolean, default=False)
    practice: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    ask_name: Mapped[bool] = mapped_column(Boolean, default=False)
    show_numbers_to_assistants: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_advance: Mapped[bool] = mapped_column(Boolean, default=False)
    rejoin_grace: Mapped[int] = mapped_column(Integer, default=120)
    process_key_interval: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    allow_sources: Mapped[tuple[str, ...]] = mapped_column(
        NetworkList, default=(), server_default=""
    )
    schedule: Mapped[Schedule | None] = mapped_column(ScheduleText)
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    show_pin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    admit_outside_schedule: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=text("true")
    )
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    breakout_latecomers: Mapped[str] = mapped_column(
        String(16), default="smallest", server_default="smallest"
    )
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A room opened on demand (``iobridge rooms open``, the panel) rather than from the
    # rooms file: a sync never touches it; it retires itself after ``closes_at``.
    on_demand: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    closes_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    opened_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        # A PIN picks one active room; a retired room's PIN may be given to a new room.
        Index(
            "uq_rooms_pin_active",
            "pin_hash",
            unique=True,
            sqlite_where=text("retired_at IS NULL"),
            postgresql_where=text("retired_at IS NULL"),
        ),
    )


class RoomsRevision(Base):
    """One row, bumped by database triggers on every write to ``rooms`` (migration 0002), in
    the writer's own transaction. A process that keeps the rooms in memory (the entry desk)
    reads this one number to know, exactly, whether its copy is still what the database says,
    whoever wrote: usually ``iobridge rooms sync``, in another process."""

    __tablename__ = "rooms_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class CredentialsRevision(Base):
    """One row, bumped by database triggers on every write to ``api_tokens``,
    ``moderators``, ``moderator_rooms`` and ``rooms`` (migration 0013): the service keeps
    the tokens it has seen in memory while this number stays (``bridge.service.tokens``)."""

    __tablename__ = "credentials_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class Moderator(Base):
    __tablename__ = "moderators"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # The hash as the rooms file gives it: a login may rehash ``password_hash`` with newer
    # parameters, and a sync must not read that as a changed password.
    file_password_hash: Mapped[str] = mapped_column(String(255))
    all_rooms: Mapped[bool] = mapped_column(Boolean, default=False)
    # The role that ``all_rooms`` grants: "host" or "assistant" (the rooms file's "*").
    all_rooms_role: Mapped[str] = mapped_column(String(16), default="host")
    rooms: Mapped[list[ModeratorRoom]] = relationship(
        back_populates="moderator", cascade="all, delete-orphan", lazy="selectin"
    )


class ModeratorRoom(Base):
    __tablename__ = "moderator_rooms"

    moderator_id: Mapped[int] = mapped_column(
        ForeignKey("moderators.id", ondelete="CASCADE"), primary_key=True
    )
    room_id: Mapped[int] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), default="host")  # or "assistant"
    moderator: Mapped[Moderator] = relationship(back_populates="rooms")
    room: Mapped[Room] = relationship(lazy="joined")


class PinKeyCheck(Base):
    """One row: the fingerprint of the key the rooms' PINs are hashed with (migration
    0007), so a process with another key is caught before it writes or matches a PIN."""

    __tablename__ = "pin_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(HASH_LENGTH))


class PinFailure(Base):
    """One failed PIN on the shared number, counted against its source by the guard
    (``bridge.domain.guard``), kept so that a restart does not lift a hold. The digits are
    never stored; a retired room's PIN is stored as the wrong PIN it sounds like."""

    __tablename__ = "pin_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(80), index=True)  # str(Source)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # guard.Outcome: wrong-pin, room-locked...
    room: Mapped[str | None] = mapped_column(String(40))  # the locked or full room that refused


class Call(Base):
    """A room's call: from its first join to its last leave."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("rooms.id", ondelete="SET NULL"), index=True
    )
    room_name: Mapped[str] = mapped_column(String(40), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When the retention purge replaced this call's caller IDs by pseudonyms ("caller 3").
    redacted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When a host purged this call's history ("purge this call"): the row stays to say so.
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When its recording files were deleted (by that purge, or the recordings' retention).
    recordings_purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    legs: Mapped[list[Leg]] = relationship(back_populates="call", lazy="raise")


class Leg(Base):
    """One participant's stay in one call."""

    __tablename__ = "legs"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(120), index=True)
    caller_id: Mapped[str] = mapped_column(String(80))
    caller_name: Mapped[str] = mapped_column(String(120), default="")
    label: Mapped[str] = mapped_column(String(80), default="", server_default="")  # moderators'
    role: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    talk_time: Mapped[float] = mapped_column(Float, default=0.0)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    # Why they left (bridge.domain.events.LeaveReason's value); None while in the call,
    # or when nobody saw them leave (closed after a restart, or before this was kept).
    leave_reason: Mapped[str | None] = mapped_column(String(16))
    call: Mapped[Call] = relationship(back_populates="legs")


class SavedStack(Base):
    """A live call's speaker stack, saved on every change, so that a restarted service
    carries on with exactly the stack it had (the same call row, the same hands)."""

    __tablename__ = "saved_stacks"

    call_id: Mapped[int] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(Text)  # the stack's to_state(), as JSON
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Turn(Base):
    """One speaker's turn on the floor, for the post-call report. Written by the speaker
    stack through ``bridge.store.turns.record_turn``; ``talk_time`` is the roster's (what
    Asterisk's talk detector heard during the turn), not the turn's length."""

    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    leg_id: Mapped[int | None] = mapped_column(ForeignKey("legs.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(120))
    caller_id: Mapped[str] = mapped_column(String(80))
    lane: Mapped[str] = mapped_column(String(16))  # process | direct | stack | called
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    talk_time: Mapped[float] = mapped_column(Float, default=0.0)
    ended_by: Mapped[str] = mapped_column(String(32), default="")


class StackEvent(Base):
    """Something that happened to the speaker stack (a hand raised, an entry moved ...)."""

    __tablename__ = "stack_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(120), default="")
    caller_id: Mapped[str] = mapped_column(String(80), default="")
    lane: Mapped[str] = mapped_column(String(16), default="")
    detail: Mapped[str] = mapped_column(String(200), default="")


class RecordingStart(Base):
    """Who started a recording of a call: "admin", a moderator's name, or "room setting"."""

    __tablename__ = "recording_starts"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), index=True
    )
    room_name: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(120), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_by: Mapped[str] = mapped_column(String(80))


class PanelSession(Base):
    """A moderator logged in to the panel. Only a hash of the cookie's token is kept, so a
    copy of the database opens no session."""

    __tablename__ = "panel_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    moderator_id: Mapped[int] = mapped_column(
        ForeignKey("moderators.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    moderator: Mapped[Moderator] = relationship(lazy="joined")


class ModeratorAction(Base):
    """The audit trail: who did what to whom in which room, when, and how it ended. Linked
    to the room's call when one was open, so it is part of that call's history."""

    __tablename__ = "moderator_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
    room_name: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))  # a moderator's username, or "admin"
    action: Mapped[str] = mapped_column(String(32))
    target_channel: Mapped[str] = mapped_column(String(120), default="")
    target_caller_id: Mapped[str] = mapped_column(String(80), default="")
    arguments: Mapped[str] = mapped_column(String(400), default="")  # the rest, as JSON
    result: Mapped[str] = mapped_column(String(32))  # "ok" or the failure's code
    message: Mapped[str] = mapped_column(String(400), default="")


class ApiToken(Base):
    """A script's bearer token for the JSON API, acting as one moderator with that
    moderator's rooms. Only the token's SHA-256 is kept: it is shown once, at creation.
    Deleting the moderator (a sync without them) deletes their tokens with them."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    moderator_id: Mapped[int] = mapped_column(
        ForeignKey("moderators.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # null: never
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A scope narrows the moderator's rights: GET only; only these rooms (slugs, space-
    # separated; null: every room of the moderator's).
    read_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    rooms: Mapped[str | None] = mapped_column(Text)
    moderator: Mapped[Moderator] = relationship(lazy="joined")
