"""room_placement: several nodes, the node each live room is placed on (read back when the
service starts again, then checked against the nodes' live conferences)

Revision ID: 0022_room_placement
Revises: 0021_breakouts
Create Date: 2026-12-06 18:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bridge.store.models import UtcDateTime

revision: str = "0022_room_placement"
down_revision: str | None = "0021_breakouts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "room_placements",
        sa.Column("room_name", sa.String(length=40), nullable=False),
        sa.Column("node", sa.String(length=40), nullable=False),
        sa.Column("placed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("room_name", name=op.f("pk_room_placements")),
    )


def downgrade() -> None:
    op.drop_table("room_placements")
