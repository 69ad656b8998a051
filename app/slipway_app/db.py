"""Database access: the request path's store (psycopg 3 async pool on PostgreSQL), SQLAlchemy engines elsewhere.

* Requests on PostgreSQL: :func:`make_store` -> :class:`slipway_app.store.PgNoteStore`, a fixed pool of
  ``REQUEST_POOL_SIZE`` async connections per worker plus one readiness connection (``PROBE_CONNECTIONS``).
* Requests on SQLite, the CLI and migrations: SQLAlchemy 2 engines (:func:`engine_for_url`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from .iam_auth import password_provider
from .settings import DEFAULT_STATEMENT_TIMEOUT_MS, Settings
from .store import NoteStore, PgNoteStore, SqliteNoteStore, conninfo_for

# Fail fast when the database is unreachable, so /readyz answers within the ALB health-check timeout.
CONNECT_TIMEOUT_SECONDS = 3
# Database connections per worker process (components/config.py budgets WEB_CONCURRENCY x this x tasks): the
# request pool plus the readiness probe's own connection. Fixed size, no overflow: an overflow connection is opened
# and closed around a single request under load (1,000+ new PostgreSQL sessions per 20 s measured, issue 14).
POOL_SIZE = 10
PROBE_CONNECTIONS = 1
REQUEST_POOL_SIZE = POOL_SIZE - PROBE_CONNECTIONS
MAX_OVERFLOW = 0
# Waiting for a free pooled connection: short, so a saturated pool answers 503 + Retry-After quickly.
POOL_TIMEOUT_SECONDS = 2
# A pooled PostgreSQL connection is replaced after this long (picks up role/parameter changes, rebalances after a
# failover); TCP keepalives (below) keep idle ones alive through NAT/proxies in between. Not a per-request cost.
POOL_MAX_LIFETIME_SECONDS = 1800
# SQLite / SQLAlchemy engines: recycle before any NAT/RDS idle timeout (~350 s).
POOL_RECYCLE_SECONDS = 300
# The readiness probe's statement_timeout: below the ALB health check's 5 s timeout.
READYZ_STATEMENT_TIMEOUT_MS = 2_000
APPLICATION_NAME = "slipway-app"
TCP_USER_TIMEOUT_MS = 10_000


def make_store(settings: Settings) -> NoteStore:
    """The request path's store for ``settings``: :class:`PgNoteStore` on PostgreSQL, else :class:`SqliteNoteStore`."""
    url = settings.sqlalchemy_url()
    if url.get_backend_name() != "postgresql":
        return SqliteNoteStore(engine_for_url(url))
    conninfo, query = conninfo_for(url)
    base = {**_pg_connect_args(), **{k: v for k, v in query.items() if k != "options"}}
    existing = query.get("options")
    # The URL's own ?options=... first, then ours (the last -c wins). TimeZone=UTC: timestamps come back in UTC.
    options = [existing] if existing else []
    request_args = {
        **base,
        "options": " ".join(
            [*options, f"-c statement_timeout={int(settings.db_statement_timeout_ms)}", "-c TimeZone=UTC"]
        ),
    }
    probe_args = {
        **base,
        "application_name": f"{APPLICATION_NAME}-readyz",
        "options": " ".join([*options, f"-c statement_timeout={READYZ_STATEMENT_TIMEOUT_MS}"]),
    }
    return PgNoteStore(
        conninfo,
        pool_size=REQUEST_POOL_SIZE,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        max_lifetime=POOL_MAX_LIFETIME_SECONDS,
        connect_kwargs=request_args,
        probe_kwargs=probe_args,
        password=password_provider(settings),
    )


def _pg_connect_args() -> dict[str, object]:
    return {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "application_name": APPLICATION_NAME,
        # Detect a silently dead peer (network partition, failover) instead of hanging for
        # minutes: TCP keepalives, and give up on unacknowledged sends after 10 s.
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
    }


def engine_for_url(
    url: URL,
    *,
    pooled: bool = True,
    statement_timeout_ms: int | None = None,
    password: Callable[[], str] | None = None,
) -> Engine:
    """A SQLAlchemy engine with the app's timeout policy for ``url`` (PostgreSQL or SQLite).

    ``pooled=False`` (CLI, migrations) opens one connection per use and has no ``statement_timeout`` (``app
    migrate`` sets its own ``lock_timeout``, :mod:`slipway_app.migrate`). Pooled PostgreSQL engines (tools and
    tests; requests use :func:`make_store`) carry ``statement_timeout_ms`` (default
    :data:`DEFAULT_STATEMENT_TIMEOUT_MS`) as a start-up option and the same fixed pool size, without pre-ping.
    ``password`` (``DB_IAM_AUTH``, :mod:`slipway_app.iam_auth`): called for every new PostgreSQL connection, whose
    password it sets (a fresh IAM auth token each time).
    """
    if url.get_backend_name() == "postgresql":
        engine = _pg_engine(url, pooled=pooled, statement_timeout_ms=statement_timeout_ms)
        if password is not None:
            _set_password_per_connection(engine, password)
        return engine
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    sqlite_args = {"check_same_thread": False, "timeout": CONNECT_TIMEOUT_SECONDS}
    engine = (
        create_engine(url, connect_args=sqlite_args)
        if pooled
        else create_engine(url, connect_args=sqlite_args, poolclass=NullPool)
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _set_password_per_connection(engine: Engine, password: Callable[[], str]) -> None:
    """``do_connect``: each new DBAPI connection of ``engine`` gets ``password()`` as its password."""

    def do_connect(_dialect: object, _record: object, _cargs: object, cparams: dict[str, Any]) -> None:
        cparams["password"] = password()

    event.listen(engine, "do_connect", do_connect)


def _pg_engine(url: URL, *, pooled: bool, statement_timeout_ms: int | None) -> Engine:
    connect_args = _pg_connect_args()
    if not pooled:
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)
    timeout_ms = DEFAULT_STATEMENT_TIMEOUT_MS if statement_timeout_ms is None else int(statement_timeout_ms)
    # connect_args replace a URL's own ?options=...: keep those, then add ours (the last -c wins).
    existing = url.query.get("options")
    options = [existing] if isinstance(existing, str) and existing else []
    connect_args["options"] = " ".join([*options, f"-c statement_timeout={timeout_ms}"])
    return create_engine(
        url,
        pool_size=REQUEST_POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args=connect_args,
    )


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """WAL for concurrent readers across gunicorn workers; enforce foreign keys like PostgreSQL does."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
