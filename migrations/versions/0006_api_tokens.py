"""api tokens: a script's bearer token for the JSON API, stored as its SHA-256, per moderator

Revision ID: 0006_api_tokens
Revises: 0005_rooms_revision
Create Date: 2026-11-26 08:28:23.446949
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bridge.store.models

revision: str = "0006_api_tokens"
down_revision: str | None = "0005_rooms_revision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("moderator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", bridge.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bridge.store.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", bridge.store.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", bridge.store.models.UtcDateTime(timezone=True), nullable=True),
        # A moderator removed by a sync takes their tokens along.
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["moderators.id"],
            name=op.f("fk_api_tokens_moderator_id_moderators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_tokens_moderator_id"), ["moderator_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_moderator_id"))
    op.drop_table("api_tokens")
