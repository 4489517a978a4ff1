"""rooms_revision: a counter bumped by every change to the rooms table, so that a cache of
the rooms (the entry desk's) stays exact, whoever writes: a sync, a test, an admin in SQL

Revision ID: 0005_rooms_revision
Revises: 0004_panel
Create Date: 2026-11-26 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_rooms_revision"
down_revision: str | None = "0004_panel"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE rooms_revision SET revision = revision + 1 WHERE id = 1"
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    table = op.create_table(
        "rooms_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms_revision")),
    )
    op.bulk_insert(table, [{"id": 1, "revision": 0}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION rooms_revision_bump() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER rooms_revision_bump AFTER INSERT OR UPDATE OR DELETE ON rooms "
            "FOR EACH STATEMENT EXECUTE FUNCTION rooms_revision_bump()"
        )
    else:
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER rooms_revision_{event.lower()} AFTER {event} ON rooms "
                f"BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER rooms_revision_bump ON rooms")
        op.execute("DROP FUNCTION rooms_revision_bump()")
    else:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER rooms_revision_{event.lower()}")
    op.drop_table("rooms_revision")
