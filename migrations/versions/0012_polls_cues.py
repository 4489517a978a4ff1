"""polls and cues: closed temperature checks in a call's history; the rooms file's cues

``polls``: one row per closed poll of a call (question, each option's count, how many
answered out of how many were there; never who blocked). ``cues``: the admins' own sounds
(the rooms file's ``cues:``), by name, replaced at each ``rooms sync``.

Revision ID: 0012_polls_cues
Revises: 0011_room_allow_sources
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bridge.store.models import UtcDateTime

revision: str = "0012_polls_cues"
down_revision: str | None = "0011_room_allow_sources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=200), nullable=False),
        sa.Column("opened_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("voters", sa.Integer(), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_polls_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
    )
    op.create_index(op.f("ix_polls_call_id"), "polls", ["call_id"], unique=False)
    op.create_table(
        "cues",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("file", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cues")),
    )


def downgrade() -> None:
    op.drop_table("cues")
    op.drop_index(op.f("ix_polls_call_id"), table_name="polls")
    op.drop_table("polls")
