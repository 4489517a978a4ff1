"""legs.label: the name and place moderators gave a caller, kept for the call's report

Revision ID: 0028_leg_labels
Revises: 0027_alerts
Create Date: 2026-12-06 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_leg_labels"
down_revision: str | None = "0027_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place (no batch copy): legs carry no triggers, but a copy of a big table is slow.
    op.add_column(
        "legs", sa.Column("label", sa.String(length=80), nullable=False, server_default="")
    )


def downgrade() -> None:
    with op.batch_alter_table("legs") as batch:
        batch.drop_column("label")
