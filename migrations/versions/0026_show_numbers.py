"""show_numbers_to_assistants: a room whose assistants see callers' full numbers

Revision ID: 0026_show_numbers
Revises: 0025_known_callers
Create Date: 2026-12-06 18:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_show_numbers"
down_revision: str | None = "0025_known_callers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch would copy the table and drop migration 0015's triggers.
    op.add_column(
        "rooms",
        sa.Column(
            "show_numbers_to_assistants", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )


def downgrade() -> None:
    op.drop_column("rooms", "show_numbers_to_assistants")
