"""token scopes: an API token may be read-only, and may cover only some of its moderator's rooms

read_only: GET only, no action. rooms: the room names the token covers, space-separated
(room names are slugs); null covers every room of its moderator, as tokens made before did.

Revision ID: 0009_token_scopes
Revises: 0008_leave_reason
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_token_scopes"
down_revision: str | None = "0008_leave_reason"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("read_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("rooms", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("rooms")
        batch.drop_column("read_only")
