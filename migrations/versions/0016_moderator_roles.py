"""moderator roles: host or assistant per room (moderator_rooms.role, moderators.all_rooms_role)

Revision ID: 0016_moderator_roles
Revises: 0015_credentials_revision
Create Date: 2026-12-06 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_moderator_roles"
down_revision: str | None = "0015_credentials_revision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every moderator so far was a host: the old list form still reads as host.
    with op.batch_alter_table("moderator_rooms") as batch:
        batch.add_column(
            sa.Column("role", sa.String(length=16), nullable=False, server_default="host")
        )
    with op.batch_alter_table("moderators") as batch:
        batch.add_column(
            sa.Column("all_rooms_role", sa.String(length=16), nullable=False, server_default="host")
        )


def downgrade() -> None:
    with op.batch_alter_table("moderators") as batch:
        batch.drop_column("all_rooms_role")
    with op.batch_alter_table("moderator_rooms") as batch:
        batch.drop_column("role")
