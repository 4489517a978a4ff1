"""dialouts: every number a moderator had dialled into a room, and how its call went

One row per number asked for: the room, the trunk, who asked and when (the daily cap,
``dialout_daily_limit``, counts these), its state and attempts as ``iobridge dialout ROOM
show`` prints them, and the callee's channel once answered (a participant from it is
marked "dialed out").

Revision ID: 0020_dialouts
Revises: 0019_room_practice
Create Date: 2026-12-06 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_dialouts"
down_revision: str | None = "0019_room_practice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dialouts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("room", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("trunk", sa.String(length=40), nullable=False),
        sa.Column("asked_by", sa.String(length=64), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialouts")),
    )
    op.create_index(
        op.f("ix_dialouts_asked_by_asked_at"), "dialouts", ["asked_by", "asked_at"], unique=False
    )
    op.create_index(op.f("ix_dialouts_room"), "dialouts", ["room"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dialouts_room"), table_name="dialouts")
    op.drop_index(op.f("ix_dialouts_asked_by_asked_at"), table_name="dialouts")
    op.drop_table("dialouts")
