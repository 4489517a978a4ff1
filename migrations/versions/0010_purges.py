"""purges: when a call's history was purged by a host, and when its recordings went

``purged_at``: a host purged this call ("purge this call"): its legs, turns, stack events
and audit rows are gone, the call row stays to say so. ``recordings_purged_at``: its
recording files were deleted (by that purge, or by the recordings' retention).

Revision ID: 0010_purges
Revises: 0009_token_scopes
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bridge.store.models import UtcDateTime

revision: str = "0010_purges"
down_revision: str | None = "0009_token_scopes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("purged_at", UtcDateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("recordings_purged_at", UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("recordings_purged_at")
        batch.drop_column("purged_at")
