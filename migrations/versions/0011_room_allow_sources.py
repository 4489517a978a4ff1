"""rooms.allow_sources: the networks a venue calls a room from (never refused, only slowed)

Revision ID: 0011_room_allow_sources
Revises: 0010_purges
Create Date: 2026-12-06 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_room_allow_sources"
down_revision: str | None = "0010_purges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(
            sa.Column("allow_sources", sa.String(length=1000), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("allow_sources")
