"""alerts: a recorded message rung out to a list of numbers

One row per alert (who sent it, when, into which room, through which trunk, the message's
length); each of its numbers is a row of ``dialouts`` marked with the alert's id, with
whether its message was heard to the end.

Revision ID: 0027_alerts
Revises: 0026_show_numbers
Create Date: 2026-12-06 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_alerts"
down_revision: str | None = "0026_show_numbers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("asked_by", sa.String(length=64), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("room", sa.String(length=40), nullable=True),
        sa.Column("trunk", sa.String(length=40), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(op.f("ix_alerts_asked_at"), "alerts", ["asked_at"], unique=False)
    # Added in place (no batch copy): nullable, or with a default.
    op.add_column("dialouts", sa.Column("alert", sa.String(length=40), nullable=True))
    op.add_column(
        "dialouts", sa.Column("heard", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_index(op.f("ix_dialouts_alert"), "dialouts", ["alert"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dialouts_alert"), table_name="dialouts")
    with op.batch_alter_table("dialouts") as batch:
        batch.drop_column("heard")
        batch.drop_column("alert")
    op.drop_index(op.f("ix_alerts_asked_at"), table_name="alerts")
    op.drop_table("alerts")
