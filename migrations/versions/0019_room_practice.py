"""rooms.practice: a room for rehearsing with simulated callers (kept out of real reports)

Revision ID: 0019_room_practice
Revises: 0018_room_language
Create Date: 2026-12-06 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_room_practice"
down_revision: str | None = "0018_room_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch rebuild of "rooms" on SQLite would drop the triggers that
    # keep the rooms' revision (migration 0002), and the room cache would go stale.
    op.add_column(
        "rooms", sa.Column("practice", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("practice")
    if op.get_bind().dialect.name == "sqlite":  # the batch copy lost the rooms' triggers
        for prefix, table in (
            ("rooms_revision", "rooms_revision"),
            ("credentials_revision_rooms", "credentials_revision"),
        ):
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {prefix}_{event}")
                op.execute(
                    f"CREATE TRIGGER {prefix}_{event} AFTER {event.upper()} ON rooms BEGIN "
                    f"UPDATE {table} SET revision = revision + 1 WHERE id = 1; END"
                )
