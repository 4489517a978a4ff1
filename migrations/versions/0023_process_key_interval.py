"""rooms.process_key_interval: seconds between two points of process (*7) from one caller

Revision ID: 0023_process_key_interval
Revises: 0022_room_placement
Create Date: 2026-12-06 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_process_key_interval"
down_revision: str | None = "0022_room_placement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rooms table's triggers (the rooms' revision, 0005; the credentials', 0015): a batch
# operation on SQLite rebuilds the table and loses them, so a plain ADD COLUMN here, and
# the downgrade puts them back.
TRIGGERS = {
    "rooms_revision": "UPDATE rooms_revision SET revision = revision + 1 WHERE id = 1",
    "credentials_revision_rooms": (
        "UPDATE credentials_revision SET revision = revision + 1 WHERE id = 1"
    ),
}
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.add_column(
        "rooms",
        sa.Column("process_key_interval", sa.Integer(), nullable=False, server_default="60"),
    )


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("process_key_interval")
    if op.get_bind().dialect.name == "sqlite":
        for prefix, bump in TRIGGERS.items():
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {prefix}_{event.lower()}")
                op.execute(
                    f"CREATE TRIGGER {prefix}_{event.lower()} AFTER {event} ON rooms "
                    f"BEGIN {bump}; END"
                )
