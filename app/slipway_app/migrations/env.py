"""Alembic environment: runs online migrations on the connection (or URL) handed over by ``slipway_app.migrate``.

No ``alembic.ini`` is needed: :func:`slipway_app.migrate.alembic_config` builds the configuration from the package
path and passes a connection in ``config.attributes["connection"]`` (or an engine URL in ``["url"]``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from slipway_app.db import engine_for_url
from slipway_app.models import Base
from slipway_app.settings import load_settings

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    # transaction_per_migration: each revision commits on its own. A revision that needs to run outside a
    # transaction (`with op.get_context().autocommit_block(): op.create_index(..., postgresql_concurrently=True)`)
    # then only commits its own earlier statements, and a failing revision leaves the database at the previous
    # revision (consistent, and the next `app migrate` resumes there) instead of rolling back the whole batch.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate on the given connection, or open one from the configured URL (default: the app settings)."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.attributes.get("url") or load_settings().sqlalchemy_url()
    engine = engine_for_url(url, pooled=False)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    """Emit SQL instead of executing it (``app migrate --sql``)."""
    url = context.config.attributes.get("url") or load_settings().sqlalchemy_url()
    context.configure(
        url=url, target_metadata=target_metadata, literal_binds=True, dialect_opts={"paramstyle": "named"}
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
