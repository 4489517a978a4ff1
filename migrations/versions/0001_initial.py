"""rooms, moderators, pin attempts, lockouts, calls and legs

Revision ID: 0001
Revises:
Create Date: 2026-11-25 20:30:40.023928
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bridge.store.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lockouts",
        sa.Column("caller_id", sa.String(length=80), nullable=False),
        sa.Column("locked_at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("until", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("caller_id", name=op.f("pk_lockouts")),
    )
    op.create_table(
        "moderators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("all_rooms", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderators")),
        sa.UniqueConstraint("username", name=op.f("uq_moderators_username")),
    )
    op.create_table(
        "pin_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("caller_id", sa.String(length=80), nullable=False),
        sa.Column("at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pin_attempts")),
    )
    with op.batch_alter_table("pin_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pin_attempts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_pin_attempts_caller_id"), ["caller_id"], unique=False)

    op.create_table(
        "rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("pin", sa.String(length=12), nullable=False),
        sa.Column("moderator_pin", sa.String(length=12), nullable=True),
        sa.Column("max_participants", sa.Integer(), nullable=False),
        sa.Column("muted_on_entry", sa.Boolean(), nullable=False),
        sa.Column("queue", sa.String(length=16), nullable=False),
        sa.Column("speaking_time_limit", sa.Integer(), nullable=False),
        sa.Column("record", sa.Boolean(), nullable=False),
        sa.Column("announce_names", sa.Boolean(), nullable=False),
        sa.Column("retired_at", bridge.store.models.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        sa.UniqueConstraint("name", name=op.f("uq_rooms_name")),
    )
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.create_index(
            "uq_rooms_pin_active",
            ["pin"],
            unique=True,
            sqlite_where=sa.text("retired_at IS NULL"),
            postgresql_where=sa.text("retired_at IS NULL"),
        )

    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("room_name", sa.String(length=40), nullable=False),
        sa.Column("started_at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", bridge.store.models.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_calls_room_id_rooms"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_room_id"), ["room_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_room_name"), ["room_name"], unique=False)

    op.create_table(
        "moderator_rooms",
        sa.Column("moderator_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["moderators.id"],
            name=op.f("fk_moderator_rooms_moderator_id_moderators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name=op.f("fk_moderator_rooms_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("moderator_id", "room_id", name=op.f("pk_moderator_rooms")),
    )
    op.create_table(
        "legs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=120), nullable=False),
        sa.Column("caller_id", sa.String(length=80), nullable=False),
        sa.Column("caller_name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("joined_at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("left_at", bridge.store.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("talk_time", sa.Float(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_legs_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legs")),
    )
    with op.batch_alter_table("legs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legs_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_legs_channel"), ["channel"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("legs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legs_channel"))
        batch_op.drop_index(batch_op.f("ix_legs_call_id"))

    op.drop_table("legs")
    op.drop_table("moderator_rooms")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_room_name"))
        batch_op.drop_index(batch_op.f("ix_calls_room_id"))

    op.drop_table("calls")
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_rooms_pin_active",
            sqlite_where=sa.text("retired_at IS NULL"),
            postgresql_where=sa.text("retired_at IS NULL"),
        )

    op.drop_table("rooms")
    with op.batch_alter_table("pin_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pin_attempts_caller_id"))
        batch_op.drop_index(batch_op.f("ix_pin_attempts_at"))

    op.drop_table("pin_attempts")
    op.drop_table("moderators")
    op.drop_table("lockouts")
