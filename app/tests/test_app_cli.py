"""The ``app`` command in child processes: check, migrate (advisory lock, concurrency, unreachable DB), serve."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any

import pytest
from slipway_app.cli import main
from slipway_app.migrate import LOCK_KEY
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from .conftest import child_env


def _json_records(output: str) -> list[dict[str, Any]]:
    """The JSON log lines of a command's output (other lines, e.g. the CLI's own messages, skipped)."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


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
    result = app_cli(
        "check",
        APP_ENV="prod",
        DB_HOST="db.internal",
        DB_USER="app",
        DB_PASSWORD=SECRET,
        DB_SSLMODE="require",
        SECRET_KEY=SECRET_KEY,
        PORT="8080",
    )
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


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
        ({"DB_HOST": "h"}, "DB_USER"),
        ({"DATABASE_URL": f"mysql://u:{SECRET}@h/d"}, "DATABASE_URL"),
        ({"APP_ENV": "prod", "DB_PASSWORD": SECRET}, "SECRET_KEY"),
    ],
)
@pytest.mark.parametrize("command", ["check", "serve", "migrate"])
def test_bad_config_exits_2_before_doing_anything(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    expected: str,
    command: str,
) -> None:
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
    assert "database at revision 0003 (head)" in first.stdout
    second = app_cli("migrate", DATABASE_URL=db)
    assert second.returncode == 0 and "database already at head" in second.stdout


def test_concurrent_migrations_are_serialised(pg_databases: Any, app_popen: Any) -> None:
    url = pg_databases.create()
    procs = [app_popen("migrate", DATABASE_URL=_plain(url)) for _ in range(2)]
    outputs = [proc.communicate(timeout=15)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    assert _version_rows(url) == ["0003"]
    combined = "\n".join(outputs)
    # Exactly one process ran the upgrade; the other either waited for the lock or found the DB at head.
    assert combined.count("Running upgrade  -> 0001") == 1, combined
    assert combined.count("database already at head") == 1, combined
    assert all("database at revision 0003 (head)" in out for out in outputs)
    for out in outputs:
        events = [json.loads(line)["message"] for line in out.splitlines() if line.startswith("{")]
        assert events.index("migration lock acquired") < events.index("migration lock released")


def test_migrate_waits_for_the_advisory_lock(pg_databases: Any, app_popen: Any) -> None:
    url = pg_databases.create()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as holder:
            # Waiting for the advisory lock is by design: neither a database-wide statement_timeout nor the
            # migration's lock_timeout may cut it short.
            holder.execute(text(f'ALTER DATABASE "{url.database}" SET statement_timeout = 200'))
            holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
            proc = app_popen("migrate", DATABASE_URL=_plain(url), DB_MIGRATION_LOCK_TIMEOUT_MS="200")
            deadline = time.monotonic() + 8
            waiting = 0
            while time.monotonic() < deadline and not waiting:
                waiting = holder.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND NOT granted AND database = (SELECT oid FROM pg_database "
                        "WHERE datname = current_database())"
                    )
                ).scalar_one()
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
    assert any(record.get("waited") is True for record in _json_records(output))
    assert _version_rows(url) == ["0003"]


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
    proc = app_popen(
        "serve",
        PORT=str(port),
        WEB_CONCURRENCY="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 's.db'}",
        FORWARDED_ALLOW_IPS="127.0.0.1/32",
    )
    deadline = time.monotonic() + 10
    body = None
    while time.monotonic() < deadline and body is None:
        try:  # each attempt its own id: an attempt that timed out while the worker booted is still served later
            request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "boot"})
            with urllib.request.urlopen(request, timeout=1) as response:  # noqa: S310 - fixed local http URL
                body = json.loads(response.read())
        except OSError:
            time.sleep(0.1)
    assert body == {"status": "ok"}, "app serve did not answer /healthz"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "srv-1"})
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - fixed local http URL
        body = json.loads(response.read())
        headers = response.headers
    assert headers["x-request-id"] == "srv-1"
    # Behind the ALB (here: the test, from a trusted 127.0.0.1): a caller-forged first entry, then the address the
    # ALB appended. The logged client is the rightmost untrusted entry, never the forged one.
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz",
        headers={"X-Request-ID": "srv-xff", "X-Forwarded-For": "6.6.6.6, 203.0.113.9"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - fixed local http URL
        assert response.status == 200
    proc.send_signal(signal.SIGTERM)  # the exec'd gunicorn master is the process we started
    output = proc.communicate(timeout=25)[0]
    assert proc.returncode == 0, output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    messages = [line["message"] for line in lines]
    assert "Handling signal: term" in messages
    assert any("Using worker: slipway_app.worker.Worker" in m for m in messages)
    assert f"listening on 0.0.0.0:{port} (each worker binds its own SO_REUSEPORT listener)" in messages
    assert not [m for m in messages if "rror" in m], "a clean start and stop logs no error"
    access = [line for line in lines if line.get("request_id") == "srv-1" and line.get("path") == "/healthz"]
    assert len(access) == 1, "exactly one access line per request (no duplicate gunicorn/uvicorn line)"
    assert access[0]["status"] == 200
    forwarded = [line for line in lines if line.get("request_id") == "srv-xff"]
    assert [line["client"] for line in forwarded] == ["203.0.113.9"], forwarded


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
    assert conf.worker_tmp_dir == "/tmp" and conf.accesslog is None
    # Never "*" (uvicorn would then log the leftmost, caller-chosen X-Forwarded-For entry): FORWARDED_ALLOW_IPS.
    assert conf.forwarded_allow_ips == conf.proxy_allow_ips == "127.0.0.1"
    assert conf.logconfig_dict["root"]["level"] == "WARNING"
    gunicorn = Config()
    settings = {
        k: v
        for k, v in vars(conf).items()
        if not k.startswith("_")
        and not callable(v)
        and not isinstance(v, type(conf))
        and k not in {"annotations", "logging_dict", "load_settings"}
    }
    unknown = set(settings) - set(gunicorn.settings)
    assert not unknown, f"not gunicorn settings (would be silently ignored): {unknown}"
    for key, value in settings.items():
        gunicorn.set(key, value)  # gunicorn's own validators accept every value
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.20.0.0/16, 10.30.1.7")
    conf = importlib.reload(conf)
    assert conf.forwarded_allow_ips == conf.proxy_allow_ips == "10.20.0.0/16,10.30.1.7"
    gunicorn.set("forwarded_allow_ips", conf.forwarded_allow_ips)
    assert gunicorn.forwarded_allow_ips == ["10.20.0.0/16", "10.30.1.7"]
    from slipway_app.cli import GUNICORN_CONFIG, gunicorn_argv

    assert gunicorn_argv()[-2:] == ["-c", GUNICORN_CONFIG]


# -- app migrate with a temporary extra revision (conftest.migrate_with_revision) --------------------------------

CONCURRENT_INDEX = """
with op.get_context().autocommit_block():
    op.create_index("ix_notes_title", "notes", ["title"], postgresql_concurrently=True)
"""


def _index_is_valid(url: URL, name: str) -> bool | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:n)"), {"n": name}
            ).scalar_one_or_none()
    finally:
        engine.dispose()


def test_migrate_runs_a_create_index_concurrently_revision(pg_databases: Any, migrate_with_revision: Any) -> None:
    url = pg_databases.create()  # empty: the packaged revisions and 0901 (autocommit block) in one run
    proc = migrate_with_revision(CONCURRENT_INDEX, DATABASE_URL=_plain(url))
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, out + err
    assert "database at revision 0901 (head)" in out
    assert _version_rows(url) == ["0901"]
    assert _index_is_valid(url, "ix_notes_title") is True


def test_migrate_gives_up_on_a_table_lock_after_the_lock_timeout(pg_databases: Any, migrate_with_revision: Any) -> None:
    from slipway_app.migrate import upgrade_to_head

    url = pg_databases.create()
    upgrade_to_head(url)
    engine = create_engine(url)
    try:
        with engine.connect() as reader:  # a long reader transaction: ACCESS SHARE on notes until rollback
            reader.execute(text("SELECT count(*) FROM notes"))
            started = time.monotonic()
            proc = migrate_with_revision(
                'op.add_column("notes", sa.Column("extra", sa.Text()))',
                DATABASE_URL=_plain(url),
                DB_MIGRATION_LOCK_TIMEOUT_MS="500",
            )
            try:  # without a lock_timeout, ALTER TABLE would wait (and queue every reader behind it) for ever
                out, err = proc.communicate(timeout=10)
            finally:
                reader.rollback()
            elapsed = time.monotonic() - started
    finally:
        engine.dispose()
    assert proc.returncode == 1, out + err
    assert elapsed < 8
    assert "cannot migrate postgresql+psycopg://" in err
    assert "LockNotAvailable: canceling statement due to lock timeout" in err
    assert "DB_MIGRATION_LOCK_TIMEOUT_MS" in err and "Traceback" not in err
    assert _version_rows(url) == ["0003"]  # 0901 rolled back as a whole


FAILING_REVISION = """
bind = op.get_bind()
# Cut this process's other connection (the one holding the advisory lock), then fail without a message.
bind.execute(sa.text("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND pid <> pg_backend_pid() AND application_name = 'slipway-app'"))
raise AssertionError()
"""


def test_migrate_reports_a_message_less_failure_with_its_traceback(
    pg_databases: Any, migrate_with_revision: Any
) -> None:
    url = pg_databases.create()
    proc = migrate_with_revision(FAILING_REVISION, DATABASE_URL=_plain(url))
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1, out + err
    # The revision's AssertionError, not the unlock's OperationalError (the lock connection was cut), and never
    # an empty "AssertionError: ".
    assert "app migrate: failed: AssertionError (no message)" in err, err
    assert "Traceback" not in err
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]  # every line is JSON
    failed = [line for line in lines if line["message"] == "migration failed"]
    assert len(failed) == 1 and failed[0]["level"] == "ERROR" and failed[0]["exc_type"] == "AssertionError"
    assert "Traceback" in failed[0]["exc_info"] and "0901_test_extra.py" in failed[0]["exc_info"]
    assert any(line["message"].startswith("could not release the migration lock") for line in lines)
    assert _version_rows(url) == ["0003"]  # 0001, 0002 and 0003 committed on their own (transaction per migration)


# -- secrets in DATABASE_URL ------------------------------------------------------------------------------------


def test_check_masks_a_password_query_parameter(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "DATABASE_URL", f"postgresql://app@db.internal/app?password={SECRET}&sslmode=require&sslpassword={SECRET}x"
    )
    assert main(["check"]) == 0
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err
    effective = json.loads(out.out)["effective_database_url"]
    assert effective.startswith("postgresql+psycopg://app@db.internal/app?sslmode=require")
    assert "password=***" in effective and "sslpassword=***" in effective


def test_migrate_masks_a_password_query_parameter(app_cli: Any) -> None:
    result = app_cli("migrate", DATABASE_URL=f"postgresql://app@127.0.0.1:1/app?password={SECRET}", timeout=10)
    assert result.returncode == 1
    assert "cannot migrate postgresql+psycopg://app@127.0.0.1:1/app?password=***:" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    databases = {record.get("database") for record in _json_records(result.stdout)}
    assert "postgresql+psycopg://app@127.0.0.1:1/app?password=***" in databases


@pytest.mark.parametrize("password", ["Pq7@Ss8/Wz#Rd9", "Zq9x@Kv2", "Ab3#Bc4@Cd5/De6", "Uv7@Vw8?Wx9"])
@pytest.mark.parametrize("command", ["check", "migrate"])
def test_an_unescaped_password_is_rejected_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], password: str, command: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:{password}@db.internal:5432/app")
    with pytest.raises(SystemExit) as info:
        main([command])
    assert info.value.code == 2
    out = capsys.readouterr()
    assert "DATABASE_URL" in out.err and "URL-encode" in out.err
    for fragment in {password, *re.split(r"[@/#?]", password)}:  # no piece of the password either
        assert fragment not in out.err + out.out, fragment
    assert "db.internal" not in out.err  # no part of the URL is echoed


def test_a_url_encoded_password_is_accepted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from urllib.parse import quote

    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:{quote('p@ss/w#rd?', safe='')}@db.internal/app")
    assert main(["check"]) == 0
    assert (
        json.loads(capsys.readouterr().out)["effective_database_url"] == "postgresql+psycopg://app:***@db.internal/app"
    )


def test_check_database_reads_the_schema_read_only_and_fails_unless_at_head(pg_databases: Any, app_cli: Any) -> None:
    """The restore drill's probe: reachable, at the migrations' head, rows counted, nothing written."""
    url = pg_databases.create()
    behind = app_cli("check", "--database", DATABASE_URL=_plain(url))
    assert behind.returncode == 1 and "database at no revision, code at ['0003']" in behind.stderr, behind.stderr
    assert app_cli("migrate", DATABASE_URL=_plain(url)).returncode == 0
    ok = app_cli("check", "--database", DATABASE_URL=_plain(url))
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout[ok.stdout.index("{") :])
    assert report["database"] == {"revision": ["0003"], "head": ["0003"], "notes": 0}
    assert _version_rows(url) == ["0003"], "read only"
    down = app_cli("check", "--database", DATABASE_URL=f"postgresql://app:{SECRET}@127.0.0.1:1/app", timeout=15)
    assert down.returncode == 1 and "cannot read" in down.stderr and SECRET not in down.stdout + down.stderr


def test_gunicorn_worker_hook_freezes_the_heap() -> None:
    import gc

    import slipway_app.gunicorn_conf as conf
    from gunicorn.config import Config

    assert "post_worker_init" in Config().settings  # a hook gunicorn calls (a misspelt one would be ignored)
    frozen = gc.get_freeze_count()
    try:
        conf.post_worker_init(object())
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()


def test_the_app_gunicorn_loads_keeps_log_records_lean(tmp_path: Any) -> None:
    """Each worker imports slipway_app.asgi, which configures logging: no caller lookup, thread or process names."""
    code = (
        "import logging, slipway_app.asgi\n"
        "r = logging.getLogger('x').makeRecord('x', logging.INFO, 'f', 1, 'm', (), None)\n"
        "print(logging._srcfile, r.threadName, r.processName)"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code],
        env=child_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "None None None"
