"""Constrain action kinds and reason codes to the review vocabulary; index acted_at.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

On SQLite the CHECK constraints rebuild ``review_actions`` in batch mode (copy-and-move); the rows,
their ids and the ``signed_reports`` references survive (tested upgrade → downgrade → upgrade).
The vocabulary is written out here, not imported, so this revision never changes after release.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KINDS = ("accept", "edit", "reject", "add", "move_box", "relink_region", "edit_mask", "regenerate", "sign")
REASONS = (
    "false_finding",
    "missed_finding",
    "wrong_location",
    "wrong_severity",
    "false_comparison",
    "missed_comparison",
    "grounding_error",
    "style",
    "other",
)


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    with op.batch_alter_table("review_actions") as batch:
        batch.create_check_constraint("kind", f"kind IN ({_quoted(KINDS)})")
        batch.create_check_constraint("reason", f"reason IS NULL OR reason IN ({_quoted(REASONS)})")
        batch.create_index("ix_review_actions_acted_at", ["acted_at"])


def downgrade() -> None:
    with op.batch_alter_table("review_actions") as batch:
        batch.drop_index("ix_review_actions_acted_at")
        batch.drop_constraint(op.f("ck_review_actions_reason"), type_="check")
        batch.drop_constraint(op.f("ck_review_actions_kind"), type_="check")
