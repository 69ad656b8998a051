"""The installable library: `pip install <repo>` into a fresh virtualenv gives `slipway_aws` and the `slipway` command.

One fresh venv per session (about 10 s): the repository's packaged directories are copied to a scratch directory
(building in place would write build/ and *.egg-info into the checkout) and installed with
``--no-deps --no-build-isolation``; the dependencies come from this repository's venv through a ``.pth`` file, so
nothing is downloaded. Everything then runs from a scratch working directory, where ``components`` and the
repository's ``slipway/`` are not importable.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = ("pyproject.toml", "README.md", "CHANGELOG.md", "components", "slipway", "policy")


class Venv:
    def __init__(self, path: Path, workdir: Path, install_seconds: float) -> None:
        self.path, self.workdir, self.install_seconds = path, workdir, install_seconds
        self.python = path / "bin" / "python"

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            cwd=cwd or self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": f"{self.path / 'bin'}:/usr/bin:/bin", "HOME": str(self.workdir), "NO_COLOR": "1"},
        )

    def py(self, code: str) -> str:
        done = self.run(str(self.python), "-c", code)
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    base = tmp_path_factory.mktemp("pkg")
    source, env, work = base / "src", base / "venv", base / "work"
    source.mkdir()
    work.mkdir()
    for name in PACKAGED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, source / name)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    purelib = Path(sysconfig.get_paths()["purelib"])  # this venv's site-packages: pulumi, setuptools, ...
    site = next((env / "lib").glob("python3.*/site-packages"))
    (site / "deps.pth").write_text(f"{purelib}\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(env / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-cache-dir",
            str(source),
        ],
        check=True,
        cwd=work,
        capture_output=True,
    )
    return Venv(env, work, time.monotonic() - started)


def test_installs_the_components_under_a_distinct_name_and_nothing_else(venv: Venv) -> None:
    found = json.loads(
        venv.py(
            "import importlib.util, json, slipway_aws, slipway;"
            "print(json.dumps({n: importlib.util.find_spec(n) is not None for n in"
            " ('slipway_aws', 'slipway', 'slipway_policy', 'components', 'policy', 'app', 'slipway_app_x')}"
            " | {'file': slipway_aws.__file__, 'version': slipway_aws.__version__}))"
        )
    )
    assert found["slipway_aws"] and found["slipway"] and found["slipway_policy"]
    assert not found["components"] and not found["policy"] and not found["app"]
    assert found["file"].startswith(str(venv.path)), found["file"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert found["version"].startswith("0.")
    assert f"## {found['version']}" in (ROOT / "CHANGELOG.md").read_text()
    assert project["name"] == "slipway-aws"


def test_heavy_dependencies_load_only_where_used(venv: Venv) -> None:
    heavy = ("pulumi_docker", "pulumi_tls", "boto3", "botocore")
    loaded = venv.py(
        f"import sys; from slipway_aws import Network, NetworkArgs, Database;"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    assert loaded.strip() == "[]"
    loaded = venv.py("import sys; from slipway_aws import AppImage; print('pulumi_docker' in sys.modules)")
    assert loaded.strip() == "True"


def test_slipway_command_is_installed(venv: Venv) -> None:
    done = venv.run(str(venv.path / "bin" / "slipway"), "plan", "--help")
    assert done.returncode == 0, done.stderr
    assert "--stack" in done.stdout


def test_installed_command_plans_another_teams_project(venv: Venv) -> None:
    project = venv.workdir / "reuse"
    if not project.exists():
        shutil.copytree(ROOT / "examples" / "reuse", project)
    done = venv.run(str(venv.path / "bin" / "slipway"), "plan", "--cwd", str(project), "--stack", "dev", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert len(doc["resources"]) >= 30
    assert all(r["name"].startswith("shop") for r in doc["resources"])


def test_installed_command_prints_the_package_schema(venv: Venv) -> None:
    done = venv.run(str(venv.path / "bin" / "slipway"), "schema")
    assert done.returncode == 0, done.stderr
    resources = json.loads(done.stdout)["resources"]
    assert len(resources) >= 10 and all(spec.get("description") for spec in resources.values())


def test_installed_command_runs_a_fresh_folder_project_without_cwd(venv: Venv) -> None:
    """The issue's scenario: `pip install <repo>`, a team's own folder with a program of at most 15 lines using
    WebApp and its own stack files; `slipway plan --stack dev [--cost]` and `slipway deploy-policy --stack dev` run
    there (from a subdirectory: the project is found as the Pulumi CLI finds it) and name the team's resources."""
    from tests.test_cli import PROGRAM, team_project

    project = team_project(venv.workdir / "acme")
    slipway = str(venv.path / "bin" / "slipway")
    planned = venv.run(slipway, "plan", "--stack", "dev", "--cost", cwd=project / "src")
    assert planned.returncode == 0, planned.stderr
    assert "acme-dev-web-alb" in planned.stdout and "slipway-dev" not in planned.stdout
    assert "estimated monthly cost, stack dev (eu-central-1)" in planned.stdout
    policy = venv.run(slipway, "deploy-policy", "--stack", "dev", cwd=project)
    assert policy.returncode == 0, policy.stderr
    assert "acme-dev-" in policy.stdout and "slipway-dev-" not in policy.stdout
    assert len(PROGRAM.splitlines()) <= 15


def test_the_repository_venv_is_an_editable_install_without_an_import_hook() -> None:
    """`make plan` installs this repository editable: the `slipway` command exists and `slipway_aws` is the checkout's
    components/ under one name only (no `components` module, so one ArgsError class), with no alias hook."""
    code = (
        "import json, sys, slipway_aws, slipway_policy, slipway.offline as o;"
        "g = o.run_stack('dev');"
        "print(json.dumps({'aws': slipway_aws.__file__, 'policy': slipway_policy.__file__,"
        " 'loaded': sorted(m for m in sys.modules if m.split('.')[0] in ('components', 'policy')),"
        " 'hooks': [type(f).__name__ for f in sys.meta_path if 'Alias' in type(f).__name__]}))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["aws"] == str(ROOT / "components" / "__init__.py")
    assert found["policy"] == str(ROOT / "policy" / "__init__.py")
    assert found["loaded"] == [] and found["hooks"] == []
    assert (Path(sys.executable).parent / "slipway").exists()
    assert "-e ." in (ROOT / "Makefile").read_text()


def test_nothing_imports_the_checkout_directory_names() -> None:
    """`components` and `policy` are directories, not import names: everything imports slipway_aws/slipway_policy."""
    import re

    pattern = re.compile(r"^\s*(from|import)\s+(components|policy)\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("components", "slipway", "policy", "tests", "app/tests", "bench", "examples", "provider")
        for path in (ROOT / folder).rglob("*.py")
        if pattern.search(path.read_text())
    ] + (["__main__.py"] if pattern.search((ROOT / "__main__.py").read_text()) else [])
    assert offenders == []


def test_the_plugin_serves_the_same_schema_over_grpc(venv: Venv) -> None:
    """provider/__main__.py as the engine runs it (installed library, an engine address argument): the SDK's
    component_provider_host answers GetSchema with exactly what `slipway schema` prints."""
    import grpc
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    host = subprocess.Popen(
        [str(venv.python), str(ROOT / "provider" / "__main__.py"), "127.0.0.1:1"],
        cwd=venv.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": f"{venv.path / 'bin'}:/usr/bin:/bin", "HOME": str(venv.workdir)},
    )
    try:
        assert host.stdout is not None
        port = int(host.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            served = json.loads(stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30).schema)
    finally:
        host.terminate()
        host.wait(timeout=30)
    printed = json.loads(venv.run(str(venv.path / "bin" / "slipway"), "schema").stdout)
    assert served == printed and len(served["resources"]) >= 10
