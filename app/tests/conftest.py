"""Shared fixtures for the app tests: a real PostgreSQL (fresh database per session), SQLite, clients, log capture.

PostgreSQL comes from ``TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``), a role
allowed to CREATE DATABASE. Without a server the PostgreSQL tests fail (never skip): the server is part of the contract.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slipway_app.logs import JsonFormatter
from slipway_app.settings import Settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

# Helper modules beside the tests (dockerfile_replay) import by name, also where app/ is copied on its own.
sys.path.insert(0, str(Path(__file__).resolve().parent))

with warnings.catch_warnings():  # starlette >= 1.x nudges towards httpx2; httpx still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from slipway_app.main import create_app  # noqa: E402
from slipway_app.migrate import upgrade_to_head  # noqa: E402

CONTRACT_VARS = (
    "PORT",
    "APP_ENV",
    "LOG_LEVEL",
    "WEB_CONCURRENCY",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_PASSWORD",
    "DB_SSLMODE",
    "DATABASE_URL",
    "SECRET_KEY",
    "DB_STATEMENT_TIMEOUT_MS",
    "DB_MIGRATION_LOCK_TIMEOUT_MS",
    "FORWARDED_ALLOW_IPS",
    "DB_IAM_AUTH",
    "DB_REGION",
    "DB_APP_ROLE",
    "SLIPWAY_TEST_TOKEN_FILE",
)
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def psycopg_url(url: str | URL) -> URL:
    """``url`` with the psycopg 3 driver."""
    return make_url(url).set(drivername="postgresql+psycopg")


def plain_url(url: URL) -> str:
    """``url`` as a ``postgresql://`` string with its password (for DATABASE_URL in a child process)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_available() -> bool:
    url = make_url(ADMIN_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1):
            return True
    except OSError:
        return False


PG_AVAILABLE = _pg_available()


@pytest.fixture(scope="session")
def pg_admin() -> URL:
    """The admin URL. PostgreSQL is part of the test contract: without a server the tests fail, never skip."""
    if not PG_AVAILABLE:
        pytest.fail(
            f"PostgreSQL not reachable at {make_url(ADMIN_URL).render_as_string()}: start it "
            f"(.ci/run does) or point TEST_DATABASE_URL at one"
        )
    return psycopg_url(ADMIN_URL)


class DatabaseFactory:
    """Creates uniquely named databases on the test server and drops them all at the end."""

    def __init__(self, admin: URL) -> None:
        self.admin = admin
        self.engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self, prefix: str = "slipway_test") -> URL:
        """A new empty database; returns its URL (psycopg driver)."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.admin.set(database=name)

    def drop_all(self) -> None:
        """Drop every database this factory created (terminating leftover connections)."""
        with self.engine.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


@pytest.fixture(scope="session")
def pg_databases(pg_admin: URL) -> Iterator[DatabaseFactory]:
    """Factory for fresh PostgreSQL databases, all dropped at session end."""
    factory = DatabaseFactory(pg_admin)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def pg_migrated_url(pg_databases: DatabaseFactory) -> URL:
    """One PostgreSQL database for the session, migrated to head."""
    url = pg_databases.create()
    upgrade_to_head(url)
    return url


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No configuration leaks in from the developer's environment (or a ``.env`` in the working directory)."""
    for name in CONTRACT_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "test")


def make_settings(database_url: str | URL, **overrides: Any) -> Settings:
    """Settings for a test app on ``database_url``."""
    url = database_url if isinstance(database_url, str) else database_url.render_as_string(hide_password=False)
    return Settings(**{"database_url": url, "app_env": "test", **overrides})


@pytest.fixture
def sqlite_url(tmp_path: Path) -> URL:
    """A migrated SQLite database in ``tmp_path``."""
    url = make_url(f"sqlite:///{tmp_path / 'app.db'}")
    upgrade_to_head(url)
    return url


@pytest.fixture
def pg_url(pg_migrated_url: URL) -> URL:
    """The session's migrated PostgreSQL database, with an empty ``notes`` table."""
    engine = create_engine(pg_migrated_url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE notes, idempotency_keys RESTART IDENTITY"))
    engine.dispose()
    return pg_migrated_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> URL:
    """A migrated, empty database on each backend."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def client(db_url: URL) -> Iterator[TestClient]:
    """A client for an app on each backend (lifespan run)."""
    with TestClient(create_app(make_settings(db_url)), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def settings_for() -> Callable[..., Settings]:
    """``settings_for(database_url, **overrides)``: test settings (see :func:`make_settings`)."""
    return make_settings


@pytest.fixture
def client_for() -> Iterator[Callable[..., TestClient]]:
    """``client_for(settings_or_app)``: an entered TestClient, closed at teardown."""
    clients: list[TestClient] = []

    def open_client(target: Settings | Any) -> TestClient:
        app = create_app(target) if isinstance(target, Settings) else target
        test_client = TestClient(app, raise_server_exceptions=False)
        test_client.__enter__()
        clients.append(test_client)
        return test_client

    yield open_client
    for test_client in clients:
        test_client.__exit__(None, None, None)


class LogCapture:
    """JSON lines emitted through the root logger while installed."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        """Everything captured."""
        return self.stream.getvalue()

    @property
    def records(self) -> list[dict[str, Any]]:
        """Captured lines, parsed (every line must be valid JSON)."""
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def json_logs() -> Iterator[LogCapture]:
    """Capture root-logger output formatted by the app's :class:`JsonFormatter` at INFO."""
    capture = LogCapture()
    handler = logging.StreamHandler(capture.stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield capture
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def child_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """A minimal environment for a child ``app`` process: nothing inherited but PATH (and LANG)."""
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "APP_ENV": "test",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    base.update(env)
    return base


def http_send(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    close: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """One request on ``conn``: a JSON ``body``, ``Idempotency-Key: key``, ``Connection: close`` when ``close``.

    Returns the status, the headers (lowercase names) and the body.
    """
    headers = {"Connection": "close"} if close else {}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if key is not None:
        headers["Idempotency-Key"] = key
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def app_command(*args: str) -> list[str]:
    """``python -m slipway_app <args>`` with this interpreter (same as the ``app`` console script)."""
    return [sys.executable, "-m", "slipway_app", *args]


def run_app(tmp_path: Path, *args: str, timeout: float = 15, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``app <args>`` in a clean environment (cwd ``tmp_path``: no stray ``.env``)."""
    return subprocess.run(
        app_command(*args),
        env=child_env(tmp_path, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def app_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``app_cli(*args, timeout=15, **env)``: run ``app`` in a child process with a clean environment."""

    def run(*args: str, timeout: float = 15, **env: str) -> subprocess.CompletedProcess[str]:
        return run_app(tmp_path, *args, timeout=timeout, **env)

    return run


@contextlib.contextmanager
def _reaped() -> Iterator[list[subprocess.Popen[str]]]:
    """A list to put started processes in; at exit each one still running is killed and every pipe drained."""
    procs: list[subprocess.Popen[str]] = []
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=10)


@pytest.fixture
def app_popen(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``app_popen(*args, **env)``: start ``app`` in the background (clean env); killed at teardown if alive."""
    with _reaped() as procs:

        def start(*args: str, **env: str) -> subprocess.Popen[str]:
            proc = subprocess.Popen(
                app_command(*args),
                env=child_env(tmp_path, **env),
                cwd=tmp_path,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            procs.append(proc)
            return proc

        yield start


# Runs `app <args>` with an extra Alembic version location (EXTRA_VERSIONS) next to the packaged revisions, so a
# test can add a temporary revision without touching the package.
_EXTRA_REVISION_RUNNER = """
import os, sys
import slipway_app.migrate as migrate

_packaged = migrate.alembic_config

def alembic_config(*args, **kwargs):
    config = _packaged(*args, **kwargs)
    config.set_main_option("version_locations", os.pathsep.join(
        [str(migrate.MIGRATIONS_DIR / "versions"), os.environ["EXTRA_VERSIONS"]]))
    return config

migrate.alembic_config = alembic_config
from slipway_app.cli import main
sys.exit(main(sys.argv[1:]))
"""

_EXTRA_REVISION_TEMPLATE = """\
import sqlalchemy as sa
from alembic import op

revision = "0901"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
{body}


def downgrade():
    pass
"""


def write_extra_revision(directory: Path, body: str) -> Path:
    """A temporary revision ``0901`` (after the packaged head ``0003``) whose ``upgrade()`` is ``body``."""
    directory.mkdir(parents=True, exist_ok=True)
    indented = "\n".join("    " + line if line.strip() else "" for line in body.strip("\n").splitlines())
    (directory / "0901_test_extra.py").write_text(_EXTRA_REVISION_TEMPLATE.format(body=indented))
    return directory


@pytest.fixture
def migrate_with_revision(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``migrate_with_revision(body, **env)``: start ``app migrate`` with an extra revision 0901 doing ``body``.

    Returns the Popen (stdout = JSON log, stderr separate); killed at teardown if still running.
    """
    runner = tmp_path / "migrate_runner.py"
    runner.write_text(_EXTRA_REVISION_RUNNER)
    with _reaped() as procs:

        def start(body: str, **env: str) -> subprocess.Popen[str]:
            versions = write_extra_revision(tmp_path / "extra_versions", body)
            proc = subprocess.Popen(
                [sys.executable, str(runner), "migrate"],
                env=child_env(tmp_path, EXTRA_VERSIONS=str(versions), **env),
                cwd=tmp_path,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            procs.append(proc)
            return proc

        yield start


class TcpProxy:
    """A tiny threaded TCP proxy to PostgreSQL that a test can stop (DB "down") and start again (DB "back")."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port: int = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._running = threading.Event()

    def start(self) -> None:
        """Listen (again) on the same port."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 2
        while True:  # the previous listener may still be held by its accept loop's poll (<= 50 ms)
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        listener.listen(16)
        listener.settimeout(0.05)
        self._listener = listener
        self._running.set()
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Stop listening and cut every proxied connection (connections are refused until :meth:`start`)."""
        self._running.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._conns.clear()

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._running.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=2)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def tcp_proxy(pg_admin: URL) -> Iterator[Callable[[], TcpProxy]]:
    """Start a :class:`TcpProxy` to the test PostgreSQL server; stopped at teardown."""
    proxies: list[TcpProxy] = []

    def start() -> TcpProxy:
        proxy = TcpProxy((pg_admin.host or "127.0.0.1", pg_admin.port or 5432))
        proxy.start()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()
