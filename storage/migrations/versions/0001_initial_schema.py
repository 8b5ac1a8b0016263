"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Timestamps are stored as naive UTC (storage.models.UTCDateTime converts).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artefacts",
        sa.Column("ref", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("shape", sa.JSON(), nullable=False),
        sa.Column("dtype", sa.String(length=16), nullable=False),
        sa.Column("nbytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_artefacts")),
    )
    op.create_table(
        "reviewers",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_reviewers")),
    )
    op.create_table(
        "studies",
        sa.Column("case_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("source_sha256s", sa.JSON(), nullable=False),
        sa.Column("data_path", sa.String(length=1024), nullable=False),
        sa.Column("indication", sa.Text(), nullable=True),
        sa.Column("prior_report", sa.Text(), nullable=True),
        sa.Column("prior_case_id", sa.String(length=128), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('cxr', 'ct')", name=op.f("ck_studies_kind")),
        sa.ForeignKeyConstraint(
            ["prior_case_id"], ["studies.case_id"], name=op.f("fk_studies_prior_case_id_studies")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_studies")),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=128), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=True),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["studies.case_id"], name=op.f("fk_assignments_case_id_studies")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer"], ["reviewers.name"], name=op.f("fk_assignments_reviewer_reviewers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_case_id"), ["case_id"], unique=False)

    op.create_table(
        "drafts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=128), nullable=False),
        sa.Column("generator", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=256), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("draft_json", sa.Text(), nullable=False),
        sa.Column("latency_s", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["studies.case_id"], name=op.f("fk_drafts_case_id_studies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drafts_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drafts_model_id"), ["model_id"], unique=False)

    op.create_table(
        "draft_findings",
        sa.Column("draft_id", sa.String(length=64), nullable=False),
        sa.Column("finding_id", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("phrases", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"], name=op.f("fk_draft_findings_draft_id_drafts")),
        sa.PrimaryKeyConstraint("draft_id", "finding_id", name=op.f("pk_draft_findings")),
    )
    with op.batch_alter_table("draft_findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draft_findings_region"), ["region"], unique=False)

    op.create_table(
        "review_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=128), nullable=False),
        sa.Column("draft_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("finding_id", sa.String(length=128), nullable=True),
        sa.Column("finding_version", sa.Integer(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("phrase_index", sa.Integer(), nullable=True),
        sa.Column("before_text", sa.Text(), nullable=True),
        sa.Column("after_text", sa.Text(), nullable=True),
        sa.Column("before_grounding", sa.JSON(), nullable=True),
        sa.Column("after_grounding", sa.JSON(), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("clinically_significant", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("shown_at", sa.DateTime(), nullable=True),
        sa.Column("acted_at", sa.DateTime(), nullable=False),
        sa.Column("new_draft_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_review_actions_seq_nonnegative")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["studies.case_id"], name=op.f("fk_review_actions_case_id_studies")
        ),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"], name=op.f("fk_review_actions_draft_id_drafts")),
        sa.ForeignKeyConstraint(
            ["new_draft_id"], ["drafts.id"], name=op.f("fk_review_actions_new_draft_id_drafts")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer"], ["reviewers.name"], name=op.f("fk_review_actions_reviewer_reviewers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_actions")),
        sa.UniqueConstraint("draft_id", "seq", name=op.f("uq_review_actions_draft_id_seq")),
    )
    with op.batch_alter_table("review_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_actions_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_actions_reviewer"), ["reviewer"], unique=False)

    op.create_table(
        "signed_reports",
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=128), nullable=False),
        sa.Column("draft_id", sa.String(length=64), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["review_actions.id"], name=op.f("fk_signed_reports_action_id_review_actions")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["studies.case_id"], name=op.f("fk_signed_reports_case_id_studies")
        ),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"], name=op.f("fk_signed_reports_draft_id_drafts")),
        sa.ForeignKeyConstraint(
            ["reviewer"], ["reviewers.name"], name=op.f("fk_signed_reports_reviewer_reviewers")
        ),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_signed_reports")),
        sa.UniqueConstraint("draft_id", name=op.f("uq_signed_reports_draft_id")),
    )
    with op.batch_alter_table("signed_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signed_reports_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signed_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signed_reports_case_id"))

    op.drop_table("signed_reports")
    with op.batch_alter_table("review_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_actions_reviewer"))
        batch_op.drop_index(batch_op.f("ix_review_actions_case_id"))

    op.drop_table("review_actions")
    with op.batch_alter_table("draft_findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draft_findings_region"))

    op.drop_table("draft_findings")
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drafts_model_id"))
        batch_op.drop_index(batch_op.f("ix_drafts_case_id"))

    op.drop_table("drafts")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_case_id"))

    op.drop_table("assignments")
    op.drop_table("studies")
    op.drop_table("reviewers")
    op.drop_table("artefacts")
