"""PINs kept as keyed hashes; the guard's wrong PINs per source replace caller-ID lockouts

The rooms' PINs are hashed here, with the install's PIN key (``pin-key`` in the state
folder), which ``bridge.store.db.upgrade`` hands over: the hashing is part of the same
transaction as the schema change, so no database is ever half plain, half hashed, and no
code has to read both. The columns are renamed in place (ALTER TABLE ... RENAME COLUMN):
rebuilding ``rooms`` on SQLite would drop its revision triggers and, with foreign keys on,
cascade into ``moderator_rooms``.

``pin_attempts`` and ``lockouts`` counted wrong PINs per caller ID, which a caller sets
freely; they are dropped (their lockouts mean nothing to the new count) for
``pin_failures``, counted per source by the guard.

Revision ID: 0007_pins_hashed
Revises: 0006_api_tokens
Create Date: 2026-11-27 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

import bridge.store.models
from bridge.domain.pins import PinKey

revision: str = "0007_pins_hashed"
down_revision: str | None = "0006_api_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROOMS = sa.table("rooms", sa.column("id"), sa.column("pin"), sa.column("moderator_pin"))


def upgrade() -> None:
    bind = op.get_bind()
    key: PinKey | None = context.config.attributes.get("pin_key")
    rows = bind.execute(sa.select(ROOMS.c.id, ROOMS.c.pin, ROOMS.c.moderator_pin)).all()
    # Before any change: SQLite runs DDL outside a transaction here, so a migration that
    # stops half-way would leave it half done.
    if rows and key is None:
        raise RuntimeError("the rooms' PINs must be hashed with the install's PIN key")
    if bind.dialect.name == "postgresql":
        op.alter_column("rooms", "pin", type_=sa.String(64))
        op.alter_column("rooms", "moderator_pin", type_=sa.String(64))
    for room_id, pin, moderator_pin in rows:
        assert key is not None
        bind.execute(
            sa.update(ROOMS)
            .where(ROOMS.c.id == room_id)
            .values(pin=key.hash(pin), moderator_pin=key.hash_optional(moderator_pin))
        )
    op.execute("ALTER TABLE rooms RENAME COLUMN pin TO pin_hash")
    op.execute("ALTER TABLE rooms RENAME COLUMN moderator_pin TO moderator_pin_hash")
    pin_key = op.create_table(
        "pin_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pin_key")),
    )
    if key is not None:
        op.bulk_insert(pin_key, [{"id": 1, "fingerprint": key.fingerprint}])

    op.drop_index("ix_pin_attempts_caller_id", table_name="pin_attempts")
    op.drop_index("ix_pin_attempts_at", table_name="pin_attempts")
    op.drop_table("pin_attempts")
    op.drop_table("lockouts")
    op.create_table(
        "pin_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("room", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pin_failures")),
    )
    op.create_index(op.f("ix_pin_failures_at"), "pin_failures", ["at"], unique=False)
    op.create_index(op.f("ix_pin_failures_source"), "pin_failures", ["source"], unique=False)


def downgrade() -> None:
    """Back to plain PINs is not possible (a hash does not give the digits back): the
    columns keep the hashes; sync the rooms file again after downgrading."""
    op.drop_index(op.f("ix_pin_failures_source"), table_name="pin_failures")
    op.drop_index(op.f("ix_pin_failures_at"), table_name="pin_failures")
    op.drop_table("pin_failures")
    op.create_table(
        "lockouts",
        sa.Column("caller_id", sa.String(length=80), nullable=False),
        sa.Column("locked_at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("until", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("caller_id", name=op.f("pk_lockouts")),
    )
    op.create_table(
        "pin_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("caller_id", sa.String(length=80), nullable=False),
        sa.Column("at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pin_attempts")),
    )
    op.create_index("ix_pin_attempts_at", "pin_attempts", ["at"], unique=False)
    op.create_index("ix_pin_attempts_caller_id", "pin_attempts", ["caller_id"], unique=False)
    op.drop_table("pin_key")
    op.execute("ALTER TABLE rooms RENAME COLUMN moderator_pin_hash TO moderator_pin")
    op.execute("ALTER TABLE rooms RENAME COLUMN pin_hash TO pin")
