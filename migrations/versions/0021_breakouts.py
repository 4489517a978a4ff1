"""breakouts: the room setting breakout_latecomers; breakout_stints (who was in which group)

Revision ID: 0021_breakouts
Revises: 0020_dialouts
Create Date: 2026-12-06 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bridge.store.models import UtcDateTime

revision: str = "0021_breakouts"
down_revision: str | None = "0020_dialouts"
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
        sa.Column(
            "breakout_latecomers", sa.String(length=16), nullable=False, server_default="smallest"
        ),
    )
    op.create_table(
        "breakout_stints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("caller_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("started_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_breakout_stints_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breakout_stints")),
    )
    op.create_index(
        op.f("ix_breakout_stints_call_id"), "breakout_stints", ["call_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_breakout_stints_call_id"), table_name="breakout_stints")
    op.drop_table("breakout_stints")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("breakout_latecomers")
    if op.get_bind().dialect.name == "sqlite":
        for prefix, bump in TRIGGERS.items():
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {prefix}_{event.lower()}")
                op.execute(
                    f"CREATE TRIGGER {prefix}_{event.lower()} AFTER {event} ON rooms "
                    f"BEGIN {bump}; END"
                )
