"""rooms.process_key_interval: seconds between two points of process (*7) from one caller

Revision ID: 0017_process_key_interval
Revises: 0016_moderator_roles
Create Date: 2026-12-06 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_process_key_interval"
down_revision: str | None = "0016_moderator_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(
            sa.Column("process_key_interval", sa.Integer(), nullable=False, server_default="60")
        )


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("process_key_interval")
