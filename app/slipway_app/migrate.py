"""Schema migrations: Alembic configured from the package path, upgrades serialised by a PostgreSQL advisory lock.

Every task that starts (the ECS migration task, or several at once during a deploy) may run ``app migrate``; the
session-level advisory lock :data:`LOCK_KEY`, held on a dedicated connection for the whole upgrade, guarantees that
only one upgrade runs at a time. The others wait, then find the database already at head (idempotent).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg import sql
from psycopg.errors import LockNotAvailable
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from .db import engine_for_url
from .settings import DEFAULT_MIGRATION_LOCK_TIMEOUT_MS, RESERVED_ROLES, ROLE_NAME_PATTERN

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Fixed, app-specific 64-bit key for pg_advisory_lock ("slipway" in ASCII); shared by every app version.
LOCK_KEY = 0x736C6970776179
# Alembic's default version table; a constant, so the query built from it is not injectable.
VERSION_TABLE = "alembic_version"
# Waiting for another migrator's advisory lock happens in slices this long (see _wait_for_advisory_lock).
ADVISORY_LOCK_WAIT_SLICE_MS = 500
# The schema the app's tables live in (Alembic's default); the login role gets row access there, nothing else.
APP_SCHEMA = "public"
# RDS's role that lets a login authenticate with an IAM auth token (only exists on RDS).
RDS_IAM_ROLE = "rds_iam"


class RoleProvisioningError(Exception):
    """DB_APP_ROLE cannot be made the service's least-privileged login (e.g. it exists with admin attributes)."""


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


def provision_app_role(conn: Connection, role: str) -> None:
    """Make ``role`` the web service's login: it can read and write rows of the app's tables, not change the schema.

    Idempotent (``app migrate`` runs on every deploy): ``CREATE ROLE <role> LOGIN`` if missing; ``GRANT rds_iam``
    only where that role exists (RDS; it lets the role log in with IAM auth tokens only); ``USAGE`` on the schema;
    ``SELECT, INSERT, UPDATE, DELETE`` on every table and ``USAGE, SELECT`` on every sequence, and the same by
    default for what this (migrating) user creates later. ``alembic_version`` stays read-only to it (``/readyz``
    reads it). No ``CREATE`` on the schema: where PUBLIC still has it (PostgreSQL < 15), it is revoked.
    The caller commits. The name is validated and quoted with ``psycopg.sql``, never formatted into SQL.
    """
    if not re.fullmatch(ROLE_NAME_PATTERN, role) or role in RESERVED_ROLES or role.startswith("pg_"):
        raise RoleProvisioningError(f"DB_APP_ROLE {role!r} is not a valid dedicated role name")
    raw = conn.connection.driver_connection
    if raw is None:  # pragma: no cover - a checked-out connection always has one
        raise RoleProvisioningError("no driver connection")
    ident, schema = sql.Identifier(role), sql.Identifier(APP_SCHEMA)
    with raw.cursor() as cur:
        cur.execute("SELECT current_user")
        current = cur.fetchone()
        if current is not None and current[0] == role:
            raise RoleProvisioningError(f"DB_APP_ROLE {role!r} is the migrating user itself; use a separate role")
        cur.execute(
            "SELECT rolcanlogin, rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication "
            "FROM pg_roles WHERE rolname = %s",
            (role,),
        )
        found = cur.fetchone()
        if found is None:
            cur.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
            log.info("created the app login role", extra={"role": role})
        else:
            can_login, privileged = found
            if privileged:
                raise RoleProvisioningError(
                    f"role {role!r} exists with SUPERUSER, CREATEROLE, CREATEDB, BYPASSRLS or REPLICATION: not a "
                    "least-privileged login; use another DB_APP_ROLE or strip those attributes"
                )
            if not can_login:
                cur.execute(sql.SQL("ALTER ROLE {} LOGIN").format(ident))
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (RDS_IAM_ROLE,))
        if cur.fetchone() is not None:
            cur.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(RDS_IAM_ROLE), ident))
        for statement in (
            "GRANT USAGE ON SCHEMA {schema} TO {role}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        ):
            cur.execute(sql.SQL(statement).format(schema=schema, role=ident))
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{APP_SCHEMA}.{VERSION_TABLE}",))
        version_table = cur.fetchone()
        if version_table is not None and version_table[0]:
            cur.execute(
                sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {}.{} FROM {}").format(
                    schema, sql.Identifier(VERSION_TABLE), ident
                )
            )
        cur.execute("SELECT has_schema_privilege(%s, %s, 'CREATE')", (role, APP_SCHEMA))
        can_create = cur.fetchone()
        if can_create is not None and can_create[0]:  # PUBLIC's old default (PostgreSQL < 15)
            cur.execute(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(schema))
            cur.execute("SELECT has_schema_privilege(%s, %s, 'CREATE')", (role, APP_SCHEMA))
            still = cur.fetchone()
            if still is not None and still[0]:
                raise RoleProvisioningError(
                    f"role {role!r} can still CREATE in schema {APP_SCHEMA} (granted directly or via another role)"
                )
    log.info("app login role provisioned", extra={"role": role, "schema": APP_SCHEMA})


def upgrade_to_head(
    url: URL,
    *,
    lock_timeout_ms: int = DEFAULT_MIGRATION_LOCK_TIMEOUT_MS,
    app_role: str | None = None,
    password: Callable[[], str] | None = None,
) -> str:
    """Upgrade the database at ``url`` to head under the advisory lock; return the resulting revision.

    ``app_role`` (``DB_APP_ROLE``, PostgreSQL only): then provision the service's login role
    (:func:`provision_app_role`), still under the lock. ``password``: a per-connection password source
    (``DB_IAM_AUTH``), see :func:`slipway_app.db.engine_for_url`.

    On PostgreSQL the migration connection gets ``lock_timeout`` = ``lock_timeout_ms`` (and no
    ``statement_timeout``: a long index build is fine, waiting behind a long transaction while every reader queues
    behind us is not), so a blocked DDL statement fails with ``LockNotAvailable`` instead of stalling the app.
    """
    engine = engine_for_url(url, pooled=False, password=password)
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
                if app_role is not None and conn.dialect.name == "postgresql":
                    provision_app_role(conn, app_role)
                    conn.commit()
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
