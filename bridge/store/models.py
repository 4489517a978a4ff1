"""The database: rooms and moderators (from the rooms file), PIN attempts and lockouts,
and the history of calls and participant legs. Typed SQLAlchemy 2 models; alembic owns
the schema (migrations/)."""

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
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Room(Base):
    """A room as provisioned from the rooms file. Removed rooms are retired, not deleted,
    so their call history keeps pointing somewhere."""

    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    pin: Mapped[str] = mapped_column(String(12))
    moderator_pin: Mapped[str | None] = mapped_column(String(12))
    max_participants: Mapped[int] = mapped_column(Integer, default=500)
    muted_on_entry: Mapped[bool] = mapped_column(Boolean, default=False)
    queue: Mapped[str] = mapped_column(String(16), default="fifo")
    speaking_time_limit: Mapped[int] = mapped_column(Integer, default=0)
    record: Mapped[bool] = mapped_column(Boolean, default=False)
    announce_names: Mapped[bool] = mapped_column(Boolean, default=False)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        # A PIN picks one active room; a retired room's PIN may be given to a new room.
        Index(
            "uq_rooms_pin_active",
            "pin",
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


class Moderator(Base):
    __tablename__ = "moderators"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    all_rooms: Mapped[bool] = mapped_column(Boolean, default=False)
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
    moderator: Mapped[Moderator] = relationship(back_populates="rooms")
    room: Mapped[Room] = relationship(lazy="joined")


class PinAttempt(Base):
    """One PIN typed on the shared number. The digits are never stored."""

    __tablename__ = "pin_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    caller_id: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    success: Mapped[bool] = mapped_column(Boolean)


class Lockout(Base):
    __tablename__ = "lockouts"

    caller_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    locked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    failures: Mapped[int] = mapped_column(Integer)


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
    legs: Mapped[list[Leg]] = relationship(back_populates="call", lazy="raise")


class Leg(Base):
    """One participant's stay in one call."""

    __tablename__ = "legs"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(120), index=True)
    caller_id: Mapped[str] = mapped_column(String(80))
    caller_name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    talk_time: Mapped[float] = mapped_column(Float, default=0.0)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    call: Mapped[Call] = relationship(back_populates="legs")
