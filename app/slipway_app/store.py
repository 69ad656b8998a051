"""Notes storage behind the async endpoints: PostgreSQL through psycopg 3 (async, core SQL), SQLite through SQLAlchemy.

The request path on PostgreSQL is one statement per request on a pooled autocommit connection
(:class:`slipway_app.pgpool.ConnectionPool`): no ORM unit of work, no session, no thread hand-off. SQL that
PostgreSQL can do in one round trip is done in one (``INSERT ... RETURNING``, ``UPDATE ... RETURNING``). The ORM
models (``models.py``) still own the schema, the migrations and the SQLite path; the API tests run on both
backends (the ``db_url`` fixture), so both stores are held to the same answers.

Readiness (:meth:`NoteStore.schema_revisions`) has its own connection per worker on PostgreSQL, so a busy request
pool never makes a task look unready, and costs one round trip (``SELECT version_num FROM alembic_version``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import psycopg
from psycopg import AsyncConnection
from psycopg import errors as pg_errors
from sqlalchemy import Engine, Table, delete, insert, select, update
from sqlalchemy.engine import URL

from .dberrors import OutageLog
from .models import IdempotencyKey, Note, utcnow
from .pgpool import ConnectionPool

log = logging.getLogger(__name__)

Row = dict[str, Any]
COLUMNS = ("id", "title", "body", "created_at", "updated_at")
_SELECT = "SELECT id, title, body, created_at, updated_at FROM notes"

SQL_GET = f"{_SELECT} WHERE id = %s"
SQL_INSERT = "INSERT INTO notes (title, body) VALUES (%s, %s) RETURNING id, title, body, created_at, updated_at"
# With an Idempotency-Key, one statement: the key row (fingerprint of the request, the note's id drawn from the
# notes sequence) is inserted first, ON CONFLICT DO NOTHING, and the note only when the key row was. A retry inserts
# nothing; a concurrent duplicate waits for the first one's commit, then inserts nothing either (the primary key
# arbitrates). The note's created_at/updated_at are the key row's now(): the stored answer is the note as created.
# notes.idempotency_key is still written for a previous version serving during a rollout (migration 0003).
SQL_INSERT_KEYED = (
    "WITH k AS ("
    "INSERT INTO idempotency_keys (key, fingerprint, note_id) "
    "VALUES (%(key)s, %(fingerprint)s, nextval(pg_get_serial_sequence('notes', 'id'))) "
    "ON CONFLICT (key) DO NOTHING RETURNING note_id, created_at) "
    "INSERT INTO notes (id, title, body, idempotency_key, created_at, updated_at) "
    "SELECT note_id, %(title)s, %(body)s, %(key)s, created_at, created_at FROM k "
    "RETURNING id, title, body, created_at, updated_at"
)
SQL_GET_KEY = "SELECT fingerprint, note_id, created_at FROM idempotency_keys WHERE key = %s"
SQL_LIST = f"{_SELECT} ORDER BY id LIMIT %s OFFSET %s"
SQL_LIST_AFTER = f"{_SELECT} WHERE id > %s ORDER BY id LIMIT %s OFFSET %s"
SQL_REPLACE = (
    "UPDATE notes SET title = %s, body = %s, updated_at = now() WHERE id = %s "
    "RETURNING id, title, body, created_at, updated_at"
)
SQL_PATCH = (
    "UPDATE notes SET title = COALESCE(%s, title), body = COALESCE(%s, body), updated_at = now() WHERE id = %s "
    "RETURNING id, title, body, created_at, updated_at"
)
SQL_DELETE = "DELETE FROM notes WHERE id = %s"
SQL_REVISIONS = "SELECT version_num FROM alembic_version"


class IdempotencyKeyReusedError(Exception):
    """The ``Idempotency-Key`` was already used for a different request (a client bug, not a retry)."""


def request_fingerprint(title: str, body: str) -> str:
    """SHA-256 (hex) of a ``POST /api/notes`` request's payload after validation (NUL cannot occur in either)."""
    return hashlib.sha256(b"POST /api/notes\n" + title.encode() + b"\x00" + body.encode()).hexdigest()


def _replay(found: tuple[Any, ...] | Any, title: str, body: str) -> Row:
    """The original 201's note for a stored key ``(fingerprint, note_id, created_at)``, or 422 for another request.

    The note as it was created: its title and body are this request's (the fingerprints match), its timestamps
    the key row's. What happened to the note since (edited, deleted) does not change the answer.
    """
    fingerprint, note_id, created_at = found
    if fingerprint != request_fingerprint(title, body):
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

    async def _one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params)
            values = await cur.fetchone()
        return _row(values) if values is not None else None

    async def get(self, note_id: int) -> Row | None:  # noqa: D102
        return await self._one(SQL_GET, (note_id,))

    async def create(self, title: str, body: str, key: str | None) -> tuple[Row, bool]:  # noqa: D102
        if key is None:
            row = await self._one(SQL_INSERT, (title, body))
            assert row is not None  # noqa: S101  # INSERT ... RETURNING always returns the row
            return row, True
        params = {"key": key, "fingerprint": request_fingerprint(title, body), "title": title, "body": body}
        async with self.pool.connection() as conn:
            cur = await conn.execute(SQL_INSERT_KEYED, params)
            values = await cur.fetchone()
            if values is not None:
                return _row(values), True
            cur = await conn.execute(SQL_GET_KEY, (key,))
            found = await cur.fetchone()
        if found is None:  # pragma: no cover  # key rows are never deleted
            raise RuntimeError("Idempotency-Key row vanished")
        return _replay(found, title, body), False

    async def page(self, limit: int, offset: int, after: int | None) -> list[Row]:  # noqa: D102
        async with self.pool.connection() as conn:
            if after is None:
                cur = await conn.execute(SQL_LIST, (limit, offset))
            else:
                cur = await conn.execute(SQL_LIST_AFTER, (after, limit, offset))
            return [_row(values) for values in await cur.fetchall()]

    async def replace(self, note_id: int, title: str, body: str) -> Row | None:  # noqa: D102
        return await self._one(SQL_REPLACE, (title, body, note_id))

    async def patch(self, note_id: int, title: str | None, body: str | None) -> Row | None:  # noqa: D102
        return await self._one(SQL_PATCH, (title, body, note_id))

    async def delete(self, note_id: int) -> bool:  # noqa: D102
        async with self.pool.connection() as conn:
            cur = await conn.execute(SQL_DELETE, (note_id,))
            return cur.rowcount > 0

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
    """The embedded SQLite database: SQLAlchemy Core on the sync engine, each call in a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self.outage = OutageLog()
        self.engine = engine
        self.table: Table = Note.__table__  # type: ignore[assignment]
        self.keys: Table = IdempotencyKey.__table__  # type: ignore[assignment]
        self._returning = [self.table.c[name] for name in COLUMNS]

    async def open(self) -> None:  # noqa: D102
        return None

    async def close(self) -> None:  # noqa: D102
        self.engine.dispose()

    async def _run(self, func: Any, *args: Any) -> Any:
        result = await anyio.to_thread.run_sync(func, *args)
        self.outage.success()
        return result

    def _get(self, note_id: int) -> Row | None:
        with self.engine.connect() as conn:
            values = conn.execute(select(*self._returning).where(self.table.c.id == note_id)).first()
        return _row(values) if values is not None else None

    async def get(self, note_id: int) -> Row | None:  # noqa: D102
        return await self._run(self._get, note_id)

    def _create(self, title: str, body: str, key: str | None) -> tuple[Row, bool]:
        now = utcnow()
        keys = self.keys.c
        with self.engine.begin() as conn:
            if key is not None:
                found = conn.execute(
                    select(keys.fingerprint, keys.note_id, keys.created_at).where(keys.key == key)
                ).first()
                if found is not None:
                    return _replay(tuple(found), title, body), False
            values = conn.execute(
                insert(self.table)
                .values(title=title, body=body, idempotency_key=key, created_at=now, updated_at=now)
                .returning(*self._returning)
            ).one()
            if key is not None:
                conn.execute(
                    insert(self.keys).values(
                        key=key,
                        fingerprint=request_fingerprint(title, body),
                        note_id=values[0],
                        created_at=now,
                    )
                )
        return _row(values), True

    async def create(self, title: str, body: str, key: str | None) -> tuple[Row, bool]:  # noqa: D102
        return await self._run(self._create, title, body, key)

    def _page(self, limit: int, offset: int, after: int | None) -> list[Row]:
        query = select(*self._returning).order_by(self.table.c.id).limit(limit).offset(offset)
        if after is not None:
            query = query.where(self.table.c.id > after)
        with self.engine.connect() as conn:
            return [_row(values) for values in conn.execute(query)]

    async def page(self, limit: int, offset: int, after: int | None) -> list[Row]:  # noqa: D102
        return await self._run(self._page, limit, offset, after)

    def _update(self, note_id: int, fields: dict[str, str]) -> Row | None:
        with self.engine.begin() as conn:
            values = conn.execute(
                update(self.table)
                .where(self.table.c.id == note_id)
                .values(**fields, updated_at=utcnow())
                .returning(*self._returning)
            ).first()
        return _row(values) if values is not None else None

    async def replace(self, note_id: int, title: str, body: str) -> Row | None:  # noqa: D102
        return await self._run(self._update, note_id, {"title": title, "body": body})

    async def patch(self, note_id: int, title: str | None, body: str | None) -> Row | None:  # noqa: D102
        fields = {k: v for k, v in (("title", title), ("body", body)) if v is not None}
        return await self._run(self._update, note_id, fields)

    def _delete(self, note_id: int) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(self.table).where(self.table.c.id == note_id)).rowcount > 0

    async def delete(self, note_id: int) -> bool:  # noqa: D102
        return await self._run(self._delete, note_id)

    def _revisions(self) -> set[str]:
        from .migrate import current_revisions

        with self.engine.connect() as conn:
            return current_revisions(conn)

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
