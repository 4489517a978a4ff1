"""trunks: the rooms file's ``trunks:``, replaced at each ``rooms sync``

``trunks``: one row per trunk, its settings as JSON (never its secret: only the path of the
file or the name of the variable it is read from). ``trunk_numbers``: the numbers (DIDs)
each delivers, and the room each leads to, looked up when a call through it arrives.

Revision ID: 0014_trunks
Revises: 0013_rooms_on_demand
Create Date: 2026-12-06 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_trunks"
down_revision: str | None = "0013_rooms_on_demand"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trunks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_trunks")),
    )
    op.create_table(
        "trunk_numbers",
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("trunk", sa.String(length=40), nullable=False),
        sa.Column("room", sa.String(length=40), nullable=True),
        sa.Column("pin_required", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_trunk_numbers")),
    )
    op.create_index(op.f("ix_trunk_numbers_trunk"), "trunk_numbers", ["trunk"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_trunk_numbers_trunk"), table_name="trunk_numbers")
    op.drop_table("trunk_numbers")
    op.drop_table("trunks")
