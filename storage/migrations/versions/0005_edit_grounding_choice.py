"""Record the reviewer's grounding choice of an edit (keep / drop / reground).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

``review_actions.grounding`` (nullable) holds what the reviewer chose to do with a finding's boxes and
masks when editing its text. Rows written before this revision have ``NULL`` and are replayed with
the default rule (:func:`storage.review.default_grounding`). Impression decisions need no schema
change: they are ``accept``/``edit``/``regenerate`` rows with the reserved finding id ``@impression``.

The column is added with a plain ``ALTER TABLE … ADD COLUMN`` (no batch copy-and-move), so the
append-only triggers of 0003 stay in place on SQLite. Downgrading drops the column and with it the
recorded choices (SQLite ≥ 3.35 drops a column in place).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("review_actions", sa.Column("grounding", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("review_actions", "grounding")
