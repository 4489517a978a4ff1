"""rooms opened on demand: beside the rooms file's, never touched by a sync

``on_demand``: opened by a host (``iobridge rooms open``, the panel), not from the file;
``closes_at``: when its time is up (it retires itself then, once empty); ``opened_by``: who.

Revision ID: 0013_rooms_on_demand
Revises: 0012_polls_cues
Create Date: 2026-12-12 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bridge.store.models import UtcDateTime

revision: str = "0013_rooms_on_demand"
down_revision: str | None = "0012_polls_cues"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The rooms table's revision triggers (0005): a batch operation on SQLite rebuilds the
# table and loses them, so only plain ADD COLUMNs here, and the downgrade puts them back.
BUMP = "UPDATE rooms_revision SET revision = revision + 1 WHERE id = 1"
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.add_column(
        "rooms", sa.Column("on_demand", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("rooms", sa.Column("closes_at", UtcDateTime(), nullable=True))
    op.add_column("rooms", sa.Column("opened_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("opened_by")
        batch.drop_column("closes_at")
        batch.drop_column("on_demand")
    if op.get_bind().dialect.name == "sqlite":
        for event in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS rooms_revision_{event.lower()}")
            op.execute(
                f"CREATE TRIGGER rooms_revision_{event.lower()} AFTER {event} ON rooms "
                f"BEGIN {BUMP}; END"
            )
