"""A stalled or saturated database: bounded waits, 503 + Retry-After, and liveness that never queues behind it.

Each test holds a real PostgreSQL lock (or the app's pool) from the test and checks what the app does meanwhile.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from fastapi.routing import APIRoute
from slipway_app import db
from slipway_app.api import READYZ_STATEMENT_TIMEOUT_MS
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL


@contextmanager
def table_locked(url: URL, table: str) -> Iterator[Connection]:
    """Hold ``LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE`` in an open transaction (readers block on it)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            try:
                yield conn
            finally:
                conn.rollback()
    finally:
        engine.dispose()


def _waiting_on(holder: Connection, table: str) -> int:
    return int(
        holder.execute(
            text("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = to_regclass(:t)"), {"t": table}
        ).scalar_one()
    )


def _get_while_locked(client: Any, path: str, holder: Connection, timeout: float = 8) -> tuple[Any, float]:
    """GET ``path`` while ``holder`` keeps its lock; give up (fail, not hang) after ``timeout``, then unlock."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        future = pool.submit(client.get, path)
        try:
            response = future.result(timeout=timeout)
            return response, time.monotonic() - started
        finally:
            holder.rollback()


def _wait_until(predicate: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


# -- pool exhausted (defect: sqlalchemy.exc.TimeoutError fell through to the generic 500) -------------------------


def _pool_query(client: Any, sql: str) -> Any:
    """Run ``sql`` on a connection of the app's request pool (on the app's own event loop)."""

    async def run() -> Any:
        async with client.app.state.store.pool.connection() as conn:
            cur = await conn.execute(sql)
            return (await cur.fetchone())[0]

    return client.portal.call(run)


def test_a_full_pool_is_a_fast_503_with_retry_after_and_readyz_stays_ready(
    pg_url: URL, settings_for: Any, client_for: Any, monkeypatch: Any
) -> None:
    assert db.POOL_TIMEOUT_SECONDS <= 2, "a saturated pool must answer quickly"
    assert db.MAX_OVERFLOW == 0 and db.REQUEST_POOL_SIZE + db.PROBE_CONNECTIONS == db.POOL_SIZE
    monkeypatch.setattr(db, "REQUEST_POOL_SIZE", 1)
    monkeypatch.setattr(db, "POOL_TIMEOUT_SECONDS", 0.2)
    client = client_for(settings_for(pg_url))
    with ThreadPoolExecutor(max_workers=1) as pool, table_locked(pg_url, "notes") as holder:
        blocked = pool.submit(client.get, "/api/notes")  # takes the only pooled connection, waits on the lock
        assert _wait_until(lambda: _waiting_on(holder, "notes") == 1), "the request never blocked on the lock"
        started = time.monotonic()
        response = client.get("/api/notes/1")
        elapsed = time.monotonic() - started
        try:
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.json() == {"detail": "database unavailable, try again later"}
            assert elapsed < 1.5, f"a full pool answered after {elapsed:.2f} s"
            # Readiness has its own connection: a momentarily busy pool does not make the task look unready.
            assert client.get("/readyz").status_code == 200
        finally:
            holder.rollback()
        assert blocked.result(timeout=10).status_code == 200
    assert client.get("/api/notes").status_code == 200  # the connection is back: served again


# -- statement timeouts (defect: requests and /readyz hung as long as a lock was held) ----------------------------


def test_pooled_connections_carry_the_statement_timeout(pg_url: URL, settings_for: Any, client_for: Any) -> None:
    client = client_for(settings_for(pg_url))
    assert _pool_query(client, "SHOW statement_timeout") == "5s"  # the default
    assert _pool_query(client, "SHOW TimeZone") == "UTC"
    client = client_for(settings_for(pg_url, db_statement_timeout_ms=750))
    assert _pool_query(client, "SHOW statement_timeout") == "750ms"


def test_a_request_blocked_by_a_lock_is_a_503_after_the_statement_timeout(
    pg_url: URL, settings_for: Any, client_for: Any
) -> None:
    client = client_for(settings_for(pg_url, db_statement_timeout_ms=300))
    with table_locked(pg_url, "notes") as holder:
        response, elapsed = _get_while_locked(client, "/api/notes", holder)
    assert response.status_code == 503 and response.headers["retry-after"], response.text
    assert elapsed < 4, f"blocked for {elapsed:.1f} s"


def test_readyz_is_bounded_when_the_version_table_is_locked(
    pg_databases: Any, settings_for: Any, client_for: Any
) -> None:
    from slipway_app.migrate import upgrade_to_head

    url = pg_databases.create()
    upgrade_to_head(url)
    client = client_for(settings_for(url))  # default DB_STATEMENT_TIMEOUT_MS (5 s): /readyz uses its own 2 s
    assert client.get("/readyz").status_code == 200
    with table_locked(url, "alembic_version") as holder:
        response, elapsed = _get_while_locked(client, "/readyz", holder)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "database did not answer in time"}
    # ~READYZ_STATEMENT_TIMEOUT_MS (2 s), well inside the ALB health-check timeout (5 s); before: until unlocked.
    assert READYZ_STATEMENT_TIMEOUT_MS / 1000 - 0.2 < elapsed < 4.5, f"/readyz took {elapsed:.1f} s"
    assert client.get("/readyz").status_code == 200  # and recovers at once


# -- liveness during a stall (defect: sync /healthz queued behind DB-bound requests in the threadpool) -------------


def test_probes_and_notes_endpoints_are_coroutines() -> None:
    from slipway_app.api import notes, probes

    routes = [route for router in (probes, notes) for route in router.routes if isinstance(route, APIRoute)]
    sync = [route.path for route in routes if not inspect.iscoroutinefunction(route.endpoint)]
    assert not sync, f"sync endpoints run in the threadpool (a hand-off per request): {sync}"


def test_healthz_and_readyz_answer_while_every_pooled_connection_waits_on_a_lock(
    pg_url: URL, settings_for: Any, client_for: Any, monkeypatch: Any
) -> None:
    connections = 2
    monkeypatch.setattr(db, "REQUEST_POOL_SIZE", connections)
    client = client_for(settings_for(pg_url))
    with ThreadPoolExecutor(max_workers=connections + 1) as pool, table_locked(pg_url, "notes") as holder:
        blocked = [pool.submit(client.get, "/api/notes") for _ in range(connections)]
        assert _wait_until(lambda: _waiting_on(holder, "notes") == connections), "requests never blocked on the lock"
        started = time.monotonic()
        try:
            health = client.get("/healthz")
            ready = client.get("/readyz")
            elapsed = time.monotonic() - started
        finally:
            holder.rollback()  # release the lock: the blocked requests finish
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        assert ready.status_code == 200, ready.text  # the database answers; the notes table was merely locked
        assert elapsed < 2, f"/healthz + /readyz took {elapsed:.2f} s while the pool was saturated"
        assert [future.result(timeout=10).status_code for future in blocked] == [200] * connections
