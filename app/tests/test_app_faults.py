"""Fault tests: the served app (gunicorn, 2 workers) under bounded load while its database or its processes fail.

A PostgreSQL of the tests' own (``initdb`` into a temporary directory, on its own free port, unix socket in that
directory) so that restarting it never touches the machine's server. Load is a few client threads for a few
seconds, aimed at 127.0.0.1 only. Clients send an ``Idempotency-Key`` with every POST and retry on a connection
error or a 503 with the same key, as a real client should, and the tests then compare what clients were told with
what the database holds: nothing acknowledged is missing, nothing is doubled, nothing was committed without the
client eventually getting its 201.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from slipway_app.migrate import upgrade_to_head
from sqlalchemy.engine import make_url

from .conftest import app_command, child_env, http_send


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if not candidates:
        pytest.fail(f"{name} not found (PostgreSQL server binaries are part of the test contract)")
    return str(candidates[0])


@dataclass
class OwnPostgres:
    """A throwaway PostgreSQL cluster: ``stop()``/``start()`` it at will (fast shutdown, like an RDS reboot)."""

    datadir: Path
    port: int
    as_user: list[str]

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, timeout: float = 30) -> None:
        subprocess.run(  # noqa: S603 - fixed argv
            [*self.as_user, _pg_bin("pg_ctl"), "-D", str(self.datadir), "-w", "-t", "20", *args],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.datadir} "
            "-c max_connections=60 -c fsync=off -c full_page_writes=off"
        )
        self._ctl("-o", opts, "-l", str(self.datadir / "server.log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop")


@pytest.fixture(scope="module")
def own_pg() -> Iterator[OwnPostgres]:
    """initdb + start on a free port; stopped (immediate) and removed at the end of the module."""
    # Directly under the system temp dir: pytest's own tmp dirs are private to root, and as root the cluster runs
    # as the postgres OS user, which must reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="slipway-own-pg-"))
    datadir = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the cluster as the postgres OS user
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(  # noqa: S603 - fixed argv
        [*as_user, _pg_bin("initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = OwnPostgres(datadir=datadir, port=_free_port(), as_user=as_user)
    server.start()
    try:
        upgrade_to_head(make_url(server.dsn).set(drivername="postgresql+psycopg"))
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Served:
    proc: subprocess.Popen[str]
    port: int
    log: Path

    def mark(self) -> int:
        """The log's current length: pass it to :meth:`logs` to see only what comes after."""
        return len(self.log.read_text())

    def logs(self, since: int = 0) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text()[since:].splitlines() if line.startswith("{")]

    def worker_pids(self) -> list[int]:
        out = subprocess.run(  # noqa: S603
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(pid) for pid in out.split()]


def _start(own_pg: OwnPostgres, tmp_path: Path, **env: str) -> Served:
    """``app serve`` (gunicorn, 2 workers) on the own PostgreSQL, once /readyz is 200 and both workers run."""
    port = _free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: S603 - this interpreter, fixed argv
            app_command("serve"),
            env=child_env(
                tmp_path, DATABASE_URL=own_pg.dsn, PORT=str(port), WEB_CONCURRENCY="2", LOG_LEVEL="INFO", **env
            ),
            cwd=tmp_path,
            text=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(proc=proc, port=port, log=log)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            pytest.fail(f"app serve exited {proc.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if _request(port, "GET", "/readyz", timeout=1)[0] == 200 and len(served.worker_pids()) == 2:
                return served
        if time.monotonic() > deadline:
            _kill(served)
            pytest.fail(f"/readyz not 200 within 30 s:\n{log.read_text()}")
        time.sleep(0.05)


def _kill(served: Served) -> None:
    if served.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(served.proc.pid, signal.SIGKILL)
        served.proc.wait(timeout=10)


@pytest.fixture
def serve(own_pg: OwnPostgres, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """``serve(**env)``: a server for one test (which may stop or break it); killed at teardown."""
    started: list[Served] = []

    def start(**env: str) -> Served:
        started.append(_start(own_pg, tmp_path, **env))
        return started[-1]

    yield start
    for served in started:
        _kill(served)


@pytest.fixture(scope="module")
def steady(own_pg: OwnPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server shared by the tests that leave it running (statement timeout 400 ms)."""
    served = _start(own_pg, tmp_path_factory.mktemp("steady"), DB_STATEMENT_TIMEOUT_MS="400")
    yield served
    _kill(served)


def _request(
    port: int, method: str, path: str, body: dict[str, Any] | None = None, *, key: str | None = None, timeout: float = 5
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection (``Connection: close``)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        return http_send(conn, method, path, body, key=key)
    finally:
        conn.close()


@dataclass
class Ledger:
    """What the clients were told, per idempotency key."""

    acknowledged: dict[str, int] = field(default_factory=dict)  # key -> id from the final 201
    statuses: dict[int, int] = field(default_factory=dict)
    connection_errors: int = 0
    replayed: int = 0
    errored_keys: set[str] = field(default_factory=set)  # keys whose request lost its answer at least once
    replayed_keys: set[str] = field(default_factory=set)  # keys whose final 201 was a replay
    gave_up: list[str] = field(default_factory=list)
    first_201_after: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1


def _post_until_created(port: int, ledger: Ledger, prefix: str, deadline: float) -> None:
    """POST one note with a fresh key; on 503 or a connection error retry with the same key until 201."""
    key = f"{prefix}-{uuid.uuid4().hex}"
    while True:
        try:
            status, headers, body = _request(port, "POST", "/api/notes", {"title": key}, key=key, timeout=10)
        except (OSError, http.client.HTTPException):
            with ledger.lock:
                ledger.connection_errors += 1
                ledger.errored_keys.add(key)
            status, headers, body = 0, {}, b""
        if status:
            ledger.count(status)
        if status == 201:
            note = json.loads(body)
            assert note["title"] == key
            with ledger.lock:
                ledger.acknowledged[key] = note["id"]
                if headers.get("idempotent-replayed") == "true":
                    ledger.replayed += 1
                    ledger.replayed_keys.add(key)
            return
        assert status in (0, 503), f"unexpected {status}: {body[:200]!r}"
        if time.monotonic() > deadline:
            with ledger.lock:
                ledger.gave_up.append(key)
            return
        time.sleep(0.02)


def _load(port: int, ledger: Ledger, prefix: str, seconds: float, clients: int = 6) -> list[threading.Thread]:
    """``clients`` threads, each POSTing notes back to back for ``seconds`` (plus retries to finish the last)."""
    stop_at = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < stop_at:
            _post_until_created(port, ledger, prefix, deadline=stop_at + 10)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def _rows_for(dsn: str, prefix: str) -> dict[str, list[int]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT idempotency_key, id FROM notes WHERE idempotency_key LIKE %s", (prefix + "-%",)
        ).fetchall()
    out: dict[str, list[int]] = {}
    for key, note_id in rows:
        out.setdefault(key, []).append(note_id)
    return out


def _assert_ledger_matches_database(ledger: Ledger, dsn: str, prefix: str) -> None:
    assert not ledger.gave_up, f"{len(ledger.gave_up)} requests never got their 201"
    stored = _rows_for(dsn, prefix)
    missing = [key for key in ledger.acknowledged if key not in stored]
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:3]}"
    doubled = {key: ids for key, ids in stored.items() if len(ids) > 1}
    assert not doubled, f"duplicated writes: {doubled}"
    wrong = {key: (ledger.acknowledged[key], ids) for key, ids in stored.items() if [ledger.acknowledged[key]] != ids}
    assert not wrong, f"clients were told other ids than stored: {wrong}"
    unacknowledged = set(stored) - set(ledger.acknowledged)
    assert not unacknowledged, f"committed but never acknowledged to the client: {sorted(unacknowledged)[:3]}"


# -- database restart under write load ------------------------------------------------------------------------------


def test_database_restart_under_write_load_loses_nothing_and_recovers_fast(own_pg: OwnPostgres, steady: Served) -> None:
    served = steady
    mark = served.mark()
    ledger = Ledger()
    prefix = f"restart-{uuid.uuid4().hex[:8]}"
    threads = _load(served.port, ledger, prefix, seconds=2.5)
    time.sleep(0.6)
    with ledger.lock:
        before = len(ledger.acknowledged)
    own_pg.stop("fast")  # "terminating connection due to administrator command", then refused
    time.sleep(0.5)
    own_pg.start()  # returns once the server accepts connections
    back = time.monotonic()
    with ledger.lock:
        at_back = len(ledger.acknowledged)
    recovered = None
    while time.monotonic() < back + 5:
        with ledger.lock:
            if len(ledger.acknowledged) > at_back:
                recovered = time.monotonic() - back
                break
        time.sleep(0.005)
    for thread in threads:
        thread.join(timeout=30)
    assert before > 0, "no write succeeded before the restart"
    assert recovered is not None and recovered < 1.0, f"first write acknowledged {recovered} s after the DB was back"
    assert ledger.statuses.get(503, 0) + ledger.connection_errors > 0, "the outage was never observed"
    assert set(ledger.statuses) <= {201, 503}, ledger.statuses
    _assert_ledger_matches_database(ledger, own_pg.dsn, prefix)

    # The logs say what failed, without one ERROR line per failed request.
    logs = served.logs(since=mark)
    errors = [line for line in logs if line["level"] == "ERROR" and line["logger"] == "slipway_app.database"]
    kinds = {line["error_kind"] for line in errors}
    assert kinds and kinds <= {"admin_shutdown", "connection_refused", "connection_lost", "starting_up"}, [
        (line["error_kind"], line.get("error")) for line in errors
    ]
    assert len(errors) <= 4 * len(kinds) * 2, f"{len(errors)} ERROR lines for {ledger.statuses.get(503)} 503s"
    recoveries = [line for line in logs if line["message"] == "database recovered"]
    assert recoveries and all(line["failed_requests"] for line in recoveries)
    print(
        f"\nrestart: {len(ledger.acknowledged)} writes acknowledged, {ledger.statuses.get(503, 0)} 503s, "
        f"{ledger.connection_errors} connection errors, first 201 {recovered:.3f} s after the DB was back, "
        f"{len(errors)} ERROR lines ({sorted(kinds)})"
    )


# -- SIGTERM under load ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _notes_locked(dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(dsn) as holder:
        holder.execute("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE")
        try:
            yield holder
        finally:
            holder.rollback()


def _waiting_on_notes(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = to_regclass('notes')"
        ).fetchone()
    return int(row[0]) if row else 0


def test_sigterm_under_load_fails_no_in_flight_request(own_pg: OwnPostgres, serve: Callable[..., Served]) -> None:
    """Requests certainly in flight (waiting on a table lock) and keep-alive clients at full speed, then SIGTERM."""
    served = serve(DB_STATEMENT_TIMEOUT_MS="20000")  # the lock is held on purpose: no request may time out on it
    ledger = Ledger()
    prefix = f"sigterm-{uuid.uuid4().hex[:8]}"
    in_flight = 6
    results: list[tuple[int, bytes]] = []
    statuses: list[int] = []
    stop_at = time.monotonic() + 30

    def slow_post(n: int) -> None:
        key = f"{prefix}-slow{n}"
        status, _, body = _request(served.port, "POST", "/api/notes", {"title": key}, key=key, timeout=20)
        results.append((status, body))
        if status == 201:
            with ledger.lock:
                ledger.acknowledged[key] = json.loads(body)["id"]

    def keep_alive_client() -> None:  # one connection, requests back to back, until the server closes it
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=20)
        try:
            while time.monotonic() < stop_at:
                key = f"{prefix}-{uuid.uuid4().hex}"
                try:
                    conn.request(
                        "POST",
                        "/api/notes",
                        body=json.dumps({"title": key}).encode(),
                        headers={"Content-Type": "application/json", "Idempotency-Key": key},
                    )
                    response = conn.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException):
                    return  # closed by the draining server before it read this request (checked below)
                with ledger.lock:
                    statuses.append(response.status)
                    if response.status == 201:
                        ledger.acknowledged[key] = json.loads(body)["id"]
                if response.getheader("connection", "").lower() == "close":
                    return
        finally:
            conn.close()

    keep_alive = [threading.Thread(target=keep_alive_client, daemon=True) for _ in range(4)]
    for thread in keep_alive:
        thread.start()
    idle = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)  # one request, then idle keep-alive
    idle.request("GET", "/healthz")
    assert idle.getresponse().read() == b'{"status":"ok"}'
    time.sleep(0.3)
    with _notes_locked(own_pg.dsn):  # the keep-alive clients' requests queue on the lock too
        slow = [threading.Thread(target=slow_post, args=(n,), daemon=True) for n in range(in_flight)]
        for thread in slow:
            thread.start()
        deadline = time.monotonic() + 10
        # Every slow request and every keep-alive client's current request waits on the lock: all in flight.
        while _waiting_on_notes(own_pg.dsn) < in_flight + len(keep_alive):
            assert time.monotonic() < deadline, "the requests never reached the database"
            time.sleep(0.02)
        os.kill(served.proc.pid, signal.SIGTERM)  # what ECS sends; gunicorn forwards it to the workers
        # The idle keep-alive connection is closed at once, while requests are still in flight (not at exit).
        assert idle.sock is not None
        idle.sock.settimeout(5)
        assert idle.sock.recv(1) == b"", "an idle keep-alive connection stayed open after SIGTERM"
        idle.close()
        time.sleep(0.3)  # the workers stop accepting while these requests are still waiting on the lock
        assert served.proc.poll() is None, "gunicorn exited with requests in flight"
    for thread in [*slow, *keep_alive]:
        thread.join(timeout=20)
    assert [status for status, _ in results] == [201] * in_flight, results
    assert statuses and set(statuses) == {201}, sorted(set(statuses))
    assert served.proc.wait(timeout=20) == 0, served.log.read_text()[-2000:]
    with pytest.raises(ConnectionRefusedError):
        _request(served.port, "GET", "/healthz", timeout=2)
    # Every note the server committed reached its client as a 201: no in-flight request was cut.
    _assert_ledger_matches_database(ledger, own_pg.dsn, prefix)
    closing = [line for line in served.logs() if line["message"] == "app stopped, database connections closed"]
    assert len(closing) == 2, "each worker's lifespan shutdown ran (pool closed)"


# -- kill -9 of a worker ----------------------------------------------------------------------------------------------


def _tcp_ports(pid: int) -> set[int]:
    """Local TCP ports of the sockets process ``pid`` holds (its database connections among them)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _waiting_on_lock(conn: psycopg.Connection[Any]) -> list[int]:
    """Client ports of the app's backends whose statement waits on a lock."""
    rows = conn.execute(
        "SELECT client_port FROM pg_stat_activity WHERE application_name = 'slipway-app' AND wait_event_type = 'Lock'"
    ).fetchall()
    return [int(port) for (port,) in rows]


def test_kill_9_of_a_worker_with_retrying_clients_loses_and_doubles_nothing(
    own_pg: OwnPostgres, serve: Callable[..., Served]
) -> None:
    """A worker killed with requests in flight whose writes committed: their retries are replayed, nothing doubles.

    The kill is made to hit in-flight work: the test locks ``idempotency_keys`` so the keyed INSERTs queue in the
    database, finds which worker's connections they came from (``pg_stat_activity.client_port`` against the
    worker's sockets in ``/proc``), stops that worker (SIGSTOP), releases the lock so its statements commit, then
    kills it (SIGKILL): those clients never get their 201, retry with the same key, and must be answered from it.
    """
    served = serve()  # its own server: the default statement timeout (5 s) outlasts the lock
    ledger = Ledger()
    prefix = f"kill-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(own_pg.dsn) as locker, psycopg.connect(own_pg.dsn, autocommit=True) as watcher:
        locker.execute("LOCK TABLE idempotency_keys IN EXCLUSIVE MODE")
        threads = _load(served.port, ledger, prefix, seconds=2.5, clients=8)
        deadline = time.monotonic() + 4
        while len(waiting := _waiting_on_lock(watcher)) < 6:  # most of the 8 clients' POSTs are queued
            assert time.monotonic() < deadline, f"only {len(waiting)} requests queued behind the lock"
            time.sleep(0.02)
        workers = {pid: _tcp_ports(pid) for pid in served.worker_pids()}
        in_flight = {pid: sum(port in ports for port in waiting) for pid, ports in workers.items()}
        victim = max(in_flight, key=lambda pid: in_flight[pid])
        assert in_flight[victim] >= 1, in_flight
        os.kill(victim, signal.SIGSTOP)  # it cannot answer what is about to commit
        locker.commit()  # the queued INSERTs run and commit (autocommit), the victim's included
    with psycopg.connect(own_pg.dsn, autocommit=True) as conn:
        deadline = time.monotonic() + 5
        while _waiting_on_lock(conn) or conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'slipway-app' AND state = 'active'"
        ).fetchone() != (0,):
            assert time.monotonic() < deadline, "the released statements did not finish"
            time.sleep(0.02)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while victim in served.worker_pids() or len(served.worker_pids()) < 2:  # gunicorn replaces the worker
        assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
        time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=30)
    assert served.proc.poll() is None
    assert set(ledger.statuses) <= {201, 503}, ledger.statuses
    _assert_ledger_matches_database(ledger, own_pg.dsn, prefix)
    # Every request in flight on the victim had committed: its client lost the answer, retried, got the replay.
    assert ledger.connection_errors >= in_flight[victim], (ledger.connection_errors, in_flight)
    assert len(ledger.replayed_keys) >= in_flight[victim], (ledger.replayed_keys, in_flight)
    assert ledger.replayed_keys <= ledger.errored_keys, "a replay answered a request that had not lost its answer"
    print(
        f"\nkill -9: {in_flight[victim]} requests in flight on the killed worker (committed, unanswered), "
        f"{len(ledger.acknowledged)} writes, {ledger.connection_errors} connection errors retried, "
        f"{len(ledger.replayed_keys)} answered from the idempotency key"
    )


# -- a locked table -------------------------------------------------------------------------------------------------


def test_locked_table_fast_503s_fast_healthz_and_an_honest_readyz(own_pg: OwnPostgres, steady: Served) -> None:
    served = steady
    mark = served.mark()
    with psycopg.connect(own_pg.dsn, autocommit=True) as conn:
        note_id = conn.execute("INSERT INTO notes (title) VALUES ('locked') RETURNING id").fetchone()[0]  # type: ignore[index]
    timings: dict[str, list[float]] = {"note": [], "healthz": [], "readyz": []}
    statuses: dict[str, set[int]] = {"note": set(), "healthz": set(), "readyz": set()}

    def timed(name: str, path: str) -> None:
        started = time.monotonic()
        status, _, _ = _request(served.port, "GET", path, timeout=10)
        timings[name].append(time.monotonic() - started)
        statuses[name].add(status)

    with _notes_locked(own_pg.dsn):
        readers = [threading.Thread(target=timed, args=("note", f"/api/notes/{note_id}")) for _ in range(12)]
        for thread in readers:
            thread.start()
        time.sleep(0.1)
        for _ in range(3):
            timed("healthz", "/healthz")
            timed("readyz", "/readyz")
        for thread in readers:
            thread.join(timeout=10)
    assert statuses["note"] == {503}, statuses
    assert max(timings["note"]) < 2.5, f"503s took up to {max(timings['note']):.2f} s (statement timeout 0.4 s)"
    assert statuses["healthz"] == {200} and max(timings["healthz"]) < 0.5, timings["healthz"]
    # Honest: the database answers and the schema is at head, so the task is ready; a lock on one table is not
    # the task's fault, and failing every task's readiness would turn a lock into a full outage.
    assert statuses["readyz"] == {200} and max(timings["readyz"]) < 0.5, timings["readyz"]
    assert _request(served.port, "GET", f"/api/notes/{note_id}")[0] == 200  # and served again at once
    errors = [line for line in served.logs(since=mark) if line["level"] == "ERROR" and "error_kind" in line]
    assert {line["error_kind"] for line in errors} == {"statement_timeout"}, errors[:3]
    assert len(errors) <= 4, f"{len(errors)} ERROR lines for 12 timed-out requests"


# -- early 413 -------------------------------------------------------------------------------------------------------


def test_an_early_413_closes_the_connection(steady: Served) -> None:
    """Refused on Content-Length alone: the unread body must never be parsed as the next request."""
    from slipway_app.middleware import MAX_BODY_BYTES

    smuggled = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", steady.port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
            + smuggled
        )
        received = b""
        while chunk := sock.recv(65536):  # returns b"" once the server closed the connection
            received += chunk
    assert received.startswith(b"HTTP/1.1 413"), received[:200]
    assert b"connection: close" in received.lower()
    assert received.count(b"HTTP/1.1 ") == 1, "the body was parsed as a second request"
