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


def test_install_takes_under_a_minute(venv: Venv) -> None:
    assert venv.install_seconds < 60, venv.install_seconds


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


def test_in_a_checkout_the_installed_name_is_the_same_modules_as_components() -> None:
    """One copy of every module: the program imports ``components``, the tooling ``slipway_aws``; an ``ArgsError``
    raised by one is caught as the other's, and the offline engine's ECR stub reaches the program."""
    code = (
        "import slipway, components.validation as a, slipway_aws.validation as b, slipway_aws, components;"
        "import slipway_aws.image as i, components.image as j;"
        "assert a is b and i is j and slipway_aws is components and a.ArgsError is b.ArgsError;"
        "assert slipway_aws.__name__ == 'components'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


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
