"""rooms: schedule (a recurrence rule, a zone, a length), public, show_pin, admit_outside_schedule

Revision ID: 0017_schedule
Revises: 0016_moderator_roles
Create Date: 2026-12-06 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_schedule"
down_revision: str | None = "0016_moderator_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# On SQLite the rooms table carries triggers (the rooms' revision, 0005; the credentials',
# 0015): a batch operation copies the table and loses them, so only plain ADD COLUMNs here,
# and the downgrade puts them back.
TRIGGERS = {
    "rooms_revision": "UPDATE rooms_revision SET revision = revision + 1 WHERE id = 1",
    "credentials_revision_rooms": (
        "UPDATE credentials_revision SET revision = revision + 1 WHERE id = 1"
    ),
}
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    # Every room so far had no schedule, was not listed, and let callers in at any time.
    op.add_column("rooms", sa.Column("schedule", sa.String(length=1000), nullable=True))
    op.add_column(
        "rooms", sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "rooms", sa.Column("show_pin", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "rooms",
        sa.Column("admit_outside_schedule", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("admit_outside_schedule")
        batch.drop_column("show_pin")
        batch.drop_column("public")
        batch.drop_column("schedule")
    if op.get_bind().dialect.name == "sqlite":
        for prefix, bump in TRIGGERS.items():
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {prefix}_{event.lower()}")
                op.execute(
                    f"CREATE TRIGGER {prefix}_{event.lower()} AFTER {event} ON rooms "
                    f"BEGIN {bump}; END"
                )
