"""speaker stack: room settings auto_advance and rejoin_grace; saved stacks

Revision ID: 0003_speaker_stack
Revises: 0002_reports
Create Date: 2026-11-26 07:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bridge.store.models

revision: str = "0003_speaker_stack"
down_revision: str | None = "0002_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(
            sa.Column("auto_advance", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("rejoin_grace", sa.Integer(), nullable=False, server_default="120")
        )
    op.create_table(
        "saved_stacks",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("saved_at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_saved_stacks_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_saved_stacks")),
    )


def downgrade() -> None:
    op.drop_table("saved_stacks")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("rejoin_grace")
        batch.drop_column("auto_advance")
