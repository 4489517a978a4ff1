"""panel sessions, moderators' actions (the audit trail), the rooms file's password hash

Revision ID: 0004_panel
Revises: 0003_speaker_stack
Create Date: 2026-11-26 07:32:25.741522
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bridge.store.models

revision: str = "0004_panel"
down_revision: str | None = "0003_speaker_stack"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "panel_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("moderator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["moderators.id"],
            name=op.f("fk_panel_sessions_moderator_id_moderators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_panel_sessions_token_hash")),
    )
    with op.batch_alter_table("panel_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_panel_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_panel_sessions_moderator_id"), ["moderator_id"], unique=False
        )

    op.create_table(
        "moderator_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("room_name", sa.String(length=40), nullable=False),
        sa.Column("at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_channel", sa.String(length=120), nullable=False),
        sa.Column("target_caller_id", sa.String(length=80), nullable=False),
        sa.Column("arguments", sa.String(length=400), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_moderator_actions_call_id_calls"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderator_actions")),
    )
    with op.batch_alter_table("moderator_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_moderator_actions_call_id"), ["call_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_moderator_actions_room_name"), ["room_name"], unique=False
        )

    # Existing moderators: the hash in the table is the one the rooms file gave.
    with op.batch_alter_table("moderators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_password_hash", sa.String(length=255), nullable=True))
    op.execute("UPDATE moderators SET file_password_hash = password_hash")
    with op.batch_alter_table("moderators", schema=None) as batch_op:
        batch_op.alter_column(
            "file_password_hash", existing_type=sa.String(length=255), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("moderators", schema=None) as batch_op:
        batch_op.drop_column("file_password_hash")

    with op.batch_alter_table("moderator_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moderator_actions_room_name"))
        batch_op.drop_index(batch_op.f("ix_moderator_actions_call_id"))

    op.drop_table("moderator_actions")
    with op.batch_alter_table("panel_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_panel_sessions_moderator_id"))
        batch_op.drop_index(batch_op.f("ix_panel_sessions_expires_at"))

    op.drop_table("panel_sessions")
