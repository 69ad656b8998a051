"""The ``app`` command in child processes: check, migrate (advisory lock, concurrency, unreachable DB), serve."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.request
from typing import Any

import pytest
from slipway_app.cli import main
from slipway_app.migrate import LOCK_KEY
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

SECRET = "s3cr3t-value-Zq9"
SECRET_KEY = "k3y-" + "Q" * 40


def _plain(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _version_rows(url: URL) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


# -- app check ------------------------------------------------------------------------------------------------


def test_check_prints_masked_config(app_cli: Any) -> None:
    result = app_cli("check", APP_ENV="prod", DB_HOST="db.internal", DB_USER="app", DB_PASSWORD=SECRET,
                     DB_SSLMODE="require", SECRET_KEY=SECRET_KEY, PORT="8080")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["DB_PASSWORD"] == "***" and config["SECRET_KEY"] == "***"
    assert config["PORT"] == 8080 and config["DB_SSLMODE"] == "require" and config["APP_ENV"] == "prod"
    assert config["effective_database_url"].startswith("postgresql+psycopg://app:***@db.internal:5432/app")
    assert SECRET not in result.stdout + result.stderr and SECRET_KEY not in result.stdout + result.stderr


def test_check_exits_2_on_bad_config(app_cli: Any) -> None:
    result = app_cli("check", PORT="abc")
    assert result.returncode == 2
    assert "PORT" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("env", "expected"), [
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
    ({"DB_HOST": "h"}, "DB_USER"),
    ({"DATABASE_URL": f"mysql://u:{SECRET}@h/d"}, "DATABASE_URL"),
    ({"APP_ENV": "prod", "DB_PASSWORD": SECRET}, "SECRET_KEY"),
])
@pytest.mark.parametrize("command", ["check", "serve", "migrate"])
def test_bad_config_exits_2_before_doing_anything(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                  env: dict[str, str], expected: str, command: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(os, "execv", lambda *_: pytest.fail("serve must not exec gunicorn with a bad config"))
    with pytest.raises(SystemExit) as info:
        main([command])
    assert info.value.code == 2
    out = capsys.readouterr()
    assert expected in out.err and SECRET not in out.err + out.out


# -- app migrate ------------------------------------------------------------------------------------------------


def test_migrate_sqlite_and_idempotent(app_cli: Any, tmp_path: Any) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    first = app_cli("migrate", DATABASE_URL=db)
    assert first.returncode == 0, first.stderr
    assert "database at revision 0001 (head)" in first.stdout
    second = app_cli("migrate", DATABASE_URL=db)
    assert second.returncode == 0 and "database already at head" in second.stdout


def test_concurrent_migrations_are_serialised(pg_databases: Any, app_popen: Any) -> None:
    url = pg_databases.create()
    procs = [app_popen("migrate", DATABASE_URL=_plain(url)) for _ in range(2)]
    outputs = [proc.communicate(timeout=15)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    assert _version_rows(url) == ["0001"]
    combined = "\n".join(outputs)
    # Exactly one process ran the upgrade; the other either waited for the lock or found the DB at head.
    assert combined.count("Running upgrade  -> 0001") == 1, combined
    assert combined.count("database already at head") == 1, combined
    assert all("database at revision 0001 (head)" in out for out in outputs)
    for out in outputs:
        events = [json.loads(line)["message"] for line in out.splitlines() if line.startswith("{")]
        assert events.index("migration lock acquired") < events.index("migration lock released")


def test_migrate_waits_for_the_advisory_lock(pg_databases: Any, app_popen: Any) -> None:
    url = pg_databases.create()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
            proc = app_popen("migrate", DATABASE_URL=_plain(url))
            deadline = time.monotonic() + 8
            waiting = 0
            while time.monotonic() < deadline and not waiting:
                waiting = holder.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                              "AND NOT granted AND database = (SELECT oid FROM pg_database "
                                              "WHERE datname = current_database())")).scalar_one()
                time.sleep(0.05)
            assert waiting == 1, "app migrate never queued on the advisory lock"
            time.sleep(1.0)
            assert proc.poll() is None, "app migrate finished while another session held the lock"
            assert holder.execute(text("SELECT to_regclass('public.notes')")).scalar_one() is None
            holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            output = proc.communicate(timeout=10)[0]
    finally:
        engine.dispose()
    assert proc.returncode == 0, output
    assert "waiting for the migration lock" in output
    assert '"waited": true' in output
    assert _version_rows(url) == ["0001"]


def test_migrate_unreachable_database_fails_fast_and_clearly(app_cli: Any) -> None:
    started = time.monotonic()
    result = app_cli("migrate", DATABASE_URL=f"postgresql://app:{SECRET}@127.0.0.1:1/app", timeout=10)
    assert time.monotonic() - started < 8
    assert result.returncode == 1
    assert "cannot migrate postgresql+psycopg://app:***@127.0.0.1:1/app" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_migrate_debug_shows_the_traceback(app_cli: Any) -> None:
    result = app_cli("migrate", DATABASE_URL="postgresql://app@127.0.0.1:1/app", LOG_LEVEL="DEBUG", timeout=10)
    assert result.returncode == 1
    assert "Traceback" in result.stdout  # in the JSON log line's exc_info


# -- app serve ------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_runs_gunicorn_with_json_logs_and_stops_on_sigterm(app_popen: Any, tmp_path: Any) -> None:
    port = _free_port()
    proc = app_popen("serve", PORT=str(port), WEB_CONCURRENCY="1", DATABASE_URL=f"sqlite:///{tmp_path / 's.db'}")
    deadline = time.monotonic() + 10
    body = None
    while time.monotonic() < deadline and body is None:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "srv-1"})
            with urllib.request.urlopen(request, timeout=1) as response:  # noqa: S310 - fixed local http URL
                body = json.loads(response.read())
                headers = response.headers
        except OSError:
            time.sleep(0.1)
    assert body == {"status": "ok"}, "app serve did not answer /healthz"
    assert headers["x-request-id"] == "srv-1"
    proc.send_signal(signal.SIGTERM)  # the exec'd gunicorn master is the process we started
    output = proc.communicate(timeout=25)[0]
    assert proc.returncode == 0, output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    messages = [line["message"] for line in lines]
    assert "Handling signal: term" in messages
    assert any("Using worker: slipway_app.worker.Worker" in m for m in messages)
    access = [line for line in lines if line.get("request_id") == "srv-1" and line.get("path") == "/healthz"]
    assert len(access) == 1, "exactly one access line per request (no duplicate gunicorn/uvicorn line)"
    assert access[0]["status"] == 200


def test_migrate_sql_prints_a_clean_script(app_cli: Any) -> None:
    result = app_cli("migrate", "--sql", DATABASE_URL="postgresql://app@127.0.0.1:1/app")  # no connection needed
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE notes" in result.stdout and result.stdout.rstrip().endswith("COMMIT;")
    assert '{"ts"' not in result.stdout


def test_gunicorn_config(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from gunicorn.config import Config

    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("LOG_LEVEL", "warning")
    import slipway_app.gunicorn_conf as conf

    conf = importlib.reload(conf)
    assert conf.bind == ["0.0.0.0:8123"] and conf.workers == 3
    assert conf.worker_class == "slipway_app.worker.Worker"
    assert conf.wsgi_app == "slipway_app.asgi:app"
    assert conf.graceful_timeout == 20 < 30  # below the ECS stopTimeout (components/containers.py)
    assert conf.keepalive > 60  # longer than the ALB idle timeout
    assert conf.worker_tmp_dir == "/tmp" and conf.accesslog is None and conf.forwarded_allow_ips == "*"
    assert conf.logconfig_dict["root"]["level"] == "WARNING"
    gunicorn = Config()
    settings = {k: v for k, v in vars(conf).items() if not k.startswith("_") and not callable(v)
                and not isinstance(v, type(conf)) and k not in {"annotations", "logging_dict", "load_settings"}}
    unknown = set(settings) - set(gunicorn.settings)
    assert not unknown, f"not gunicorn settings (would be silently ignored): {unknown}"
    for key, value in settings.items():
        gunicorn.set(key, value)  # gunicorn's own validators accept every value
    from slipway_app.cli import GUNICORN_CONFIG, gunicorn_argv

    assert gunicorn_argv()[-2:] == ["-c", GUNICORN_CONFIG]
