"""``app preview-db``: a preview's database and login role inside the shared instance, against real PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from slipway_app.cli import main
from slipway_app.migrate import head_revisions, upgrade_to_head
from slipway_app.preview_db import PreviewDatabaseError, create, drop
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL


@pytest.fixture(scope="module")
def admin(pg_admin: URL) -> Iterator[Engine]:
    engine = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def name(admin: Engine) -> Iterator[str]:
    n = f"pr_{random.randint(100_000, 999_999)}"
    yield n
    drop(admin, n)


def _one(admin: Engine, query: str, **params: Any) -> Any:
    with admin.connect() as conn:
        return conn.execute(text(query), params).scalar()


def test_create_makes_an_owned_database_no_one_else_may_connect_to(admin: Engine, name: str, pg_admin: URL) -> None:
    create(admin, name)
    create(admin, name)  # idempotent: the gate may run again
    assert _one(admin, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :n", n=name) == name
    assert _one(
        admin,
        "SELECT rolcanlogin AND NOT (rolsuper OR rolcreatedb OR rolcreaterole) FROM pg_roles WHERE rolname = :n",
        n=name,
    )
    other = f"{name}_other"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{other}" LOGIN'))
    try:
        assert _one(admin, "SELECT has_database_privilege(:r, :d, 'CONNECT')", r=other, d=name) is False
        assert _one(admin, "SELECT has_database_privilege(:r, :d, 'CONNECT')", r=name, d=name) is True
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP ROLE "{other}"'))
    # The preview's migration runs as the owner, in its own database.
    assert {upgrade_to_head(pg_admin.set(username=name, database=name))} == head_revisions()


def test_drop_removes_database_and_role(admin: Engine, name: str) -> None:
    create(admin, name)
    drop(admin, name)
    assert _one(admin, "SELECT count(*) FROM pg_database WHERE datname = :n", n=name) == 0
    assert _one(admin, "SELECT count(*) FROM pg_roles WHERE rolname = :n", n=name) == 0
    drop(admin, name)  # idempotent


@pytest.mark.parametrize("bad", ["postgres", "test", "pr_0", "pr_1; DROP ROLE x", "dev", "PR_1"])
def test_only_preview_names_are_accepted(admin: Engine, bad: str) -> None:
    with pytest.raises(PreviewDatabaseError, match="not a preview database name"):
        drop(admin, bad)


def test_the_cli_creates_and_refuses_a_non_preview_name(
    monkeypatch: pytest.MonkeyPatch, pg_admin: URL, admin: Engine, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_admin.set(drivername="postgresql").render_as_string(hide_password=False))
    assert main(["preview-db", "create", name]) == 0
    assert _one(admin, "SELECT count(*) FROM pg_database WHERE datname = :n", n=name) == 1
    assert main(["preview-db", "drop", "postgres"]) == 2
    assert "not a preview database name" in capsys.readouterr().err
