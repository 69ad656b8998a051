"""A fixed-size asyncio pool of psycopg 3 connections for the request path (one per worker process).

Why not ``psycopg_pool``/SQLAlchemy's pool (measured, see bench/README.md): the request path needs exactly this and
nothing more, and the differences matter under failure:

* **Fixed size, no overflow**: ``size`` slots, each holding one connection or none. A connection is opened only when
  a slot is empty (cold start, or its last connection broke) and closed only when it broke, its transaction state is
  not idle after use, or it outlived ``max_lifetime``: no churn under load, ever.
* **Cold start**: at most ``size`` connects run at once (a slot is taken before connecting); a burst of requests
  waits for slots (up to ``timeout``) instead of opening a connection each, so 64 connections arriving together at a
  fresh task cannot collapse it.
* **Fails fast, recovers at once**: connecting happens inline in the request that needs it, with no background
  reconnect back-off. While the database is down each request gets its own (fast) connection error, so clients see
  quick 503s; the first request after the database is back reconnects. ``psycopg_pool`` reconnects in background
  workers with exponential back-off (1, 2, 4, 8 s ...) and makes requests wait the full pool timeout meanwhile.
* **No pre-ping**: a connection that died while idle fails its request once (503, the caller may retry); checking
  every checkout would cost a round trip per request (~20 % of the raw throughput, issue 14). When one connection
  turns out broken, every connection opened before it is replaced on its next checkout (as SQLAlchemy invalidates
  its pool on a disconnect), so a database restart costs each worker about one failed request, not one per slot.

Connections are in autocommit mode: every statement of the request path is a single statement.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus


class PoolTimeout(psycopg.OperationalError):
    """No slot became free within the pool timeout (every connection busy): the caller answers 503."""


class PoolClosed(psycopg.OperationalError):
    """The pool was closed (the worker is shutting down)."""


class _Slot:
    __slots__ = ("conn", "created_at", "generation")

    def __init__(self) -> None:
        self.conn: AsyncConnection[Any] | None = None
        self.created_at = 0.0
        self.generation = 0


class ConnectionPool:
    """``size`` slots; :meth:`connection` lends one connection, opening it first when its slot is empty."""

    def __init__(
        self,
        conninfo: str,
        *,
        size: int,
        timeout: float,
        max_lifetime: float,
        connect_kwargs: dict[str, Any],
        on_success: Callable[[], None] | None = None,
        password: Callable[[], str] | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("size must be >= 1")
        self.conninfo = conninfo
        self.size = size
        self.timeout = timeout
        self.max_lifetime = max_lifetime
        self.connect_kwargs = {**connect_kwargs, "autocommit": True}
        self._idle: deque[_Slot] = deque(_Slot() for _ in range(size))
        self._waiters: deque[asyncio.Future[_Slot]] = deque()
        self._closed = False
        # Bumped when a connection breaks (server restarted, network cut): the idle connections opened before it
        # are most likely dead too, so each is replaced on its next checkout instead of failing one request each.
        self._generation = 0
        self.on_success = on_success
        # DB_IAM_AUTH: called (in a thread: it may fetch credentials) for every NEW connection, so each one
        # authenticates with a fresh token; open connections are unaffected when the credential changes.
        self.password = password
        self.connects = 0  # connections opened so far (tests and the benchmark check there is no churn)

    @property
    def idle_slots(self) -> int:
        """Slots not lent out right now."""
        return len(self._idle)

    @property
    def open_connections(self) -> int:
        """Connections currently open in idle slots (lent-out ones are not counted)."""
        return sum(1 for slot in self._idle if slot.conn is not None and not slot.conn.closed)

    async def _take(self) -> _Slot:
        if self._closed:
            raise PoolClosed("the connection pool is closed (shutting down)")
        if self._idle and not self._waiters:
            return self._idle.popleft()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Slot] = loop.create_future()
        self._waiters.append(future)
        # A timer on the future itself, not asyncio.wait_for (which wraps it in more futures and callbacks: ~2 %
        # of a request's CPU when most requests wait for a slot, as they do at 64 connections on 9 slots).
        timer = loop.call_later(self.timeout, self._expire, future)
        try:
            return await future
        except BaseException:
            if future.done() and not future.cancelled() and future.exception() is None:
                self._give_back(future.result())  # handed a slot while being cancelled: pass it on
            raise
        finally:
            timer.cancel()
            if future in self._waiters:
                self._waiters.remove(future)

    def _expire(self, future: asyncio.Future[_Slot]) -> None:
        if not future.done():
            future.set_exception(PoolTimeout(f"no free database connection within {self.timeout:g} s"))

    def _give_back(self, slot: _Slot) -> None:
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(slot)
                return
        self._idle.append(slot)

    async def _open(self, slot: _Slot) -> AsyncConnection[Any]:
        kwargs = self.connect_kwargs
        if self.password is not None:
            kwargs = {**kwargs, "password": await asyncio.to_thread(self.password)}
        conn = await AsyncConnection.connect(self.conninfo, **kwargs)
        slot.conn, slot.created_at, slot.generation = conn, time.monotonic(), self._generation
        self.connects += 1
        return conn

    def connection(self) -> _Lease:
        """``async with pool.connection() as conn``: lend a connection for one unit of work.

        Raises :class:`PoolTimeout` or psycopg's connection errors on entry.
        """
        return _Lease(self)

    async def _checkout(self) -> tuple[_Slot, AsyncConnection[Any]]:
        slot = await self._take()
        try:
            conn = slot.conn
            if (
                conn is None
                or conn.closed
                or slot.generation != self._generation
                or time.monotonic() - slot.created_at > self.max_lifetime
            ):
                if conn is not None:
                    await conn.close()
                    slot.conn = None
                conn = await self._open(slot)
        except BaseException:
            await self._checkin(slot)
            raise
        return slot, conn

    async def _checkin(self, slot: _Slot) -> None:
        conn = slot.conn
        if conn is not None and conn.broken:
            self._generation += 1
        if conn is not None and (conn.closed or conn.info.transaction_status != TransactionStatus.IDLE):
            # Broken, or left mid-statement/mid-transaction (e.g. the request was cancelled): never reuse.
            slot.conn = None
            await _close_quietly(conn)
        self._give_back(slot)

    async def fill(self) -> None:
        """Open a connection in every idle empty slot (start-up warm-up); errors are left to the requests."""
        slots = [slot for slot in self._idle if slot.conn is None]
        for slot in slots:
            self._idle.remove(slot)
        try:
            await asyncio.gather(*(self._open(slot) for slot in slots), return_exceptions=True)
        finally:
            for slot in slots:
                self._give_back(slot)

    async def close(self) -> None:
        """Refuse new checkouts and close every idle connection (lent-out ones close when given back)."""
        self._closed = True
        for future in self._waiters:
            if not future.done():
                future.set_exception(PoolClosed("the connection pool is closed (shutting down)"))
        self._waiters.clear()
        for slot in self._idle:
            if slot.conn is not None:
                await _close_quietly(slot.conn)
                slot.conn = None


class _Lease:
    """The async context manager :meth:`ConnectionPool.connection` returns (a class: cheaper than a generator)."""

    __slots__ = ("_pool", "_slot")

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._slot: _Slot | None = None

    async def __aenter__(self) -> AsyncConnection[Any]:
        self._slot, conn = await self._pool._checkout()
        return conn

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        slot, self._slot = self._slot, None
        if slot is None:  # __aenter__ failed (it gave the slot back itself); Python does not call us then
            return
        try:
            if exc_type is None and self._pool.on_success is not None:
                self._pool.on_success()
        finally:
            await self._pool._checkin(slot)


async def _close_quietly(conn: AsyncConnection[Any]) -> None:
    try:
        await conn.close()
    except Exception:  # noqa: S110 - a connection we are discarding; nothing useful to do with its error
        pass
