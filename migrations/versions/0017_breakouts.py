"""breakouts: the room setting breakout_latecomers; breakout_stints (who was in which group)

Revision ID: 0017_breakouts
Revises: 0016_moderator_roles
Create Date: 2026-12-06 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bridge.store.models import UtcDateTime

revision: str = "0017_breakouts"
down_revision: str | None = "0016_moderator_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(
            sa.Column(
                "breakout_latecomers",
                sa.String(length=16),
                nullable=False,
                server_default="smallest",
            )
        )
    op.create_table(
        "breakout_stints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("caller_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("started_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_breakout_stints_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breakout_stints")),
    )
    op.create_index(
        op.f("ix_breakout_stints_call_id"), "breakout_stints", ["call_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_breakout_stints_call_id"), table_name="breakout_stints")
    op.drop_table("breakout_stints")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("breakout_latecomers")
