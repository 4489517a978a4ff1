"""ask_name: a room whose callers record their name and place for its moderators

Revision ID: 0024_ask_name
Revises: 0023_process_key_interval
Create Date: 2026-12-06 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_ask_name"
down_revision: str | None = "0023_process_key_interval"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch: on SQLite a batch copies the table, which would drop
    # the triggers migration 0015 keeps on it (the credentials' revision).
    op.add_column(
        "rooms", sa.Column("ask_name", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("rooms", "ask_name")
