"""Settings: defaults, URL building (escaping, sslmode), validation errors naming the variable, .env handling."""

from __future__ import annotations

from pathlib import Path

import pytest
from slipway_app.settings import DEFAULT_SQLITE_PATH, ConfigError, load_settings
from sqlalchemy.engine import make_url

PG_ENV = {"DB_HOST": "db.internal", "DB_USER": "app", "DB_PASSWORD": "p@ss:w/rd%?#", "DB_NAME": "notes"}


def _set(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_defaults_use_embedded_sqlite_under_tmp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_ENV")
    settings = load_settings(env_file=None)
    assert (settings.port, settings.app_env, settings.log_level, settings.web_concurrency) == (8000, "local", "INFO", 2)
    url = settings.sqlalchemy_url()
    assert url.get_backend_name() == "sqlite"
    assert url.database == DEFAULT_SQLITE_PATH
    assert DEFAULT_SQLITE_PATH.startswith("/tmp/")
    assert not settings.is_postgres


def test_db_parts_build_an_escaped_psycopg_url(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, **PG_ENV, DB_PORT="6432", DB_SSLMODE="require")
    url = load_settings(env_file=None).sqlalchemy_url()
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.database, url.username) == ("db.internal", 6432, "notes", "app")
    assert url.password == PG_ENV["DB_PASSWORD"]
    assert url.query == {"sslmode": "require"}
    rendered = url.render_as_string(hide_password=False)
    assert "p%40ss%3Aw%2Frd%25%3F%23@db.internal:6432" in rendered
    assert make_url(rendered).password == PG_ENV["DB_PASSWORD"]  # round-trips


def test_database_url_is_normalised_to_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, DATABASE_URL="postgres://u:pw@h:5433/d", DB_SSLMODE="verify-full")
    url = load_settings(env_file=None).sqlalchemy_url()
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.database, url.password) == ("h", 5433, "d", "pw")
    assert url.query["sslmode"] == "verify-full"


def test_database_url_sqlite(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _set(monkeypatch, DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    assert load_settings(env_file=None).sqlalchemy_url().database == f"{tmp_path}/x.db"


@pytest.mark.parametrize(("env", "expected"), [
    ({"PORT": "abc"}, "PORT"),
    ({"PORT": "70000"}, "PORT"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
    ({"APP_ENV": "staging"}, "APP_ENV"),
    ({"DB_HOST": "h"}, "DB_USER and DB_PASSWORD"),
    ({"DB_HOST": "h", "DB_USER": "u"}, "DB_PASSWORD"),
    ({"DB_USER": "u", "DB_PASSWORD": "x"}, "DB_HOST"),
    ({"DB_HOST": "h", "DB_USER": "u", "DB_PASSWORD": "x", "DB_SSLMODE": "sometimes"}, "DB_SSLMODE"),
    ({"DATABASE_URL": "mysql://u:p@h/d"}, "DATABASE_URL"),
    ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
    ({"DATABASE_URL": "sqlite:///x.db", "DB_HOST": "h", "DB_USER": "u", "DB_PASSWORD": "x"}, "DATABASE_URL"),
    ({"APP_ENV": "prod"}, "SECRET_KEY"),
    ({"APP_ENV": "dev", "SECRET_KEY": "too-short"}, "SECRET_KEY"),
])
def test_invalid_configuration_names_the_variable(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                  expected: str) -> None:
    _set(monkeypatch, **env)
    with pytest.raises(ConfigError, match=expected):
        load_settings(env_file=None)


def test_error_messages_never_contain_secret_values(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, DATABASE_URL="mysql://u:Sup3rS3cret@h/d", APP_ENV="prod", SECRET_KEY="tiny-Sup3rS3cret")
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=None)
    assert "Sup3rS3cret" not in str(info.value)


def test_prod_accepts_a_long_secret_key_and_hides_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, APP_ENV="prod", SECRET_KEY="k" * 40, **PG_ENV)
    settings = load_settings(env_file=None)
    public = settings.public_dict()
    assert public["SECRET_KEY"] == "***" and public["DB_PASSWORD"] == "***"
    assert PG_ENV["DB_PASSWORD"] not in repr(settings) and "k" * 40 not in repr(settings)
    assert PG_ENV["DB_PASSWORD"] not in str(public)


def test_dotenv_is_read_only_for_local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("PORT=9123\nLOG_LEVEL=debug\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("APP_ENV")
    assert load_settings().port == 9123  # APP_ENV unset = local
    assert load_settings().log_level == "DEBUG"
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    assert load_settings().port == 8000  # ignored when deployed


def test_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=9123\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APP_ENV", "local")
    monkeypatch.setenv("PORT", "8080")
    assert load_settings().port == 8080
