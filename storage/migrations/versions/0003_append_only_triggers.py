"""Make the review log append-only in the database itself: UPDATE and DELETE are refused.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Triggers on ``review_actions`` and ``signed_reports`` abort any UPDATE or DELETE, whoever issues it
(the application never does; this guards against ad-hoc SQL and future bugs). Erasing data on request
is an administrative procedure: downgrade to 0002 (drops the triggers), delete, upgrade.

SQLite batch migrations rebuild tables by copy-and-move, which drops their triggers: a later revision
that batch-alters these tables must drop the triggers first and create them again afterwards.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("review_actions", "signed_reports")


def _sqlite_upgrade() -> None:
    for table in TABLES:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {event} refused'); END")


def _postgres_upgrade() -> None:
    op.execute("CREATE FUNCTION radreview_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
               "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$")
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION radreview_append_only()")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        _postgres_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS radreview_append_only()")
