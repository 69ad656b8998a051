"""RDS IAM database authentication without boto3: a fresh auth token as the password of every new connection.

An RDS IAM auth token is an AWS Signature Version 4 *presigned URL* for the ``rds-db:connect`` action,
``https://<host>:<port>/?Action=connect&DBUser=<user>&X-Amz-...`` signed for the service ``rds-db`` with
``X-Amz-Expires=900``, without its ``https://`` prefix. It is what botocore's ``RDS.generate_db_auth_token``
returns (``test_app_iam_auth.py`` compares both byte for byte); it is computed locally (no AWS call) and is valid
for 15 minutes *to open a connection*; an open connection is not affected by its expiry. Nothing here depends on the
master password, so its rotation by RDS never touches the web service.

Credentials (the task role's, refreshed by AWS), in botocore's order:

1. ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (/ ``AWS_SESSION_TOKEN``) from the environment;
2. the container credentials endpoint: ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` (ECS:
   ``http://169.254.170.2<uri>``) or ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` (loopback ``http``, the ECS/EKS
   link-local addresses, or any ``https`` URL), with ``AWS_CONTAINER_AUTHORIZATION_TOKEN`` as its
   ``Authorization`` header when set. The answer (``AccessKeyId``, ``SecretAccessKey``, ``Token``, ``Expiration``)
   is cached until :data:`REFRESH_BEFORE_EXPIRY` before its expiration.

Tokens, keys and the endpoint's answer are never logged, and their reprs are masked.

Test hook: with ``APP_ENV=test`` only, ``SLIPWAY_TEST_TOKEN_FILE`` names a file whose content is the "token" (a
PostgreSQL password the test rotates), read for every new connection: the rotation test drives a real PostgreSQL
with password authentication through exactly the code path IAM tokens take. Settings refuse it in any other
environment, so deployed code never reads it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

import psycopg

if TYPE_CHECKING:
    from .settings import Settings

SERVICE = "rds-db"
ALGORITHM = "AWS4-HMAC-SHA256"
TOKEN_EXPIRES_SECONDS = 900
# SHA-256 of the empty payload: a presigned GET has no body (botocore signs it this way for rds-db).
EMPTY_PAYLOAD_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ECS_CREDENTIALS_HOST = "169.254.170.2"
# Hosts AWS_CONTAINER_CREDENTIALS_FULL_URI may name over plain http (botocore's rule): loopback, ECS, EKS.
ALLOWED_HTTP_CREDENTIAL_HOSTS = frozenset({"169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"})
REFRESH_BEFORE_EXPIRY = dt.timedelta(minutes=5)
CREDENTIALS_TIMEOUT_SECONDS = 2.0
CREDENTIALS_ATTEMPTS = 2
TEST_TOKEN_FILE_ENV = "SLIPWAY_TEST_TOKEN_FILE"  # noqa: S105 - a variable name, not a secret

Clock = Callable[[], dt.datetime]
PasswordProvider = Callable[[], str]


class IamAuthError(psycopg.OperationalError):
    """No token could be made (no credentials, endpoint unreachable...): the database is unavailable for now.

    A psycopg ``OperationalError``, so a request that needed a new connection answers 503 + Retry-After like any
    other connection failure, and SQLAlchemy wraps it like a driver error. Messages never contain secrets.
    """


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class AwsCredentials:
    """An access key (with the session token of temporary credentials); secrets are masked in ``repr``."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: dt.datetime | None = None


def _quote(value: str) -> str:
    # RFC 3986 unreserved characters stay as they are (SigV4's URI encoding; botocore's percent_encode).
    return quote(value, safe="-_.~")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def generate_auth_token(
    *, host: str, port: int, user: str, region: str, credentials: AwsCredentials, now: dt.datetime | None = None
) -> str:
    """The RDS IAM auth token for ``user`` at ``host:port`` in ``region``, signed at ``now`` (default: now, UTC)."""
    moment = now or _utcnow()
    if moment.tzinfo is not None:  # a naive datetime is taken as UTC (like botocore's)
        moment = moment.astimezone(dt.UTC)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{region}/{SERVICE}/aws4_request"
    operation = [("Action", "connect"), ("DBUser", user)]
    auth = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{credentials.access_key_id}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(TOKEN_EXPIRES_SECONDS)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if credentials.session_token is not None:
        auth.append(("X-Amz-Security-Token", credentials.session_token))
    encoded = [(_quote(key), _quote(value)) for key, value in operation + auth]
    # The URL keeps operation parameters first, then the auth parameters; the canonical form sorts them.
    query = "&".join(f"{key}={value}" for key, value in encoded)
    canonical_query = "&".join(f"{key}={value}" for key, value in sorted(encoded))
    host_header = host.lower() if port == 443 else f"{host.lower()}:{port}"
    canonical_request = "\n".join(
        ["GET", "/", canonical_query, f"host:{host_header}", "", "host", EMPTY_PAYLOAD_SHA256]
    )
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    key = _hmac(f"AWS4{credentials.secret_access_key}".encode(), amz_date[:8])
    for part in (region, SERVICE, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{host}:{port}/?{query}&X-Amz-Signature={signature}"


def _parse_expiration(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("no Expiration")
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def container_credentials_url(environ: Mapping[str, str]) -> str | None:
    """The container credentials endpoint named by ``environ`` (None when neither variable is set).

    ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` wins (ECS). A ``..._FULL_URI`` over plain http must name a loopback
    address or the ECS/EKS link-local endpoint (botocore's rule), so a stray variable cannot send the
    authorization token elsewhere in clear text.
    """
    relative = environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "").strip()
    if relative:
        if not relative.startswith("/"):
            raise IamAuthError("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'")
        return f"http://{ECS_CREDENTIALS_HOST}{relative}"
    full = environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI", "").strip()
    if not full:
        return None
    parts = urlsplit(full)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return full
    if parts.scheme == "http" and host:
        if host in ALLOWED_HTTP_CREDENTIAL_HOSTS:
            return full
        try:
            if ipaddress.ip_address(host).is_loopback:
                return full
        except ValueError:
            pass
    raise IamAuthError(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback address or the ECS/EKS "
        "credentials endpoint"
    )


class ContainerCredentials:
    """Credentials from the container credentials endpoint, cached until 5 minutes before they expire."""

    def __init__(self, url: str, *, authorization: str | None = None, clock: Clock = _utcnow) -> None:
        self.url = url
        self._authorization = authorization
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: AwsCredentials | None = None
        self.fetches = 0  # endpoint calls so far (tests check the cache)

    def __repr__(self) -> str:
        return f"ContainerCredentials(url={self.url!r})"

    def __call__(self) -> AwsCredentials:
        with self._lock:
            cached = self._cached
            if cached is not None and (
                cached.expiration is None or self._clock() < cached.expiration - REFRESH_BEFORE_EXPIRY
            ):
                return cached
            self._cached = self._fetch()
            return self._cached

    def _fetch(self) -> AwsCredentials:
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})  # noqa: S310 - http(s) only
        if self._authorization:
            request.add_header("Authorization", self._authorization)
        # No proxies: the endpoint is link-local/loopback, and HTTP(S)_PROXY must never see its token.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        problem = "no answer"
        for _attempt in range(CREDENTIALS_ATTEMPTS):
            try:
                with opener.open(request, timeout=CREDENTIALS_TIMEOUT_SECONDS) as response:
                    document = json.loads(response.read())
                self.fetches += 1
                return AwsCredentials(
                    access_key_id=str(document["AccessKeyId"]),
                    secret_access_key=str(document["SecretAccessKey"]),
                    session_token=str(document["Token"]) if document.get("Token") else None,
                    expiration=_parse_expiration(document.get("Expiration")),
                )
            except urllib.error.HTTPError as exc:
                problem = f"HTTP {exc.code}"
            except (OSError, urllib.error.URLError) as exc:
                problem = type(exc).__name__
            except (ValueError, KeyError, TypeError):  # never echo the document: it holds the secret key
                problem = "unexpected answer (not JSON with AccessKeyId, SecretAccessKey, Token, Expiration)"
        raise IamAuthError(f"cannot get AWS credentials from the container credentials endpoint: {problem}")


def default_credentials(
    environ: Mapping[str, str] | None = None, *, clock: Clock = _utcnow
) -> Callable[[], AwsCredentials]:
    """The credential source for ``environ`` (default ``os.environ``): environment keys, else the container endpoint."""
    env = os.environ if environ is None else environ
    access_key, secret_key = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
    if access_key and secret_key:
        static = AwsCredentials(access_key, secret_key, env.get("AWS_SESSION_TOKEN") or None)
        return lambda: static
    url = container_credentials_url(env)
    if url is not None:
        return ContainerCredentials(
            url, authorization=env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN") or None, clock=clock
        )

    def missing() -> AwsCredentials:
        raise IamAuthError(
            "DB_IAM_AUTH is on but no AWS credentials were found (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, "
            "AWS_CONTAINER_CREDENTIALS_FULL_URI or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
        )

    return missing


class RdsIamTokenProvider:
    """Callable returning a fresh token for every new connection (signing is local and takes microseconds)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        user: str,
        region: str,
        credentials: Callable[[], AwsCredentials],
        clock: Clock = _utcnow,
    ) -> None:
        self.host, self.port, self.user, self.region = host, port, user, region
        self._credentials = credentials
        self._clock = clock

    def __repr__(self) -> str:
        return f"RdsIamTokenProvider(host={self.host!r}, port={self.port}, user={self.user!r}, region={self.region!r})"

    def __call__(self) -> str:
        return generate_auth_token(
            host=self.host,
            port=self.port,
            user=self.user,
            region=self.region,
            credentials=self._credentials(),
            now=self._clock(),
        )


class TestTokenFile:
    """``APP_ENV=test`` only: the token is the content of a file the test rewrites (a rotating password)."""

    __test__ = False  # not a pytest class

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"TestTokenFile({str(self.path)!r})"

    def __call__(self) -> str:
        try:
            return self.path.read_text().strip()
        except OSError as exc:
            raise IamAuthError(f"cannot read {TEST_TOKEN_FILE_ENV}: {type(exc).__name__}") from None


def password_provider(settings: Settings) -> PasswordProvider | None:
    """The password source for new connections under ``settings``; None when ``DB_IAM_AUTH`` is off."""
    if not settings.db_iam_auth:
        return None
    if settings.slipway_test_token_file is not None:
        if settings.app_env != "test":  # settings refuse it already; never read a file outside the tests
            raise IamAuthError(f"{TEST_TOKEN_FILE_ENV} is only honoured with APP_ENV=test")
        return TestTokenFile(Path(settings.slipway_test_token_file))
    url = settings.sqlalchemy_url()
    if not url.host or not url.username or not settings.db_region:
        raise IamAuthError("DB_IAM_AUTH needs the database host, user and DB_REGION")
    return RdsIamTokenProvider(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        region=settings.db_region,
        credentials=default_credentials(),
    )
