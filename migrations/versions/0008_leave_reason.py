"""leave_reason: why each participant left a call (hung up, timed out, kicked, moved)

Nullable: legs still open have none, and legs closed before this revision, or closed by a
resync that never saw the leave, say "not known".

Revision ID: 0008_leave_reason
Revises: 0007_pins_hashed
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_leave_reason"
down_revision: str | None = "0007_pins_hashed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("legs", sa.Column("leave_reason", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("legs", "leave_reason")
