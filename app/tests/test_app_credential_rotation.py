"""Credential rotation while the app serves, against a real PostgreSQL with password (scram-sha-256) authentication.

The web service connects as the least-privileged login role ``app_iam`` that ``app migrate`` provisions
(``DB_APP_ROLE``), with ``DB_IAM_AUTH=true``: every new connection asks the token provider for its password. On
RDS that is a fresh IAM auth token; here (``APP_ENV=test`` only) the provider is ``SLIPWAY_TEST_TOKEN_FILE``, a file
holding ``app_iam``'s CURRENT password, which the test changes several times under load (``ALTER ROLE ... PASSWORD``
+ rewrite the file) and once kills every ``app_iam`` backend (``pg_terminate_backend``), so the pool must reconnect
with the new credential. Clients get one retry per request. A PostgreSQL of the test's own (``initdb`` into a
temporary directory, free port, ``scram-sha-256`` for TCP): the machine's server uses trust and cannot reject a
stale password. Load is bounded and aimed at 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors
from psycopg import sql
from slipway_app.db import engine_for_url
from slipway_app.iam_auth import TestTokenFile
from slipway_app.migrate import upgrade_to_head
from sqlalchemy import text
from sqlalchemy.engine import URL

from .conftest import app_command, child_env, http_send, run_app
from .test_app_faults import _free_port, _pg_bin

ROLE = "app_iam"
DB = "slipway_rotation"
CLIENTS = 4
MAX_REQUESTS_PER_CLIENT = 250  # bounded: at most 1,000 requests (plus one retry each); the timeline ends it first
STEP_SECONDS = 0.5  # the timeline below takes 6 steps: 3 s
# Paced so that the cap cannot be reached before the timeline ends (250 x 14 ms = 3.5 s > 3 s): <= ~285 req/s.
MIN_REQUEST_INTERVAL = 0.014
RETRY_PAUSE = 0.15


@dataclass
class ScramPostgres:
    """A throwaway cluster: TCP needs a password (scram-sha-256); ``postgres`` is the superuser ("master")."""

    root: Path
    port: int
    as_user: list[str]
    master_password: str

    def dsn(self, user: str = "postgres", password: str | None = None, dbname: str = DB) -> str:
        pw = self.master_password if password is None and user == "postgres" else password
        return psycopg.conninfo.make_conninfo(
            host="127.0.0.1", port=self.port, user=user, password=pw or "", dbname=dbname, connect_timeout=3
        )

    def admin(self, dbname: str = DB) -> psycopg.Connection[Any]:
        return psycopg.connect(self.dsn(dbname=dbname), autocommit=True)


@pytest.fixture(scope="module")
def scram_pg() -> Iterator[ScramPostgres]:
    root = Path(tempfile.mkdtemp(prefix="slipway-scram-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: the cluster runs as the postgres OS user
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    master_password = secrets.token_urlsafe(18)
    pwfile = root / "pw"
    pwfile.write_text(master_password + "\n")
    if as_user:
        shutil.chown(pwfile, "postgres")
    datadir = root / "data"
    subprocess.run(  # noqa: S603 - fixed argv
        [
            *as_user,
            _pg_bin("initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pwfile.unlink()
    port = _free_port()
    opts = (
        f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={datadir} -c max_connections=60 "
        "-c fsync=off -c full_page_writes=off -c password_encryption=scram-sha-256"
    )
    ctl = [*as_user, _pg_bin("pg_ctl"), "-D", str(datadir), "-w", "-t", "20"]
    subprocess.run(
        [*ctl, "-o", opts, "-l", str(root / "server.log"), "start"], check=True, capture_output=True, timeout=30
    )  # noqa: S603
    server = ScramPostgres(root=root, port=port, as_user=as_user, master_password=master_password)
    try:
        with server.admin("postgres") as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
            conn.execute("CREATE ROLE rds_iam NOLOGIN")  # what RDS has: app_iam must be granted it
        yield server
    finally:
        with contextlib.suppress(Exception):
            subprocess.run([*ctl, "-m", "immediate", "stop"], capture_output=True, timeout=30, check=False)  # noqa: S603
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def migrated(scram_pg: ScramPostgres, tmp_path_factory: pytest.TempPathFactory) -> ScramPostgres:
    """``app migrate`` as the master user with ``DB_APP_ROLE=app_iam`` (the migration task's contract)."""
    result = run_app(
        tmp_path_factory.mktemp("migrate"),
        "migrate",
        DB_HOST="127.0.0.1",
        DB_PORT=str(scram_pg.port),
        DB_NAME=DB,
        DB_USER="postgres",
        DB_PASSWORD=scram_pg.master_password,
        DB_APP_ROLE=ROLE,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "database at revision" in result.stdout
    assert scram_pg.master_password not in result.stdout + result.stderr
    return scram_pg


def _set_password(pg: ScramPostgres, password: str, token_file: Path | None = None) -> None:
    with pg.admin() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(ROLE), sql.Literal(password)))
    if token_file is not None:  # atomically: a reader sees the old or the new password, never half a file
        tmp = token_file.with_suffix(".new")
        tmp.write_text(password)
        tmp.replace(token_file)


def _as_role(pg: ScramPostgres, password: str) -> psycopg.Connection[Any]:
    return psycopg.connect(pg.dsn(ROLE, password), autocommit=True)


# -- the login role ------------------------------------------------------------------------------------------------


def test_migrate_provisions_a_least_privileged_login_role_idempotently(migrated: ScramPostgres) -> None:
    pg = migrated
    # A second run (every deploy runs `app migrate`) changes nothing and does not fail.
    url = URL.create(
        "postgresql+psycopg",
        username="postgres",
        password=pg.master_password,
        host="127.0.0.1",
        port=pg.port,
        database=DB,
    )
    upgrade_to_head(url, app_role=ROLE)
    with pg.admin() as conn:
        attrs = conn.execute(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = %s",
            (ROLE,),
        ).fetchone()
        assert attrs == (True, False, False, False, False)
        assert conn.execute("SELECT pg_has_role(%s, 'rds_iam', 'MEMBER')", (ROLE,)).fetchone() == (True,)
    password = secrets.token_urlsafe(12)
    _set_password(pg, password)
    with _as_role(pg, password) as conn:
        note_id = conn.execute("INSERT INTO notes (title, body) VALUES ('t', 'b') RETURNING id").fetchone()
        assert note_id is not None
        conn.execute("UPDATE notes SET body = 'c' WHERE id = %s", note_id)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() is not None
        conn.execute("DELETE FROM notes WHERE id = %s", note_id)
        for statement in (
            "CREATE TABLE sneaky (id int)",
            "DROP TABLE notes",
            "ALTER TABLE notes ADD COLUMN x int",
            "TRUNCATE notes",
            "UPDATE alembic_version SET version_num = 'x'",
            "CREATE ROLE other",
        ):
            with pytest.raises(pg_errors.InsufficientPrivilege):
                conn.execute(statement)
    # Tables a later migration creates (as the master user) get the same row access by default.
    with pg.admin() as conn:
        conn.execute("CREATE TABLE later_table (id serial PRIMARY KEY, v text)")
    try:
        with _as_role(pg, password) as conn:
            conn.execute("INSERT INTO later_table (v) VALUES ('ok')")
            with pytest.raises(pg_errors.InsufficientPrivilege):
                conn.execute("DROP TABLE later_table")
    finally:
        with pg.admin() as conn:
            conn.execute("DROP TABLE later_table")


def test_sqlalchemy_engines_take_a_fresh_password_for_every_new_connection(
    migrated: ScramPostgres, tmp_path: Path
) -> None:
    pg = migrated
    token_file = tmp_path / "token"
    _set_password(pg, "first-" + secrets.token_urlsafe(8), token_file)
    url = URL.create("postgresql+psycopg", username=ROLE, host="127.0.0.1", port=pg.port, database=DB)
    engine = engine_for_url(url, password=TestTokenFile(token_file))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar_one() == ROLE
        _set_password(pg, "second-" + secrets.token_urlsafe(8), token_file)
        engine.dispose()  # next checkout opens a new connection: do_connect reads the new password
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM notes")).scalar_one() >= 0
    finally:
        engine.dispose()
    without = engine_for_url(url, pooled=False)
    try:
        with pytest.raises(Exception, match="password"), without.connect():
            pass
    finally:
        without.dispose()


# -- rotation under load ---------------------------------------------------------------------------------------------


@dataclass
class Tally:
    requests: int = 0
    started_after: dict[str, int] = field(default_factory=dict)  # event -> requests started after it
    retried: int = 0
    failed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _request(port: int, method: str, path: str, body: dict[str, Any] | None, key: str | None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        status, _, data = http_send(conn, method, path, body, key=key)
        return status, data
    finally:
        conn.close()


def _once_with_one_retry(port: int, tally: Tally, method: str, path: str, body: dict[str, Any] | None) -> None:
    """A fresh keep-alive connection per request (so requests spread over both workers); a retry reuses it.

    Reusing the connection is what a pooled HTTP client does, and it keeps the retry on the worker that just
    answered 503: that worker has already marked its killed connections stale. A retry on a new connection could
    land on the other worker before any request there noticed its own killed connections (each worker fails once
    per killed pool, pgpool.py), which is about the kill, not the credential.
    """
    key = uuid.uuid4().hex if method == "POST" else None  # a retried POST must not create twice
    expected = 201 if method == "POST" else 200
    outcome = ""
    with tally.lock:
        for event in tally.started_after:
            tally.started_after[event] += 1
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        for attempt in (1, 2):
            try:
                status, _, data = http_send(conn, method, path, body, key=key, close=attempt == 2)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()  # reconnects on the next request
                status, data = 0, type(exc).__name__.encode()
            if status == expected:
                outcome = ""
                break
            outcome = f"{method} {path}: attempt {attempt}: {status} {data[:120]!r}"
            if attempt == 1:
                with tally.lock:
                    tally.retried += 1
                time.sleep(RETRY_PAUSE)
    finally:
        conn.close()
    with tally.lock:
        tally.requests += 1
        if outcome:
            tally.failed.append(outcome)


def _serve(pg: ScramPostgres, tmp_path: Path, token_file: Path) -> tuple[subprocess.Popen[str], int, Path]:
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: S603 - this interpreter, fixed argv
            app_command("serve"),
            env=child_env(
                tmp_path,
                PORT=str(port),
                WEB_CONCURRENCY="2",
                DB_HOST="127.0.0.1",
                DB_PORT=str(pg.port),
                DB_NAME=DB,
                DB_USER=ROLE,
                DB_IAM_AUTH="true",
                DB_REGION="eu-west-1",
                SLIPWAY_TEST_TOKEN_FILE=str(token_file),
            ),
            cwd=tmp_path,
            text=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            pytest.fail(f"app serve exited {proc.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if _request(port, "GET", "/readyz", None, None)[0] == 200:
                workers = subprocess.run(  # noqa: S603
                    ["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True, check=False
                ).stdout.split()
                if len(workers) == 2:
                    return proc, port, log
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"/readyz not 200 within 30 s:\n{log.read_text()}")
        time.sleep(0.05)


def test_password_rotations_and_killed_connections_under_load_fail_no_request_after_one_retry(
    migrated: ScramPostgres, tmp_path: Path
) -> None:
    pg = migrated
    token_file = tmp_path / "token"
    passwords = [f"rot{n}-{secrets.token_urlsafe(12)}" for n in range(5)]
    _set_password(pg, passwords[0], token_file)
    proc, port, log = _serve(pg, tmp_path, token_file)
    try:
        status, body = _request(port, "POST", "/api/notes", {"title": "seed"}, uuid.uuid4().hex)
        assert status == 201, body
        seed = json.loads(body)["id"]
        tally = Tally()
        stop = threading.Event()

        def client(n: int) -> None:
            next_at = time.monotonic()
            for i in range(MAX_REQUESTS_PER_CLIENT):
                if stop.wait(max(0.0, next_at - time.monotonic())):
                    return
                next_at = time.monotonic() + MIN_REQUEST_INTERVAL
                kind = (i + n) % 3
                if kind == 0:
                    _once_with_one_retry(port, tally, "POST", "/api/notes", {"title": f"c{n}-{i}"})
                elif kind == 1:
                    _once_with_one_retry(port, tally, "GET", f"/api/notes/{seed}", None)
                else:
                    _once_with_one_retry(port, tally, "GET", "/api/notes?limit=5", None)

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        rotations, killed, kill_at = 0, 0, None
        # Timeline (~3 s): rotate, rotate, kill every app_iam backend, rotate, rotate.
        for step, action in enumerate(["rotate", "rotate", "kill", "rotate", "rotate"]):
            time.sleep(STEP_SECONDS)
            with tally.lock:
                tally.started_after[f"{action}{step}"] = 0
            if action == "rotate":
                rotations += 1
                _set_password(pg, passwords[rotations], token_file)
            else:
                with pg.admin() as conn:
                    row = conn.execute(
                        "SELECT count(pg_terminate_backend(pid)), clock_timestamp() FROM pg_stat_activity "
                        "WHERE usename = %s",
                        (ROLE,),
                    ).fetchone()
                assert row is not None
                killed, kill_at = row
            assert step < 5
        time.sleep(STEP_SECONDS)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        elapsed = time.monotonic() - started
        assert not any(thread.is_alive() for thread in threads)

        # The server answered throughout: no request failed after its one retry.
        assert tally.requests >= 200, tally
        # The load lasted through the whole timeline: requests started after the kill and after the last rotation.
        assert min(tally.started_after.values()) >= 20, tally.started_after
        assert not tally.failed, f"{len(tally.failed)} of {tally.requests} failed after one retry: {tally.failed[:5]}"
        assert killed >= 2  # both workers' pooled connections were cut
        with pg.admin() as conn:
            # Every app_iam session now open started after the kill, i.e. authenticated with a rotated password.
            backends = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE backend_start > %s) FROM pg_stat_activity WHERE usename = %s",
                (kill_at, ROLE),
            ).fetchone()
        assert backends is not None and backends[0] > 0 and backends[0] == backends[1], backends
        # Connections opened after the last rotation use the new credential (the provider reads it per connection);
        # the old ones are refused.
        for old in passwords[:-1]:
            with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
                _as_role(pg, old).close()
        status, _ = _request(port, "GET", "/readyz", None, None)
        assert status == 200
        print(  # noqa: T201 - the figures README.md quotes (pytest -s)
            f"\nrotation under load: {tally.requests} requests in {elapsed:.1f} s from {CLIENTS} clients, "
            f"{tally.retried} retried once, {len(tally.failed)} failed; {rotations} password rotations, "
            f"{killed} app_iam backends killed once, {backends[0]} reconnected"
        )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    output = log.read_text()
    for password in passwords:  # credentials never reach the logs
        assert password not in output
    # The only database errors were the killed connections: no connection ever tried a stale password.
    assert "password authentication failed" not in output
    kinds = {json.loads(line).get("error_kind") for line in output.splitlines() if '"error_kind"' in line}
    assert kinds <= {"admin_shutdown", "connection_lost"}, kinds
