"""Alembic environment for radreview (run via :mod:`storage.migrate`, not an ``alembic.ini``).

The caller passes an open connection in ``config.attributes["connection"]``; migrations run inside
that connection's transaction. SQLite uses batch mode (copy-and-move table rebuilds).
"""

from __future__ import annotations

from alembic import context

from storage.models import Base


def run_migrations_online() -> None:
    """Run the migrations on the connection supplied by :mod:`storage.migrate`."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through storage.migrate.upgrade(url) or `radreview db upgrade`")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; use storage.migrate.upgrade(url)")
run_migrations_online()
