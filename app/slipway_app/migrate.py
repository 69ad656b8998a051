"""Schema migrations: Alembic configured from the package path, upgrades serialised by a PostgreSQL advisory lock.

Every task that starts (the ECS migration task, or several at once during a deploy) may run ``app migrate``; the
session-level advisory lock :data:`LOCK_KEY`, held on a dedicated connection for the whole upgrade, guarantees that
only one upgrade runs at a time. The others wait, then find the database already at head (idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg.errors import LockNotAvailable
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from .db import engine_for_url
from .settings import DEFAULT_MIGRATION_LOCK_TIMEOUT_MS

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Fixed, app-specific 64-bit key for pg_advisory_lock ("slipway" in ASCII); shared by every app version.
LOCK_KEY = 0x736C6970776179
# Alembic's default version table; a constant, so the query built from it is not injectable.
VERSION_TABLE = "alembic_version"
# Waiting for another migrator's advisory lock happens in slices this long (see _wait_for_advisory_lock).
ADVISORY_LOCK_WAIT_SLICE_MS = 500


def alembic_config(url: URL | None = None, connection: Connection | None = None) -> Config:
    """An Alembic config for the packaged migrations; works from any working directory, without alembic.ini.

    The URL/connection travel in ``config.attributes`` (not the ini options), so passwords containing ``%`` are
    never interpolated and never written anywhere.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revisions() -> set[str]:
    """The head revision(s) of the packaged migrations."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    """The revision(s) recorded in the database's ``alembic_version`` table (empty if never migrated).

    Read with plain SQL (cheap and quiet enough for ``/readyz``, which calls it on every probe).
    """
    if not inspect(connection).has_table(VERSION_TABLE):
        return set()
    return set(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())  # noqa: S608  # nosec B608


def _set_timeouts(conn: Connection, *, statement_timeout_ms: int, lock_timeout_ms: int) -> None:
    """Session-level ``statement_timeout``/``lock_timeout`` (0 = none), overriding any role/database default."""
    conn.execute(
        text("SELECT set_config('statement_timeout', :st, false), set_config('lock_timeout', :lt, false)"),
        {"st": str(int(statement_timeout_ms)), "lt": str(int(lock_timeout_ms))},
    )


def _wait_for_advisory_lock(conn: Connection) -> None:
    """``pg_advisory_lock`` in slices of :data:`ADVISORY_LOCK_WAIT_SLICE_MS`, until it is ours.

    Never one unbounded wait: a waiting statement holds a snapshot, and ``CREATE INDEX CONCURRENTLY`` in the running
    migration waits for every older snapshot in the database to go away, while we wait for its advisory lock (a
    deadlock PostgreSQL does not detect; two concurrent ``app migrate`` runs of revision 0002 hung). Between slices
    this connection holds no snapshot, so the index build proceeds.
    """
    _set_timeouts(conn, statement_timeout_ms=0, lock_timeout_ms=ADVISORY_LOCK_WAIT_SLICE_MS)
    try:
        while True:
            try:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
                return
            except OperationalError as exc:
                if not isinstance(exc.orig, LockNotAvailable):
                    raise
    finally:
        _set_timeouts(conn, statement_timeout_ms=0, lock_timeout_ms=0)


@contextmanager
def advisory_lock(engine: Engine) -> Iterator[None]:
    """Hold ``pg_advisory_lock(LOCK_KEY)`` on a dedicated autocommit connection (no-op on SQLite).

    Waiting for the lock is by design (another migration is running), so this connection has neither a
    ``statement_timeout`` nor a ``lock_timeout``, whatever the role or database defaults are.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        _set_timeouts(conn, statement_timeout_ms=0, lock_timeout_ms=0)
        got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar_one()
        if not got:
            log.info("waiting for the migration lock (another migration is running)", extra={"lock_key": LOCK_KEY})
            _wait_for_advisory_lock(conn)
        log.info("migration lock acquired", extra={"lock_key": LOCK_KEY, "waited": not got})
        try:
            yield
        finally:
            # Never let a failing unlock (e.g. the connection was cut) mask the migration's own exception; a
            # session-level advisory lock is released by the server anyway when its connection ends.
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            except Exception:
                log.warning(
                    "could not release the migration lock explicitly (it is released when the connection closes)",
                    exc_info=True,
                    extra={"lock_key": LOCK_KEY},
                )
            else:
                log.info("migration lock released", extra={"lock_key": LOCK_KEY})


def upgrade_to_head(url: URL, *, lock_timeout_ms: int = DEFAULT_MIGRATION_LOCK_TIMEOUT_MS) -> str:
    """Upgrade the database at ``url`` to head under the advisory lock; return the resulting revision.

    On PostgreSQL the migration connection gets ``lock_timeout`` = ``lock_timeout_ms`` (and no
    ``statement_timeout``: a long index build is fine, waiting behind a long transaction while every reader queues
    behind us is not), so a blocked DDL statement fails with ``LockNotAvailable`` instead of stalling the app.
    """
    engine = engine_for_url(url, pooled=False)
    try:
        with advisory_lock(engine):
            with engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    _set_timeouts(conn, statement_timeout_ms=0, lock_timeout_ms=lock_timeout_ms)
                before = current_revisions(conn)
                # End the transaction the reads above began: Alembic must start its own (one per revision, see
                # migrations/env.py). Otherwise it treats the connection as an external transaction and
                # `op.get_context().autocommit_block()` (CREATE INDEX CONCURRENTLY) fails.
                conn.commit()
                heads = head_revisions()
                if before == heads:
                    log.info("database already at head", extra={"revision": ",".join(sorted(heads))})
                else:
                    log.info(
                        "upgrading database",
                        extra={
                            "from_revision": ",".join(sorted(before)) or None,
                            "to_revision": ",".join(sorted(heads)),
                        },
                    )
                    command.upgrade(alembic_config(connection=conn), "head")
                    conn.commit()
                after = current_revisions(conn)
        revision = ",".join(sorted(after))
        log.info("migrations complete", extra={"revision": revision})
        return revision
    finally:
        engine.dispose()


def downgrade(url: URL, revision: str = "base") -> None:
    """Downgrade the database at ``url`` to ``revision`` under the advisory lock (tests and operators)."""
    engine = engine_for_url(url, pooled=False)
    try:
        with advisory_lock(engine), engine.connect() as conn:
            command.downgrade(alembic_config(connection=conn), revision)
            conn.commit()
    finally:
        engine.dispose()
