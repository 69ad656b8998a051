"""Migrations: upgrade from empty, downgrade to base and back, and no drift between the models and migrations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from slipway_app.migrate import MIGRATIONS_DIR, current_revisions, downgrade, head_revisions, upgrade_to_head
from slipway_app.models import Base
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url


def _tables(url: URL) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _revisions(url: URL) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return current_revisions(conn)
    finally:
        engine.dispose()


def _roundtrip(url: URL) -> None:
    assert _revisions(url) == set()
    assert upgrade_to_head(url) == "0003"
    assert _tables(url) >= {"notes", "alembic_version"}
    assert _revisions(url) == head_revisions() == {"0003"}
    assert upgrade_to_head(url) == "0003"  # idempotent
    downgrade(url, "base")
    assert "notes" not in _tables(url)
    assert _revisions(url) == set()
    assert upgrade_to_head(url) == "0003"
    assert "notes" in _tables(url)


def test_upgrade_downgrade_upgrade_postgresql(pg_databases: Any) -> None:
    _roundtrip(pg_databases.create())


def test_upgrade_downgrade_upgrade_sqlite(tmp_path: Path) -> None:
    _roundtrip(make_url(f"sqlite:///{tmp_path / 'm.db'}"))


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_models_match_migrations(backend: str, pg_migrated_url: URL, sqlite_url: URL) -> None:
    url = pg_migrated_url if backend == "postgresql" else sqlite_url
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            # SQLite reflects server defaults as raw SQL text (false positives): compare them on PostgreSQL only.
            opts = {"compare_type": True, "compare_server_default": backend == "postgresql"}
            context = MigrationContext.configure(conn, opts=opts)
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ, add a revision: {diff}"


def test_check_constraints_exist_in_the_database(pg_url: URL) -> None:
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            names = {c["name"] for c in inspect(conn).get_check_constraints("notes")}
            assert names == {"ck_notes_title_length", "ck_notes_body_length"}
            with pytest.raises(Exception, match="ck_notes_title_length"):
                conn.execute(text("INSERT INTO notes (title) VALUES ('')"))
    finally:
        engine.dispose()


def test_migrations_do_not_depend_on_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert not (Path(os.getcwd()) / "alembic.ini").exists()
    assert MIGRATIONS_DIR.is_absolute() and (MIGRATIONS_DIR / "env.py").is_file()
    assert head_revisions() == {"0003"}
    assert upgrade_to_head(make_url(f"sqlite:///{tmp_path / 'cwd.db'}")) == "0003"


def test_a_percent_in_the_password_survives_the_alembic_config() -> None:
    from slipway_app.migrate import alembic_config

    url = make_url("postgresql+psycopg://u:p%25ss%40w@h/d")
    config = alembic_config(url=url)
    assert config.attributes["url"].password == "p%ss@w"
    assert config.get_main_option("sqlalchemy.url") is None  # never written where % would be interpolated
