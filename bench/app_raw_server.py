"""The "raw psycopg" side of bench/app_vs_raw.py: the app's notes SQL behind the thinnest HTTP server we could write.

No framework, no validation, no middleware, no logging: a hand-rolled HTTP/1.1 keep-alive loop on asyncio (uvloop
when installed, like the app) and a psycopg 3 ``AsyncConnectionPool`` per process (``min_size = max_size``, no
pre-ping), ``--workers`` processes sharing one ``SO_REUSEPORT`` port. It runs exactly the SQL the app's PostgreSQL
store runs for ``GET /api/notes/{id}`` and ``POST /api/notes`` and returns the same JSON, so app/raw is the share
of the database-bound ceiling that the app's serving path keeps.

Run: .venv/bin/python bench/app_raw_server.py --port 8101 --dsn postgresql://postgres@127.0.0.1:5432/db
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

# The same statements as slipway_app.store.PgNoteStore (kept in step by hand; the app's are the reference).
SELECT_ONE = "SELECT id, title, body, created_at, updated_at FROM notes WHERE id = %s"
INSERT = (
    "INSERT INTO notes (title, body, idempotency_key) VALUES (%s, %s, %s) "
    "ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING "
    "RETURNING id, title, body, created_at, updated_at"
)
COLUMNS = ("id", "title", "body", "created_at", "updated_at")


def _row_json(row: tuple[Any, ...]) -> bytes:
    out = dict(zip(COLUMNS, row, strict=True))
    for key in ("created_at", "updated_at"):
        value = out[key]
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    return json.dumps(out).encode()


def _response(status: str, body: bytes, extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


async def _handle(pool: AsyncConnectionPool, method: str, path: str, body: bytes) -> bytes:
    if method == "GET" and path.startswith("/api/notes/"):
        async with pool.connection() as conn:
            cur = await conn.execute(SELECT_ONE, (int(path.rsplit("/", 1)[1]),))
            row = await cur.fetchone()
        if row is None:
            return _response("404 Not Found", b'{"detail": "not found"}')
        return _response("200 OK", _row_json(row))
    if method == "POST" and path == "/api/notes":
        payload = json.loads(body)
        async with pool.connection() as conn:
            cur = await conn.execute(INSERT, (payload["title"], payload.get("body", ""), None))
            row = await cur.fetchone()
        assert row is not None
        return _response("201 Created", _row_json(row), f"location: /api/notes/{row[0]}\r\n")
    if path == "/healthz":
        return _response("200 OK", b'{"status": "ok"}')
    return _response("404 Not Found", b'{"detail": "Not Found"}')


async def _serve_connection(pool: AsyncConnectionPool, reader: asyncio.StreamReader, writer: Any) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                if line[:15].lower() == "content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            writer.write(await _handle(pool, method, path, body))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _worker(sock: socket.socket, dsn: str, pool_size: int) -> None:
    pool = AsyncConnectionPool(
        dsn, min_size=pool_size, max_size=pool_size, kwargs={"autocommit": True}, open=False, timeout=10
    )
    await pool.open(wait=True)
    server = await asyncio.start_server(lambda r, w: _serve_connection(pool, r, w), sock=sock, backlog=2048)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with server:
        await stop.wait()
    await pool.close()


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    return sock


def _run_worker(port: int, dsn: str, pool_size: int) -> None:
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is in the app's lock
        runner = asyncio.run
    runner(_worker(_listen(port), dsn, pool_size))


def main() -> None:
    """Fork ``--workers`` processes, each with its own SO_REUSEPORT listener and pool; stop on SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()
    psycopg.connect(args.dsn).close()  # fail early and loudly
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:  # child
            _run_worker(args.port, args.dsn, args.pool_size)
            os._exit(0)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for pid in children:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
