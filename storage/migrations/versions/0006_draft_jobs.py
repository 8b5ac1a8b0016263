"""Queue of studies to draft ahead of review.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30

``draft_jobs`` holds one row per study to draft with one generator configuration (generator,
model, quantization): its status (``queued`` → ``running`` → ``done`` | ``failed``), the reason of a
failure, the attempts so far, the worker holding it and that worker's lease, timestamps and the
draft it produced. Unlike the review log it is mutable queue state (see :mod:`storage.drafting`).
A partial unique index allows one open (queued or running) job per study and configuration.
Downgrading drops the table; drafts already written stay.

The revision follows 0004 on this branch; revision 0005 (another change of the same issue) is
re-chained before this one when both land.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "draft_jobs"
_OPEN = "status IN ('queued', 'running')"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=128), nullable=False),
        sa.Column("generator", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=256), nullable=False),
        sa.Column("quantization", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("draft_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_draft_jobs_status")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_draft_jobs_attempts_nonnegative")),
        sa.ForeignKeyConstraint(["case_id"], ["studies.case_id"], name=op.f("fk_draft_jobs_case_id_studies")),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"], name=op.f("fk_draft_jobs_draft_id_drafts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_jobs")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draft_jobs_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_draft_jobs_status_id", ["status", "id"], unique=False)
        batch_op.create_index(
            "uq_draft_jobs_open",
            ["case_id", "generator", "model_id", "quantization"],
            unique=True,
            sqlite_where=sa.text(_OPEN),
            postgresql_where=sa.text(_OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index("uq_draft_jobs_open")
        batch_op.drop_index("ix_draft_jobs_status_id")
        batch_op.drop_index(batch_op.f("ix_draft_jobs_case_id"))
    op.drop_table(TABLE)
