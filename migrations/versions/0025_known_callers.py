"""directory: known numbers with a name and a place (the rooms file's directory:, and
iobridge directory import)

Revision ID: 0025_known_callers
Revises: 0024_ask_name
Create Date: 2026-12-06 18:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_known_callers"
down_revision: str | None = "0024_ask_name"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "known_callers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(length=16), nullable=False, unique=True),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("place", sa.String(length=80), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("known_callers")
