"""TLS to the database, verified: with DB_SSLMODE=verify-full the app checks the server's certificate against RDS's
own CAs (shipped in the package) or DB_SSLROOTCERT, and refuses a server they did not sign.

A PostgreSQL of the test's own with TLS on (certificates made here, on its own free port), so the machine's server
is never touched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from slipway_app.db import engine_for_url
from slipway_app.settings import RDS_CA_BUNDLE, load_settings
from sqlalchemy import text
from sqlalchemy.exc import OperationalError


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )
    if not found:
        pytest.fail(f"{name} not found (PostgreSQL server binaries are part of the test contract)")
    return str(found)


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, subject)])
    issuer_name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, issuer[0])]) if issuer else name
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer:
        san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


@pytest.fixture(scope="module")
def tls_pg() -> Iterator[tuple[int, Path]]:
    """(port, CA file) of a PostgreSQL that serves a certificate signed by a CA made here."""
    root = Path(tempfile.mkdtemp(prefix="slipway-tls-pg-"))
    datadir = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: the cluster runs as the postgres OS user
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(  # noqa: S603 - fixed argv
        [*as_user, _pg_bin("initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust", "--no-sync"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("slipway test CA", ca_key, None)
    server = _cert("localhost", server_key, ("slipway test CA", ca_key))
    (datadir / "server.crt").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file = datadir / "server.key"
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    if as_user:
        for path in (datadir / "server.crt", key_file):
            shutil.chown(path, "postgres")
    ca_file = root / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    opts = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={datadir} -c ssl=on -c fsync=off"
    ctl = [*as_user, _pg_bin("pg_ctl"), "-D", str(datadir), "-w", "-t", "20"]
    subprocess.run([*ctl, "-o", opts, "-l", str(datadir / "log"), "start"], check=True, capture_output=True, timeout=60)  # noqa: S603
    try:
        yield port, ca_file
    finally:
        with contextlib.suppress(Exception):
            subprocess.run([*ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)  # noqa: S603
        shutil.rmtree(root, ignore_errors=True)


def _connect(monkeypatch: pytest.MonkeyPatch, port: int, **env: str) -> bool:
    """Whether the app, configured like its task, gets a TLS connection (raises nothing: False when refused)."""
    for key, value in {
        "APP_ENV": "prod",
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(port),
        "DB_NAME": "postgres",
        "DB_USER": "postgres",
        "DB_PASSWORD": "unused-with-trust-auth",
        "SECRET_KEY": "k" * 40,
        **env,
    }.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(env_file=None)
    try:
        with engine_for_url(settings.sqlalchemy_url(), pooled=False).connect() as conn:
            return bool(conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar_one())
    except OperationalError as err:
        assert "certificate verify failed" in str(err), err
        return False


def test_verify_full_accepts_the_server_its_ca_signed(
    tls_pg: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, ca = tls_pg
    assert _connect(monkeypatch, port, DB_SSLMODE="verify-full", DB_SSLROOTCERT=str(ca))


def test_verify_full_with_rds_cas_refuses_a_server_rds_did_not_sign(
    tls_pg: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default root certificates are RDS's (what the stack deploys): an impostor is refused, where require
    would have encrypted to it."""
    port, _ = tls_pg
    monkeypatch.delenv("DB_SSLROOTCERT", raising=False)
    assert RDS_CA_BUNDLE.is_file()
    assert not _connect(monkeypatch, port, DB_SSLMODE="verify-full")
    assert _connect(monkeypatch, port, DB_SSLMODE="require"), "require encrypts but does not check who answers"
