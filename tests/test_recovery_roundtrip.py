"""A logical backup round trip, for real, against the local PostgreSQL (docs/recovery.md, "logical export"):

fresh database -> the app's migrations -> fill it through the app's API -> ``pg_dump -Fc`` -> ``pg_restore`` into
another fresh database -> ``app migrate`` (a no-op at head) -> ``app check`` and ``/readyz`` -> every table of the
public schema has the same row count and the same checksum (md5 over its rows in a stable order) on both sides. Both
databases are dropped at the end. PostgreSQL is part of the test contract (as in app/tests): no server, a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

with warnings.catch_warnings():  # starlette nudges towards httpx2; httpx still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from slipway_app import cli  # noqa: E402
from slipway_app.main import create_app  # noqa: E402
from slipway_app.migrate import upgrade_to_head  # noqa: E402
from slipway_app.settings import Settings  # noqa: E402

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NOTES = 60


def libpq(url: URL) -> str:
    """``postgresql://`` form for pg_dump, pg_restore and the app's DATABASE_URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def databases() -> Iterator[list[URL]]:
    """Two fresh, empty databases (source, target); dropped at the end whatever happens."""
    admin = make_url(ADMIN_URL).set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    names = [f"slipway_recovery_{role}_{uuid.uuid4().hex[:8]}" for role in ("source", "target")]
    try:
        with engine.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield [admin.set(database=name) for name in names]
    finally:
        with engine.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def app(tmp_path: Path, url: URL, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``app`` command in a clean environment (what the ECS task runs)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "APP_ENV": "test",
        "DATABASE_URL": libpq(url),
    }
    return subprocess.run(
        [sys.executable, "-m", "slipway_app", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which(name)
    assert exe, f"{name} is not on PATH (install the PostgreSQL client tools)"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, check=False)


def table_fingerprints(url: URL) -> dict[str, tuple[int, str]]:
    """``{table: (row count, md5 of all rows as text, sorted)}`` for every table of the public schema."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
            ).scalars()
            out = {}
            for table in list(tables):
                rows = "md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                query = f'SELECT count(*), {rows} FROM "{table}" t'  # noqa: S608 (names from pg_tables)
                count, digest = conn.execute(text(query)).one()
                out[table] = (int(count), str(digest))
            return out
    finally:
        engine.dispose()


def fill_through_the_api(url: URL) -> None:
    settings = Settings(database_url=libpq(url), app_env="test")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        ids = []
        for i in range(NOTES):
            response = client.post("/api/notes", json={"title": f"note {i}", "body": f"body {i} ünïcode ✓\nline 2"})
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        assert client.patch(f"/api/notes/{ids[0]}", json={"title": "edited"}).status_code == 200
        assert client.delete(f"/api/notes/{ids[1]}").status_code == 204
        assert client.get("/readyz").status_code == 200


def test_pg_dump_restore_round_trip_keeps_every_row(
    databases: list[URL],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, target = databases
    upgrade_to_head(source)
    fill_through_the_api(source)
    before = table_fingerprints(source)
    assert before["notes"][0] == NOTES - 1 and "alembic_version" in before

    dump = tmp_path / "app.dump"
    dumped = tool("pg_dump", "-Fc", "--no-owner", "-f", str(dump), "-d", libpq(source))
    assert dumped.returncode == 0 and dump.stat().st_size > 0, dumped.stderr
    restored = tool("pg_restore", "--no-owner", "--exit-on-error", "-d", libpq(target), str(dump))
    assert restored.returncode == 0, restored.stderr

    migrated = app(tmp_path, target, "migrate")  # the runbook's step: a no-op at head, applies what is missing
    assert migrated.returncode == 0, migrated.stderr
    assert "(head)" in migrated.stdout
    for name in ("DB_HOST", "DB_USER", "DB_PASSWORD", "DB_NAME", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", libpq(target))
    capsys.readouterr()
    assert cli.main(["check"]) == 0  # `app check`, in-process (the read-only check the drill runs)
    assert json.loads(capsys.readouterr().out)["effective_database_url"].endswith(str(target.database))

    after = table_fingerprints(target)
    assert after == before, "row counts or checksums differ after the round trip"
    # the restored database serves the same data through the app
    settings = Settings(database_url=libpq(target), app_env="test")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/readyz").status_code == 200
        page = client.get("/api/notes", params={"limit": 100}).json()
        items = page["items"] if isinstance(page, dict) else page
        assert len(items) == NOTES - 1 and items[0]["title"] == "edited"
