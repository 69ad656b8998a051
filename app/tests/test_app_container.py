"""The container's behaviour without Docker, plus the local docker compose file.

A session fixture builds a fresh virtualenv by replaying app/Dockerfile's builder stage itself (dockerfile_replay.py:
its ENV, WORKDIR, COPY and RUN instructions as written, so no copy of the install steps can drift from it), and
runs the image's command, ``app serve``, from it with a clean environment. The main test checks the graceful stop
that ECS relies on: SIGTERM to the ``app`` process (what the ECS init process forwards) lets an in-flight request
finish with 201, refuses new connections, and exits 0 well inside gunicorn's 20 s graceful timeout, itself inside
the task's 30 s stopTimeout.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_replay import parse_dockerfile, replay_builder

APP_DIR = Path(__file__).resolve().parents[1]
COMPOSE = APP_DIR / "docker-compose.yml"
GRACEFUL_TIMEOUT = 20.0  # gunicorn graceful_timeout (the contract); ECS stopTimeout is 30 s


def _run(argv: list[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - argv built by this test from fixed parts, never from input
        argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    assert result.returncode == 0, f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


@dataclass(frozen=True)
class ImageVenv:
    venv: Path
    workdir: Path  # empty, like the image's WORKDIR
    tmp: Path  # stands in for the container's writable /tmp volume
    install_seconds: float

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment, as in the image: no inherited PYTHONPATH, virtualenv or pip settings."""
        # PYTHONDONTWRITEBYTECODE (set in the image) is left out on purpose: any module imported without a .pyc
        # from the build-time compileall would then be written into the venv, and the snapshot check catches it.
        env = {
            "PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
            "PYTHONUNBUFFERED": "1",
            "HOME": str(self.tmp / "nonexistent-home"),
            "TMPDIR": str(self.tmp),
            "APP_ENV": "local",
            "LOG_LEVEL": "INFO",
            "WEB_CONCURRENCY": "1",
            "DATABASE_URL": f"sqlite:///{self.tmp / 'app.db'}",
        }
        env.update(extra)
        return env


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture(scope="session")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> ImageVenv:
    """The venv app/Dockerfile's builder stage builds, built by replaying that stage's own instructions."""
    root = tmp_path_factory.mktemp("image")
    _, stages = parse_dockerfile((APP_DIR / "Dockerfile").read_text())
    env = {"HOME": str(root / "home"), "PIP_CACHE_DIR": str(root / "pip-cache"), "PATH": os.environ["PATH"]}
    started = time.monotonic()
    venv, _ = replay_builder(stages[0], context=APP_DIR, work=root, python_dir=Path(sys.executable).parent, env=env)
    seconds = time.monotonic() - started
    print(f"\nfresh image-like venv built in {seconds:.1f} s")
    workdir, tmp = root / "workdir", root / "tmp"
    workdir.mkdir()
    tmp.mkdir()
    return ImageVenv(venv=venv, workdir=workdir, tmp=tmp, install_seconds=seconds)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str, timeout: float = 3.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@contextlib.contextmanager
def _serving(image: ImageVenv, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``app serve`` as the container runs it; killed (whole process group) on the way out whatever happens."""
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - the venv's own console script, fixed argv
            [str(image.bin / "app"), "serve"],
            cwd=image.workdir,
            env=image.env(PORT=str(port)),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`app serve` exited {proc.returncode} before /healthz answered:\n{log.read_text()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if _get(port, "/healthz", timeout=1)[0] == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"/healthz did not answer 200 within 15 s:\n{log.read_text()}")
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _refused_soon(port: int, within: float = 5.0) -> bool:
    """True once a new connection to the port is refused (the listener is closed), polling for ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
        except ConnectionRefusedError:
            return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def _read_response(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_installed_like_the_image_non_editable_with_bytecode(image_venv: ImageVenv) -> None:
    out = _run(
        [
            str(image_venv.bin / "python"),
            "-c",
            "import pathlib, slipway_app; print(pathlib.Path(slipway_app.__file__).resolve().parent)",
        ],
        timeout=60,
        env=image_venv.env(),
        cwd=image_venv.workdir,
    ).stdout.strip()
    package = Path(out)
    assert package.is_relative_to(image_venv.venv.resolve()), f"slipway_app imported from {package}, not the venv"
    assert (image_venv.bin / "app").is_file() and (image_venv.bin / "gunicorn").is_file()
    bundle = package / "certs" / "rds-ca-bundle.pem"
    assert bundle.is_file() and bundle.read_bytes().count(b"BEGIN CERTIFICATE") > 50, "verify-full needs the RDS CAs"
    sources = [p for p in package.rglob("*.py")]
    assert sources
    tag = sys.implementation.cache_tag
    missing = [p for p in sources if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").is_file()]
    assert not missing, f"not byte-compiled at build time: {missing[:5]}"


def test_sigterm_drains_in_flight_request_then_exits_zero(image_venv: ImageVenv, tmp_path: Path) -> None:
    env = image_venv.env()
    before = _snapshot(image_venv.venv)
    _run([str(image_venv.bin / "app"), "migrate"], timeout=120, env=env, cwd=image_venv.workdir)
    _run([str(image_venv.bin / "app"), "check"], timeout=120, env=env, cwd=image_venv.workdir)
    port = _free_port()
    log = tmp_path / "serve.log"
    with _serving(image_venv, port, log) as proc:
        assert _get(port, "/readyz")[0] == 200, log.read_text()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        conn.request("GET", "/healthz")
        served = conn.getresponse()
        served.read()
        conn.close()
        assert served.getheader("server") is None, "the server banner (uvicorn) must not be sent"
        assert served.getheader("x-content-type-options") == "nosniff" and served.getheader("x-request-id")

        body = json.dumps({"title": "slow", "body": "sent in two halves around SIGTERM"}).encode()
        # Expect: 100-continue makes the server say when the app starts reading the body: from then on the request
        # is certainly in flight (headers parsed, endpoint running), whatever the machine's load.
        head = (
            f"POST /api/notes HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        ).encode()
        half = len(body) // 2
        with socket.create_connection(("127.0.0.1", port), timeout=GRACEFUL_TIMEOUT + 5) as client:
            client.sendall(head)
            interim = b""
            while b"\r\n\r\n" not in interim:
                chunk = client.recv(1)
                assert chunk, f"connection closed before 100 Continue:\n{log.read_text()}"
                interim += chunk
            assert interim.startswith(b"HTTP/1.1 100"), interim
            client.sendall(body[:half])
            time.sleep(0.2)
            signalled = time.monotonic()
            os.kill(proc.pid, signal.SIGTERM)  # what the ECS init process forwards to the container's command
            time.sleep(1.0)
            assert proc.poll() is None, f"`app serve` exited before the in-flight request finished:\n{log.read_text()}"
            assert _refused_soon(port), "new connections still accepted while draining (listener not closed)"
            client.sendall(body[half:])
            response = _read_response(client)
        answered = time.monotonic() - signalled
        status_line = response.split(b"\r\n", 1)[0].decode(errors="replace")
        assert status_line.split()[1:2] == ["201"], f"in-flight request got {status_line!r}:\n{log.read_text()}"
        note = json.loads(response.split(b"\r\n\r\n", 1)[1] or b"{}")
        assert note.get("title") == "slow"

        try:
            code = proc.wait(timeout=GRACEFUL_TIMEOUT + 5)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`app serve` still running {GRACEFUL_TIMEOUT + 5:.0f} s after SIGTERM:\n{log.read_text()}")
        exited = time.monotonic() - signalled
        print(
            f"\nSIGTERM -> in-flight response after {answered:.2f} s (1 s of it waiting on purpose), "
            f"process exit after {exited:.2f} s"
        )
        assert code == 0, f"`app serve` exited {code} after SIGTERM:\n{log.read_text()}"
        assert exited < GRACEFUL_TIMEOUT, f"shutdown took {exited:.1f} s, not within graceful_timeout"
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    assert _snapshot(image_venv.venv) == before, "the app wrote into its install tree (read-only in the image)"
    assert not any(image_venv.workdir.iterdir()), "the app wrote into its working directory (read-only in the image)"


# -- docker compose ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def test_compose_runs_migrate_to_completion_before_the_app(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"db", "migrate", "app"}
    db, migrate, app = services["db"], services["migrate"], services["app"]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert migrate["command"] == ["app", "migrate"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app.get("command", ["app", "serve"]) == ["app", "serve"]
    assert migrate.get("restart", "no") == "no", "a one-shot migration must not restart"
    assert migrate["image"] == app["image"] and "build" in app, "migrate and app run the same image built from app/"
    assert app["build"]["context"] == "." and app["build"].get("dockerfile", "Dockerfile") == "Dockerfile"


def test_compose_mirrors_the_ecs_runtime_contract(compose: dict[str, Any]) -> None:
    from slipway_aws.containers import APP_USER, STOP_TIMEOUT_SECONDS

    for name in ("migrate", "app"):
        service = compose["services"][name]
        assert service["user"] == APP_USER, name
        assert service["read_only"] is True, name
        tmpfs = service["tmpfs"]
        mounts = [tmpfs] if isinstance(tmpfs, str) else [t.split(":")[0] for t in tmpfs]
        assert "/tmp" in mounts, name  # nosec B108 - asserts the compose file's tmpfs mount point, creates nothing
        assert service.get("init") is True, f"{name}: ECS runs an init process (initProcessEnabled)"
    app = compose["services"]["app"]
    assert app["stop_grace_period"] == f"{STOP_TIMEOUT_SECONDS}s"
    assert app.get("stop_signal", "SIGTERM") == "SIGTERM"
    assert "8000:8000" in [str(p) for p in app["ports"]]


def test_compose_environment_matches_the_app_settings_and_the_database(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    env, db_env = services["app"]["environment"], services["db"]["environment"]
    assert services["migrate"]["environment"] == env
    assert env["APP_ENV"] == "local" and env["DB_SSLMODE"] == "disable"
    assert env["DB_HOST"] == "db" and str(env["DB_PORT"]) == "5432"
    assert (env["DB_NAME"], env["DB_USER"], env["DB_PASSWORD"]) == (
        db_env["POSTGRES_DB"],
        db_env["POSTGRES_USER"],
        db_env["POSTGRES_PASSWORD"],
    )
    assert "local" in env["SECRET_KEY"] and "local" in env["DB_PASSWORD"], "dev secrets must say they are local-only"
    assert "LOCAL ONLY" in COMPOSE.read_text()

    from slipway_app.settings import Settings, load_settings

    unknown = {key.lower() for key in env} - set(Settings.model_fields)
    assert not unknown, f"compose sets variables the app does not read: {sorted(unknown)}"
    for key in list(os.environ):
        if key.lower() in Settings.model_fields:
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    settings = load_settings(env_file=None)
    assert settings.is_postgres
    assert settings.sqlalchemy_url().query.get("sslmode") == "disable"
