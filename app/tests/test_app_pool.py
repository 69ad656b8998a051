"""The request pool (``pgpool.ConnectionPool``) and the database error log (``dberrors``), without HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors
from slipway_app.dberrors import OutageLog, classify
from slipway_app.pgpool import ConnectionPool, PoolTimeout
from slipway_app.store import conninfo_for
from sqlalchemy.engine import URL


def _run(coro: Any) -> Any:
    """Run ``coro`` on a fresh loop without touching the thread's current loop (``asyncio.run`` unsets it, and
    pulumi's mocks in tests/ call ``asyncio.get_event_loop()`` in the main thread)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def _pool(url: URL, size: int = 4, timeout: float = 2.0) -> ConnectionPool:
    conninfo, _ = conninfo_for(url)
    return ConnectionPool(conninfo, size=size, timeout=timeout, max_lifetime=600, connect_kwargs={})


async def _backend_pid(pool: ConnectionPool, hold: float = 0.0) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT pg_backend_pid()")
        row = await cur.fetchone()
        if hold:
            await asyncio.sleep(hold)
    assert row is not None
    return int(row[0])


def test_a_cold_burst_opens_at_most_size_connections_and_never_churns(pg_url: URL) -> None:
    async def run() -> tuple[int, set[int], set[int]]:
        pool = _pool(pg_url, size=4)
        try:
            cold = set(await asyncio.gather(*(_backend_pid(pool, hold=0.01) for _ in range(64))))
            warm = set(await asyncio.gather(*(_backend_pid(pool, hold=0.001) for _ in range(200))))
            return pool.connects, cold, warm
        finally:
            await pool.close()

    connects, cold, warm = _run(run())
    assert connects == 4, f"{connects} connections opened for 264 requests on a pool of 4"
    assert len(cold) == 4 and warm == cold  # the same four server sessions served everything


def test_a_full_pool_times_out_with_pool_timeout(pg_url: URL) -> None:
    async def run() -> None:
        pool = _pool(pg_url, size=1, timeout=0.1)
        try:
            holder = asyncio.create_task(_backend_pid(pool, hold=0.5))
            await asyncio.sleep(0.05)
            with pytest.raises(PoolTimeout):
                await _backend_pid(pool)
            await holder
            await _backend_pid(pool)  # free again
        finally:
            await pool.close()

    _run(run())


def test_a_broken_connection_replaces_every_older_one(pg_url: URL, pg_admin: URL) -> None:
    async def run() -> tuple[int, int]:
        pool = _pool(pg_url, size=3)
        try:
            pids = set(await asyncio.gather(*(_backend_pid(pool, hold=0.02) for _ in range(3))))
            with psycopg.connect(conninfo_for(pg_admin)[0], autocommit=True) as admin:  # a database restart, in effect
                for pid in pids:
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            with pytest.raises(psycopg.OperationalError):
                await _backend_pid(pool)  # the first request finds its connection dead: 503 for it...
            after = {await _backend_pid(pool) for _ in range(3)}  # ...and only for it
            assert not after & pids
            return pool.connects, len(after)
        finally:
            await pool.close()

    connects, _ = _run(run())
    assert connects <= 6


def test_a_connection_left_mid_transaction_is_not_reused(pg_url: URL) -> None:
    async def run() -> None:
        pool = _pool(pg_url, size=1)
        try:
            async with pool.connection() as conn:
                await conn.execute("BEGIN")
                first = conn.info.backend_pid
            second = await _backend_pid(pool)
            assert second != first
        finally:
            await pool.close()

    _run(run())


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (PoolTimeout("no free database connection within 2 s"), "pool_timeout"),
        (pg_errors.QueryCanceled("canceling statement due to statement timeout"), "statement_timeout"),
        (pg_errors.LockNotAvailable("canceling statement due to lock timeout"), "lock_timeout"),
        (pg_errors.AdminShutdown("terminating connection due to administrator command"), "admin_shutdown"),
        (pg_errors.CannotConnectNow("the database system is starting up"), "starting_up"),
        (
            psycopg.OperationalError(
                'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused'
            ),
            "connection_refused",
        ),
        (psycopg.OperationalError("connection failed: timeout expired"), "connect_timeout"),
        (
            psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
            "connection_lost",
        ),
    ],
)
def test_database_errors_are_classified(exc: BaseException, kind: str) -> None:
    assert classify(exc)[0] == kind


def test_an_outage_logs_a_few_lines_not_one_per_request(json_logs: Any) -> None:
    outage = OutageLog(window=60)
    refused = psycopg.OperationalError("connection failed: Connection refused")
    for _ in range(500):
        outage.failure(refused, path="/api/notes")
    for _ in range(300):
        outage.failure(pg_errors.AdminShutdown("terminating connection due to administrator command"))
    outage.success()
    outage.success()  # nothing more to say
    lines = [r for r in json_logs.records if r["logger"] == "slipway_app.database"]
    errors = [r for r in lines if r["level"] == "ERROR"]
    assert [r["error_kind"] for r in errors] == [
        "connection_refused",
        "admin_shutdown",
        "connection_refused",
        "admin_shutdown",
    ]
    assert [r.get("suppressed") for r in errors] == [None, None, 499, 299]
    assert "Connection refused" in errors[0]["error"] and errors[0]["path"] == "/api/notes"
    recovered = [r for r in lines if r["message"] == "database recovered"]
    assert len(recovered) == 1 and recovered[0]["failed_requests"] == {"connection_refused": 500, "admin_shutdown": 300}
    json.dumps(lines)  # all serialisable


def test_a_new_window_logs_again(json_logs: Any, monkeypatch: Any) -> None:
    clock = [100.0]
    monkeypatch.setattr("slipway_app.dberrors.time.monotonic", lambda: clock[0])
    outage = OutageLog(window=10)
    refused = psycopg.OperationalError("Connection refused")
    for step in range(30):  # 30 s of failures, one per second
        clock[0] = 100.0 + step
        outage.failure(refused)
    errors = [r for r in json_logs.records if r["level"] == "ERROR"]
    assert 3 <= len(errors) <= 6, [r["message"] for r in errors]
    logging.getLogger("slipway_app.database").info("done")
