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


@pytest.mark.parametrize(
    ("env", "expected"),
    [
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
    ],
)
def test_invalid_configuration_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
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


def test_timeouts_and_forwarded_allow_ips_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(env_file=None)
    assert settings.db_statement_timeout_ms == 5000
    assert settings.db_migration_lock_timeout_ms == 10_000
    assert settings.forwarded_allow_ips == "127.0.0.1"
    _set(
        monkeypatch,
        DB_STATEMENT_TIMEOUT_MS="2500",
        DB_MIGRATION_LOCK_TIMEOUT_MS="30000",
        FORWARDED_ALLOW_IPS=" 10.20.0.0/16 ,127.0.0.1,  fd00::/8 ",
    )
    settings = load_settings(env_file=None)
    assert (settings.db_statement_timeout_ms, settings.db_migration_lock_timeout_ms) == (2500, 30_000)
    assert settings.forwarded_allow_ips == "10.20.0.0/16,127.0.0.1,fd00::/8"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DB_STATEMENT_TIMEOUT_MS": "0"}, "DB_STATEMENT_TIMEOUT_MS"),
        ({"DB_STATEMENT_TIMEOUT_MS": "5s"}, "DB_STATEMENT_TIMEOUT_MS"),
        ({"DB_MIGRATION_LOCK_TIMEOUT_MS": "-1"}, "DB_MIGRATION_LOCK_TIMEOUT_MS"),
        ({"FORWARDED_ALLOW_IPS": "*"}, "FORWARDED_ALLOW_IPS"),
        ({"FORWARDED_ALLOW_IPS": "10.20.0.0/16,*"}, "FORWARDED_ALLOW_IPS"),
        ({"FORWARDED_ALLOW_IPS": "10.20.0.1/16"}, "FORWARDED_ALLOW_IPS"),  # host bits set: gunicorn rejects it too
        ({"FORWARDED_ALLOW_IPS": "alb.internal"}, "FORWARDED_ALLOW_IPS"),
        ({"FORWARDED_ALLOW_IPS": " , "}, "FORWARDED_ALLOW_IPS"),
    ],
)
def test_invalid_timeouts_and_proxies_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    _set(monkeypatch, **env)
    with pytest.raises(ConfigError, match=expected):
        load_settings(env_file=None)


async def _client_seen_behind(trusted: str, peer: str, x_forwarded_for: str) -> str:
    """The client address uvicorn's ProxyHeadersMiddleware (what the gunicorn worker wraps the app in) passes on."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    seen: list[str] = []

    async def app(scope: dict[str, object], _receive: object, _send: object) -> None:
        seen.append(scope["client"][0])  # type: ignore[index]

    scope = {"type": "http", "client": (peer, 50000), "headers": [(b"x-forwarded-for", x_forwarded_for.encode())]}
    await ProxyHeadersMiddleware(app, trusted_hosts=trusted)(scope, None, None)  # type: ignore[arg-type]
    return seen[0]


def test_the_vpc_cidr_trusts_x_forwarded_for_from_the_right(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    _set(monkeypatch, FORWARDED_ALLOW_IPS="10.20.0.0/16")
    trusted = load_settings(env_file=None).forwarded_allow_ips
    alb = "10.20.3.4"
    # The ALB appends the address it saw; whatever the caller put in front is ignored.
    assert asyncio.run(_client_seen_behind(trusted, alb, "6.6.6.6, 203.0.113.9")) == "203.0.113.9"
    assert asyncio.run(_client_seen_behind(trusted, alb, "203.0.113.9")) == "203.0.113.9"
    # A caller outside the trusted network cannot choose its logged address at all.
    assert asyncio.run(_client_seen_behind(trusted, "198.51.100.7", "6.6.6.6")) == "198.51.100.7"
    # What "*" did: the leftmost, forged entry.
    assert asyncio.run(_client_seen_behind("*", alb, "6.6.6.6, 203.0.113.9")) == "6.6.6.6"
