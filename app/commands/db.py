"""``radreview db upgrade|downgrade|current [--db URL] [--data-dir D]``: manage the schema (Alembic).

The repository migrates automatically when it opens; these commands are for operators who want to
migrate explicitly (e.g. before rolling out a new version) or step back one revision.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.commands import DEFAULT_DATA_DIR


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``db`` subcommand."""
    p = subparsers.add_parser("db", help="upgrade or downgrade the database schema")
    p.add_argument("action", choices=["upgrade", "downgrade", "current"])
    p.add_argument("revision", nargs="?", default=None,
                   help="target revision (upgrade: default head; downgrade: default -1, or 'base')")
    p.add_argument("--db", default=None, help="database URL (default sqlite:///DATA_DIR/radreview.db)")
    p.add_argument("--data-dir", type=Path, default=Path(DEFAULT_DATA_DIR),
                   help=f"holds the default SQLite database (default ./{DEFAULT_DATA_DIR})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the migration and print the revision the database is at."""
    from storage import migrate
    from storage.engine import create_engine
    from storage.repository import default_url

    if args.db is None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
    url = args.db or default_url(args.data_dir)
    if args.action == "upgrade":
        migrate.upgrade(url, args.revision or "head")
    elif args.action == "downgrade":
        migrate.downgrade(url, args.revision or "-1")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            revision = migrate.current(conn)
    finally:
        engine.dispose()
    print(f"database at revision {revision or 'base (empty)'}; newest is {migrate.head()}")
    return 0
