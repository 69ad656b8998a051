"""RDS IAM auth tokens without boto3 (``slipway_app.iam_auth``): byte for byte what botocore makes, credentials from
the environment or the container credentials endpoint (a local HTTP server on 127.0.0.1), and the settings contract
(``DB_IAM_AUTH``, ``DB_REGION``, ``DB_APP_ROLE``, the test-only ``SLIPWAY_TEST_TOKEN_FILE``).

boto3/botocore are test dependencies only: the app's lock does not contain them (checked below).
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import botocore.auth
import pytest
from slipway_app import iam_auth
from slipway_app.iam_auth import (
    AwsCredentials,
    ContainerCredentials,
    IamAuthError,
    RdsIamTokenProvider,
    TestTokenFile,
    container_credentials_url,
    default_credentials,
    generate_auth_token,
    password_provider,
)
from slipway_app.settings import ConfigError, load_settings

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"
FROZEN = dt.datetime(2026, 11, 30, 15, 4, 5)  # naive UTC, as botocore's get_current_datetime() returns
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"  # noqa: S105 - AWS's documented example key
SESSION = "FwoGZXIvYXdzEJr//////////wEaDH+example/session+token=="  # noqa: S105


def botocore_token(
    monkeypatch: pytest.MonkeyPatch, *, host: str, port: int, user: str, region: str, session: str | None
) -> str:
    """``RDS.generate_db_auth_token`` from botocore with its clock frozen at :data:`FROZEN`."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_a, **_k: FROZEN)
    client = boto3.client(
        "rds",
        region_name="us-east-1",  # deliberately not the token's region: Region= must win
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key=SECRET,
        aws_session_token=session,
    )
    return str(client.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region))


@pytest.mark.parametrize(
    ("host", "port", "user", "region", "session"),
    [
        ("slipway-prod.c1x2y3z4.eu-west-1.rds.amazonaws.com", 5432, "app_iam", "eu-west-1", SESSION),
        ("slipway-prod.c1x2y3z4.eu-west-1.rds.amazonaws.com", 5432, "app_iam", "eu-west-1", None),
        ("Mixed-Case.Example.us-gov-west-1.rds.amazonaws.com", 6543, "app user+x@y/z", "us-gov-west-1", SESSION),
        ("db.internal", 443, "a~b-c.d_e", "ap-southeast-2", "tok%en with spaces"),
    ],
)
def test_token_is_byte_for_byte_botocores(
    monkeypatch: pytest.MonkeyPatch, host: str, port: int, user: str, region: str, session: str | None
) -> None:
    expected = botocore_token(monkeypatch, host=host, port=port, user=user, region=region, session=session)
    credentials = AwsCredentials("AKIDEXAMPLE", SECRET, session)
    ours = generate_auth_token(host=host, port=port, user=user, region=region, credentials=credentials, now=FROZEN)
    assert ours == expected
    # The same instant given as an aware datetime signs the same token.
    aware = FROZEN.replace(tzinfo=dt.UTC)
    assert generate_auth_token(host=host, port=port, user=user, region=region, credentials=credentials, now=aware) == (
        expected
    )


def test_token_shape_and_that_it_changes_with_time_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = AwsCredentials("AKIDEXAMPLE", SECRET, SESSION)
    kwargs: dict[str, Any] = {"host": "db.example", "port": 5432, "user": "app_iam", "region": "eu-west-1"}
    token = generate_auth_token(credentials=credentials, now=FROZEN, **kwargs)
    assert not token.startswith("https://") and token.startswith("db.example:5432/?Action=connect&DBUser=app_iam&")
    query = dict(parse_qsl(urlsplit("https://" + token).query))
    assert query["X-Amz-Expires"] == "900" and query["X-Amz-SignedHeaders"] == "host"
    assert query["X-Amz-Credential"] == "AKIDEXAMPLE/20261130/eu-west-1/rds-db/aws4_request"
    assert query["X-Amz-Date"] == "20261130T150405Z" and query["X-Amz-Security-Token"] == SESSION
    later = generate_auth_token(credentials=credentials, now=FROZEN + dt.timedelta(seconds=1), **kwargs)
    other_key = generate_auth_token(
        credentials=AwsCredentials("AKIDEXAMPLE", SECRET + "x", SESSION), now=FROZEN, **kwargs
    )
    signatures = {dict(parse_qsl(urlsplit("https://" + t).query))["X-Amz-Signature"] for t in (token, later, other_key)}
    assert len(signatures) == 3


def test_the_runtime_lock_has_no_boto() -> None:
    names = {line.split("==")[0].strip().lower() for line in LOCK.read_text().splitlines() if "==" in line}
    assert "psycopg" in names
    assert not names & {"boto3", "botocore", "aiobotocore", "s3transfer"}


# -- credentials -------------------------------------------------------------------------------------------------


class _Endpoint:
    """A container credentials endpoint on 127.0.0.1 that counts its calls and checks the Authorization header."""

    def __init__(self, expiration: dt.datetime, authorization: str | None) -> None:
        self.calls = 0
        self.expiration = expiration
        self.authorization = authorization
        self.status = 200
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                endpoint.calls += 1
                if endpoint.authorization and self.headers.get("Authorization") != endpoint.authorization:
                    self.send_response(401)
                    self.end_headers()
                    return
                if endpoint.status != 200:
                    self.send_response(endpoint.status)
                    self.end_headers()
                    return
                body = json.dumps(
                    {
                        "AccessKeyId": f"ASIA{endpoint.calls:04d}",
                        "SecretAccessKey": SECRET,
                        "Token": SESSION,
                        "Expiration": endpoint.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "RoleArn": "arn:aws:iam::123456789012:role/slipway-task",
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2/credentials/abc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def endpoint() -> Iterator[_Endpoint]:
    server = _Endpoint(dt.datetime(2026, 11, 30, 18, 0, tzinfo=dt.UTC), authorization="Bearer local-test")
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_container_endpoint_full_uri_is_fetched_and_cached_until_5_minutes_before_expiry(
    endpoint: _Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    now = [dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)]
    env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer local-test"}
    source = default_credentials(env, clock=lambda: now[0])
    assert isinstance(source, ContainerCredentials)
    caplog.set_level(logging.DEBUG)
    first = source()
    assert first.access_key_id == "ASIA0001" and first.secret_access_key == SECRET and first.session_token == SESSION
    assert first.expiration == endpoint.expiration
    now[0] = endpoint.expiration - dt.timedelta(minutes=5, seconds=1)
    assert source() is first and endpoint.calls == 1  # cached
    now[0] = endpoint.expiration - dt.timedelta(minutes=5)
    endpoint.expiration += dt.timedelta(hours=6)  # the endpoint hands out the next credentials
    assert source().access_key_id == "ASIA0002" and endpoint.calls == 2  # refreshed 5 minutes before expiry
    assert source().access_key_id == "ASIA0002" and endpoint.calls == 2
    # Signed tokens use those credentials; nothing secret is logged or in a repr.
    provider = RdsIamTokenProvider(
        host="db.example", port=5432, user="app_iam", region="eu-west-1", credentials=source, clock=lambda: now[0]
    )
    token = provider()
    assert "X-Amz-Credential=ASIA0002%2F" in token
    for text in (caplog.text, repr(provider), repr(source), repr(first)):
        assert SECRET not in text and SESSION not in text and token not in text


def test_container_endpoint_refusal_is_an_operational_error_without_secrets(endpoint: _Endpoint) -> None:
    wrong = ContainerCredentials(endpoint.url, authorization="Bearer wrong")
    with pytest.raises(IamAuthError, match="HTTP 401"):
        wrong()
    endpoint.status = 500
    with pytest.raises(IamAuthError, match="HTTP 500") as caught:
        ContainerCredentials(endpoint.url, authorization="Bearer local-test")()
    assert SECRET not in str(caught.value)
    # A psycopg OperationalError: a request needing a new connection answers 503, like any connection failure.
    assert isinstance(caught.value, __import__("psycopg").OperationalError)


def test_relative_uri_goes_to_the_ecs_endpoint_and_full_uri_must_be_local_or_https() -> None:
    assert container_credentials_url({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"}) == (
        "http://169.254.170.2/v2/credentials/x"
    )
    assert container_credentials_url({}) is None
    for ok in ("http://127.0.0.1:9911/c", "http://[::1]:80/c", "http://169.254.170.23/v1/credentials", "https://x.y/c"):
        assert container_credentials_url({"AWS_CONTAINER_CREDENTIALS_FULL_URI": ok}) == ok
    for bad in ("http://203.0.113.9/c", "http://evil.example/c", "file:///etc/passwd", "ftp://127.0.0.1/c"):
        with pytest.raises(IamAuthError, match="FULL_URI"):
            container_credentials_url({"AWS_CONTAINER_CREDENTIALS_FULL_URI": bad})


def test_environment_keys_win_and_no_credentials_is_a_clear_error() -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "AKIDENV",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SESSION_TOKEN": SESSION,
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/never/called",
    }
    credentials = default_credentials(env)()
    assert (credentials.access_key_id, credentials.session_token) == ("AKIDENV", SESSION)
    with pytest.raises(IamAuthError, match="no AWS credentials"):
        default_credentials({})()


# -- settings and the provider they select -----------------------------------------------------------------------

IAM_ENV = {
    "DB_HOST": "slipway-prod.c1x2y3z4.eu-west-1.rds.amazonaws.com",
    "DB_USER": "app_iam",
    "DB_NAME": "app",
    "DB_IAM_AUTH": "true",
    "DB_REGION": "eu-west-1",
    "DB_SSLMODE": "require",
}


def _load(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Any:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings(env_file=None)


def test_iam_settings_select_a_token_provider_signing_for_host_port_user_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION)
    settings = _load(monkeypatch, IAM_ENV)
    provider = password_provider(settings)
    assert isinstance(provider, RdsIamTokenProvider)
    assert (provider.host, provider.port, provider.user, provider.region) == (
        IAM_ENV["DB_HOST"],
        5432,
        "app_iam",
        "eu-west-1",
    )
    token = provider()
    assert token.startswith(f"{IAM_ENV['DB_HOST']}:5432/?Action=connect&DBUser=app_iam&")
    public = json.dumps(settings.public_dict())
    assert '"DB_IAM_AUTH": true' in public and '"DB_PASSWORD": null' in public
    monkeypatch.setenv("DB_IAM_AUTH", "false")
    monkeypatch.setenv("DB_PASSWORD", "master-secret")
    assert password_provider(load_settings(env_file=None)) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DB_REGION": ""}, "DB_IAM_AUTH=true needs DB_REGION"),
        ({"DB_REGION": "Europe"}, "DB_REGION"),
        ({"DB_PASSWORD": "also-a-password"}, "are exclusive"),
        ({"DB_SSLMODE": "disable"}, "needs TLS"),
        ({"DB_HOST": "", "DATABASE_URL": "postgresql://app_iam:pw@db.example/app"}, "are exclusive"),
        ({"DB_HOST": "", "DATABASE_URL": "sqlite:///x.db"}, "not SQLite"),
        ({"DB_HOST": ""}, "needs DB_HOST and DB_USER"),
        ({"DB_USER": ""}, "DB_USER is missing"),
        ({"APP_ENV": "prod", "SECRET_KEY": "k" * 40, "SLIPWAY_TEST_TOKEN_FILE": "/tmp/t"}, "test-only hook"),  # noqa: S108
        ({"DB_APP_ROLE": "app_iam"}, "DB_APP_ROLE must differ from DB_USER"),
    ],
)
def test_invalid_iam_settings_are_refused_clearly(
    monkeypatch: pytest.MonkeyPatch, overrides: dict[str, str], message: str
) -> None:
    env = {**IAM_ENV, **overrides}
    for key in [key for key, value in env.items() if value == ""]:
        env.pop(key)
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigError, match=message) as caught:
        _load(monkeypatch, env)
    assert "also-a-password" not in str(caught.value) and ":pw@" not in str(caught.value)


@pytest.mark.parametrize("role", ["App", "1app", "app-iam", "app;drop", "postgres", "rds_iam", "pg_monitor", "a" * 64])
def test_db_app_role_must_be_a_plain_dedicated_identifier(monkeypatch: pytest.MonkeyPatch, role: str) -> None:
    env = {"DB_HOST": "db", "DB_USER": "master", "DB_PASSWORD": "x", "DB_APP_ROLE": role}
    with pytest.raises(ConfigError, match="DB_APP_ROLE"):
        _load(monkeypatch, env)


def test_the_test_token_file_is_honoured_only_in_tests(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("current-password\n")
    settings = _load(monkeypatch, {**IAM_ENV, "SLIPWAY_TEST_TOKEN_FILE": str(token_file)})
    provider = password_provider(settings)
    assert isinstance(provider, TestTokenFile) and provider() == "current-password"
    token_file.write_text("rotated")
    assert provider() == "rotated"  # read for every new connection
    token_file.unlink()
    with pytest.raises(IamAuthError, match="cannot read"):
        provider()
    # Even if settings were forged past validation, the provider refuses outside APP_ENV=test.
    forged = settings.model_copy(update={"app_env": "prod"})
    with pytest.raises(IamAuthError, match="only honoured with APP_ENV=test"):
        iam_auth.password_provider(forged)
