"""saved_breakouts: each running breakout's state, so that a restarted service carries it on

Revision ID: 0029_saved_breakouts
Revises: 0028_leg_labels
Create Date: 2026-12-07 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bridge.store.models import UtcDateTime

revision: str = "0029_saved_breakouts"
down_revision: str | None = "0028_leg_labels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_breakouts",
        sa.Column("room_name", sa.String(length=80), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("saved_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("room_name", name=op.f("pk_saved_breakouts")),
    )


def downgrade() -> None:
    op.drop_table("saved_breakouts")
