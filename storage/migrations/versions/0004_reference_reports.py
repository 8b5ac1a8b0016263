"""Store ground-truth (reference) reports imported with drafts, append-only.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

``reference_reports`` holds one row per imported reference (Reg2RG's GT column, LLaVA-Rad's
``reference``): the text and where it came from (file, format, row). Like the review log it is
append-only in the database itself (triggers refuse UPDATE and DELETE; on PostgreSQL they reuse the
``radreview_append_only()`` function of 0003). Downgrading drops the table and its rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "reference_reports"


def _create_table() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_file", sa.String(length=1024), nullable=False),
        sa.Column("source_format", sa.String(length=32), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["studies.case_id"],
                                name=op.f("fk_reference_reports_case_id_studies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_reports")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reference_reports_case_id"), ["case_id"], unique=False)


def upgrade() -> None:
    _create_table()
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {TABLE}_no_{event.lower()} BEFORE {event} ON {TABLE} "
                       f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {event} refused'); END")
    else:
        op.execute(f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
                   "FOR EACH ROW EXECUTE FUNCTION radreview_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{event}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reference_reports_case_id"))
    op.drop_table(TABLE)
