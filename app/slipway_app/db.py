"""Database engine and sessions (SQLAlchemy 2, psycopg 3 for PostgreSQL, pysqlite for the embedded database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from .settings import DEFAULT_STATEMENT_TIMEOUT_MS, Settings

# Fail fast when the database is unreachable, so /readyz answers within the ALB health-check timeout.
CONNECT_TIMEOUT_SECONDS = 3
# Per worker process: WEB_CONCURRENCY x (POOL_SIZE + MAX_OVERFLOW) x tasks must stay below max_connections.
POOL_SIZE = 5
MAX_OVERFLOW = 5
# Waiting for a free pooled connection: short, so a saturated pool answers 503 + Retry-After quickly.
POOL_TIMEOUT_SECONDS = 2
# Recycle before any NAT/RDS idle timeout (RDS proxies and NAT gateways drop idle flows after ~350 s).
POOL_RECYCLE_SECONDS = 300
APPLICATION_NAME = "slipway-app"
TCP_USER_TIMEOUT_MS = 10_000


def make_engine(settings: Settings, *, pooled: bool = True) -> Engine:
    """An engine for ``settings``; ``pooled=False`` (CLI, migrations) opens one connection per use.

    The pooled (request-serving) engine gets ``DB_STATEMENT_TIMEOUT_MS`` as PostgreSQL ``statement_timeout``.
    """
    return engine_for_url(
        settings.sqlalchemy_url(),
        pooled=pooled,
        statement_timeout_ms=settings.db_statement_timeout_ms if pooled else None,
    )


def engine_for_url(url: URL, *, pooled: bool = True, statement_timeout_ms: int | None = None) -> Engine:
    """An engine with the app's pool and timeout policy for ``url`` (PostgreSQL or SQLite).

    Pooled PostgreSQL engines always carry a ``statement_timeout`` (``statement_timeout_ms``, default
    :data:`DEFAULT_STATEMENT_TIMEOUT_MS`), set at connection start-up (libpq ``options``), so no request waits on a
    lock or a slow query for longer than that. Unpooled engines (migrations) get none: ``app migrate`` sets its own
    ``lock_timeout`` instead (:mod:`slipway_app.migrate`).
    """
    if url.get_backend_name() == "postgresql":
        connect_args: dict[str, object] = {
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
        if not pooled:
            return create_engine(url, poolclass=NullPool, connect_args=connect_args)
        timeout_ms = DEFAULT_STATEMENT_TIMEOUT_MS if statement_timeout_ms is None else int(statement_timeout_ms)
        # connect_args replace a URL's own ?options=...: keep those, then add ours (the last -c wins).
        existing = url.query.get("options")
        options = [existing] if isinstance(existing, str) and existing else []
        connect_args["options"] = " ".join([*options, f"-c statement_timeout={timeout_ms}"])
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            pool_recycle=POOL_RECYCLE_SECONDS,
            connect_args=connect_args,
        )
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


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """WAL for concurrent readers across gunicorn workers; enforce foreign keys like PostgreSQL does."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (responses are built after the commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session and always close it (a FastAPI dependency body)."""
    with factory() as session:
        yield session
