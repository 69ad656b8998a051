"""Notes storage behind the async endpoints: one set of SQL statements, run by PostgreSQL and by SQLite.

Each statement is written once, below, with named parameters (``%(name)s``, psycopg's style; SQLite gets the same
text with ``:name``, :func:`sqlite_sql`), in SQL both databases run the same way (``RETURNING``, ``ON CONFLICT ...
DO NOTHING``, ``CURRENT_TIMESTAMP``, ``COALESCE``, ``LIMIT``/``OFFSET``). The two stores differ only in how they
reach the database: PostgreSQL through psycopg 3 on a pooled autocommit connection
(:class:`slipway_app.pgpool.ConnectionPool`: one statement per request, no ORM unit of work, no thread hand-off),
SQLite through SQLAlchemy's connection in a worker thread. The ORM models (``models.py``) own the schema and the
migrations; the API tests run on both backends (the ``db_url`` fixture).

SQLite compares ``=`` case-sensitively (``BINARY``) as PostgreSQL does; no statement uses ``LIKE``.

Readiness (:meth:`NoteStore.schema_revisions`) has its own connection per worker on PostgreSQL, so a busy request
pool never makes a task look unready, and costs one round trip (``SELECT version_num FROM alembic_version``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import psycopg
from psycopg import AsyncConnection
from psycopg import errors as pg_errors
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError as SAOperationalError

from .dberrors import OutageLog
from .pgpool import ConnectionPool

log = logging.getLogger(__name__)

Row = dict[str, Any]
COLUMNS = ("id", "title", "body", "created_at", "updated_at")

SQL_GET = "SELECT id, title, body, created_at, updated_at FROM notes WHERE id = %(id)s"
SQL_INSERT = (
    "INSERT INTO notes (title, body) VALUES (%(title)s, %(body)s) RETURNING id, title, body, created_at, updated_at"
)
# With an Idempotency-Key, still one autocommit statement: the note is inserted only if the key is new (not in
# idempotency_keys, which outlives notes, and not on a note being inserted concurrently: the partial unique index
# on notes.idempotency_key arbitrates, the second insert waits for the first one's commit and inserts nothing). The
# trigger of migration 0003 copies the key, the request (title, body) and the answer (id, created_at) into
# idempotency_keys in the same statement. Nothing returned means the key was used before: SQL_GET_KEY says by what.
SQL_INSERT_KEYED = (
    "INSERT INTO notes (title, body, idempotency_key) "
    "SELECT CAST(%(title)s AS TEXT), CAST(%(body)s AS TEXT), CAST(%(key)s AS TEXT) "
    "WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE key = CAST(%(key)s AS TEXT)) "
    "ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING "
    "RETURNING id, title, body, created_at, updated_at"
)
SQL_GET_KEY = "SELECT note_id, title, body, created_at FROM idempotency_keys WHERE key = %(key)s"
SQL_LIST = (
    "SELECT id, title, body, created_at, updated_at FROM notes WHERE id > %(after)s "
    "ORDER BY id LIMIT %(limit)s OFFSET %(offset)s"
)
SQL_REPLACE = (
    "UPDATE notes SET title = %(title)s, body = %(body)s, updated_at = CURRENT_TIMESTAMP "
    "WHERE id = %(id)s RETURNING id, title, body, created_at, updated_at"
)
SQL_PATCH = (
    "UPDATE notes SET title = COALESCE(%(title)s, title), body = COALESCE(%(body)s, body), "
    "updated_at = CURRENT_TIMESTAMP WHERE id = %(id)s RETURNING id, title, body, created_at, updated_at"
)
SQL_DELETE = "DELETE FROM notes WHERE id = %(id)s RETURNING id"
SQL_REVISIONS = "SELECT version_num FROM alembic_version"

_NAMED = re.compile(r"%\((\w+)\)s")


def sqlite_sql(sql: str) -> str:
    """The same statement in the sqlite3 module's named-parameter style (``:name``)."""
    return _NAMED.sub(r":\1", sql)


class IdempotencyKeyReusedError(Exception):
    """The ``Idempotency-Key`` was already used for a different request (a client bug, not a retry)."""


def _replay(found: tuple[Any, ...] | Any | None, title: str, body: str) -> Row:
    """The original 201's note for a stored key ``(note_id, title, body, created_at)``, or 422 for another request.

    The note as it was created, whatever happened to it since (edited, deleted): the key row keeps the request's
    title and body and the answer's id and creation time.
    """
    if found is None:  # pragma: no cover  # a conflict with no key row: the key's insert was rolled back meanwhile
        raise IdempotencyKeyReusedError
    note_id, stored_title, stored_body, created_at = found
    if (stored_title, stored_body) != (title, body):
        raise IdempotencyKeyReusedError
    return {"id": note_id, "title": title, "body": body, "created_at": created_at, "updated_at": created_at}


def _row(values: tuple[Any, ...] | Any) -> Row:
    return dict(zip(COLUMNS, values, strict=True))


class NoteStore(ABC):
    """What the endpoints need from the database. Every method is one short unit of work."""

    #: Rate-limited logging of this worker's database failures (the 503 handler reports, successes close outages).
    outage: OutageLog

    @abstractmethod
    async def open(self) -> None:
        """Start (warm up connections in the background where it helps); must not fail when the DB is down."""

    @abstractmethod
    async def close(self) -> None:
        """Close every connection (worker shutdown)."""

    @abstractmethod
    async def get(self, note_id: int) -> Row | None:
        """The note, or None."""

    @abstractmethod
    async def create(self, title: str, body: str, key: str | None) -> tuple[Row, bool]:
        """``(note, created)``; with a ``key`` already used by the same request, its original note and ``False``.

        Raises :class:`IdempotencyKeyReusedError` when the key was used by a different request.
        """

    @abstractmethod
    async def page(self, limit: int, offset: int, after: int | None) -> list[Row]:
        """Notes in id order."""

    @abstractmethod
    async def replace(self, note_id: int, title: str, body: str) -> Row | None:
        """Set title and body; None if missing."""

    @abstractmethod
    async def patch(self, note_id: int, title: str | None, body: str | None) -> Row | None:
        """Set the given fields; None if missing."""

    @abstractmethod
    async def delete(self, note_id: int) -> bool:
        """False if missing."""

    @abstractmethod
    async def schema_revisions(self) -> set[str]:
        """The Alembic revision(s) in the database (empty if never migrated); bounded by the readiness timeout."""


class PgNoteStore(NoteStore):
    """PostgreSQL: psycopg 3 async, one statement per request on :class:`ConnectionPool`."""

    def __init__(
        self,
        conninfo: str,
        *,
        pool_size: int,
        pool_timeout: float,
        max_lifetime: float,
        connect_kwargs: dict[str, Any],
        probe_kwargs: dict[str, Any],
        password: Callable[[], str] | None = None,
    ) -> None:
        self.outage = OutageLog()
        self.pool = ConnectionPool(
            conninfo,
            size=pool_size,
            timeout=pool_timeout,
            max_lifetime=max_lifetime,
            connect_kwargs=connect_kwargs,
            on_success=self.outage.success,
            password=password,
        )
        self._password = password  # DB_IAM_AUTH: a fresh token for every new connection (the probe's too)
        self._conninfo = conninfo
        self._probe_kwargs = {**probe_kwargs, "autocommit": True}
        self._probe: AsyncConnection[Any] | None = None
        self._probe_lock = asyncio.Lock()
        self._warmup: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Warm the pool in the background: the first burst of requests finds connections ready."""
        self._warmup = asyncio.get_running_loop().create_task(self.pool.fill())

    async def close(self) -> None:
        """Close the pool and the readiness connection."""
        if self._warmup is not None and not self._warmup.done():
            self._warmup.cancel()
        await self.pool.close()
        if self._probe is not None:
            await self._probe.close()
            self._probe = None

    async def _one(self, sql: str, params: dict[str, Any]) -> Row | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params)
            values = await cur.fetchone()
        return _row(values) if values is not None else None

    async def get(self, note_id: int) -> Row | None:  # noqa: D102
        return await self._one(SQL_GET, {"id": note_id})

    async def create(self, title: str, body: str, key: str | None) -> tuple[Row, bool]:  # noqa: D102
        if key is None:
            row = await self._one(SQL_INSERT, {"title": title, "body": body})
            assert row is not None  # noqa: S101  # INSERT ... RETURNING always returns the row
            return row, True
        params = {"title": title, "body": body, "key": key}
        async with self.pool.connection() as conn:
            cur = await conn.execute(SQL_INSERT_KEYED, params)
            values = await cur.fetchone()
            if values is not None:
                return _row(values), True
            cur = await conn.execute(SQL_GET_KEY, params)
            found = await cur.fetchone()
        return _replay(found, title, body), False

    async def page(self, limit: int, offset: int, after: int | None) -> list[Row]:  # noqa: D102
        async with self.pool.connection() as conn:
            cur = await conn.execute(SQL_LIST, {"after": after or 0, "limit": limit, "offset": offset})
            return [_row(values) for values in await cur.fetchall()]

    async def replace(self, note_id: int, title: str, body: str) -> Row | None:  # noqa: D102
        return await self._one(SQL_REPLACE, {"title": title, "body": body, "id": note_id})

    async def patch(self, note_id: int, title: str | None, body: str | None) -> Row | None:  # noqa: D102
        return await self._one(SQL_PATCH, {"title": title, "body": body, "id": note_id})

    async def delete(self, note_id: int) -> bool:  # noqa: D102
        async with self.pool.connection() as conn:
            cur = await conn.execute(SQL_DELETE, {"id": note_id})
            return await cur.fetchone() is not None

    async def schema_revisions(self) -> set[str]:
        """One round trip on the worker's own readiness connection (reconnected after any failure).

        A kept connection that turns out broken (the database restarted since the last probe) is replaced and
        the query retried once at once: a stale connection is not a reason to report the task unready.
        """
        async with self._probe_lock:
            for attempt in (1, 2):
                fresh = self._probe is None or self._probe.closed
                try:
                    if self._probe is None or self._probe.closed:
                        kwargs = self._probe_kwargs
                        if self._password is not None:
                            kwargs = {**kwargs, "password": await asyncio.to_thread(self._password)}
                        self._probe = await AsyncConnection.connect(self._conninfo, **kwargs)
                    cur = await self._probe.execute(SQL_REVISIONS, prepare=False)
                    return {str(row[0]) for row in await cur.fetchall()}
                except pg_errors.UndefinedTable:
                    return set()  # never migrated
                except BaseException as exc:
                    broken = self._probe is not None and self._probe.broken
                    if self._probe is not None:
                        await self._probe.close()  # unknown state (cancelled, timed out, cut): start afresh
                        self._probe = None
                    if attempt == 1 and not fresh and broken and isinstance(exc, psycopg.OperationalError):
                        continue
                    raise
            raise AssertionError("unreachable")  # pragma: no cover


class SqliteNoteStore(NoteStore):
    """The embedded SQLite database: the same statements through SQLAlchemy's connection, in a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self.outage = OutageLog()
        self.engine = engine

    async def open(self) -> None:  # noqa: D102
        return None

    async def close(self) -> None:  # noqa: D102
        self.engine.dispose()

    async def _run(self, func: Any, *args: Any) -> Any:
        result = await anyio.to_thread.run_sync(func, *args)
        self.outage.success()
        return result

    @staticmethod
    def _first(conn: Connection, sql: str, params: dict[str, Any]) -> Any:
        return conn.exec_driver_sql(sqlite_sql(sql), params).first()

    def _write(self, sql: str, params: dict[str, Any]) -> Row | None:
        with self.engine.begin() as conn:
            values = self._first(conn, sql, params)
        return _row(values) if values is not None else None

    def _read(self, sql: str, params: dict[str, Any]) -> Row | None:
        with self.engine.connect() as conn:
            values = self._first(conn, sql, params)
        return _row(values) if values is not None else None

    async def get(self, note_id: int) -> Row | None:  # noqa: D102
        return await self._run(self._read, SQL_GET, {"id": note_id})

    def _create(self, title: str, body: str, key: str | None) -> tuple[Row, bool]:
        params = {"title": title, "body": body, "key": key}
        with self.engine.begin() as conn:
            values = self._first(conn, SQL_INSERT if key is None else SQL_INSERT_KEYED, params)
        if values is not None:
            return _row(values), True
        with self.engine.connect() as conn:
            found = self._first(conn, SQL_GET_KEY, params)
        return _replay(tuple(found) if found is not None else None, title, body), False

    async def create(self, title: str, body: str, key: str | None) -> tuple[Row, bool]:  # noqa: D102
        return await self._run(self._create, title, body, key)

    def _page(self, limit: int, offset: int, after: int | None) -> list[Row]:
        params = {"after": after or 0, "limit": limit, "offset": offset}
        with self.engine.connect() as conn:
            return [_row(values) for values in conn.exec_driver_sql(sqlite_sql(SQL_LIST), params)]

    async def page(self, limit: int, offset: int, after: int | None) -> list[Row]:  # noqa: D102
        return await self._run(self._page, limit, offset, after)

    async def replace(self, note_id: int, title: str, body: str) -> Row | None:  # noqa: D102
        return await self._run(self._write, SQL_REPLACE, {"title": title, "body": body, "id": note_id})

    async def patch(self, note_id: int, title: str | None, body: str | None) -> Row | None:  # noqa: D102
        return await self._run(self._write, SQL_PATCH, {"title": title, "body": body, "id": note_id})

    def _delete(self, note_id: int) -> bool:
        with self.engine.begin() as conn:
            return self._first(conn, SQL_DELETE, {"id": note_id}) is not None

    async def delete(self, note_id: int) -> bool:  # noqa: D102
        return await self._run(self._delete, note_id)

    def _revisions(self) -> set[str]:
        with self.engine.connect() as conn:
            try:
                return {str(row[0]) for row in conn.exec_driver_sql(SQL_REVISIONS)}
            except SAOperationalError as exc:
                if "no such table" in str(exc.orig):
                    return set()  # never migrated
                raise

    async def schema_revisions(self) -> set[str]:  # noqa: D102
        return await self._run(self._revisions)


def conninfo_for(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq conninfo string (password included, never logged) and the URL's query parameters."""
    query = {key: value if isinstance(value, str) else value[-1] for key, value in url.query.items()}
    params = {
        "host": url.host,
        "port": str(url.port) if url.port else None,
        "dbname": url.database,
        "user": url.username,
        "password": url.password if isinstance(url.password, str) else None,
    }
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None}), query
