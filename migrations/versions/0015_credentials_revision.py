"""credentials_revision: a counter bumped by every change to what a script's token opens
(the tokens, the moderators, their rooms, the rooms), so that the service's copy of the
tokens in memory stays exact, whoever writes: ``iobridge tokens revoke`` in another
process, a sync, an admin in SQL

Revision ID: 0015_credentials_revision
Revises: 0014_trunks
Create Date: 2026-12-06 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_credentials_revision"
down_revision: str | None = "0014_trunks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE credentials_revision SET revision = revision + 1 WHERE id = 1"
EVENTS = ("INSERT", "UPDATE", "DELETE")
TABLES = ("api_tokens", "moderators", "moderator_rooms", "rooms")


def upgrade() -> None:
    table = op.create_table(
        "credentials_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials_revision")),
    )
    op.bulk_insert(table, [{"id": 1, "revision": 0}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION credentials_revision_bump() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for name in TABLES:
            op.execute(
                f"CREATE TRIGGER credentials_revision_bump AFTER INSERT OR UPDATE OR DELETE "
                f"ON {name} FOR EACH STATEMENT EXECUTE FUNCTION credentials_revision_bump()"
            )
    else:
        for name in TABLES:
            for event in EVENTS:
                op.execute(
                    f"CREATE TRIGGER credentials_revision_{name}_{event.lower()} AFTER {event} "
                    f"ON {name} BEGIN {BUMP}; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TABLES:
            op.execute(f"DROP TRIGGER credentials_revision_bump ON {name}")
        op.execute("DROP FUNCTION credentials_revision_bump()")
    else:
        for name in TABLES:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER credentials_revision_{name}_{event.lower()}")
    op.drop_table("credentials_revision")
