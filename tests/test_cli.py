"""The `slipway` command on any team's project: project discovery as the Pulumi CLI does it, --cwd on every command,
complete --help, --version, a quiet closed pipe, and type names as Pulumi spells them.

The team's project is a 6-line program using ``WebApp`` in a scratch folder, in eu-central-1 (built once per module).
Commands run in-process through ``plan.main``; only the closed-pipe test needs a real process and pipe.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from slipway import plan
from slipway.offline import StackFileError, find_project

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = """\
import pulumi
from slipway_aws import WebApp, WebAppArgs

config = pulumi.Config()
app = WebApp("acme", WebAppArgs(image_uri=config.require("imageUri"), profile=config.require("profile")))
pulumi.export("url", app.url)
"""
DIGEST = "sha256:" + "4f9c1e2d3b4a5968778695a4b3c2d1e0f9e8d7c6b5a4938271605f4e3d2c1b0a"
STACK = f"""\
config:
  aws:region: eu-central-1
  acme:profile: dev
  acme:imageUri: 210987654321.dkr.ecr.eu-central-1.amazonaws.com/acme@{DIGEST}
"""


def team_project(directory: Path) -> Path:
    """A reusing team's project: its own Pulumi.yaml, stack file and a program of at most 15 lines."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text("name: acme\nruntime: python\n")
    (directory / "Pulumi.dev.yaml").write_text(STACK)
    (directory / "__main__.py").write_text(PROGRAM)
    (directory / "src" / "deep").mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return team_project(tmp_path_factory.mktemp("team") / "acme")


def run(argv: list[str], cwd: Path | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = plan.main([*argv, *(["--cwd", str(cwd)] if cwd else [])], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_the_program_is_at_most_15_lines() -> None:
    assert len(PROGRAM.splitlines()) <= 15


def test_find_project_walks_up_to_the_nearest_pulumi_yaml(project: Path, tmp_path: Path) -> None:
    assert find_project(project / "src" / "deep") == project.resolve()
    assert find_project(ROOT / "slipway") == ROOT
    assert find_project(ROOT / "examples" / "reuse") == ROOT / "examples" / "reuse"  # the nearest one wins
    with pytest.raises(StackFileError, match=f"no Pulumi.yaml in {tmp_path} or any directory above it"):
        find_project(tmp_path)


def test_plan_from_a_subdirectory_of_a_team_project_names_its_resources_and_prices_eu_central_1(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "src" / "deep")  # no --cwd: found as the Pulumi CLI finds it
    code, out, err = run(["plan", "--stack", "dev"])
    assert code == 0, err
    assert "stack dev:" in out and "acme-dev-web-alb" in out and "slipway-dev" not in out
    assert "estimated monthly cost, stack dev (eu-central-1): $" in out  # the default plan shows the cost
    assert "acme-dev-dashboard       $3.00" in out  # an all-regions rate
    assert "unpriced resource(s), listed below" in out  # each figure eu-central-1's table lacks is named
    assert "acme-dev-web-service  aws:ecs/service:Service: prices.json has no eu-central-1 price for fargate_" in out


def test_deploy_policy_and_cost_with_cwd_name_the_teams_resources(project: Path) -> None:
    code, out, err = run(["deploy-policy", "--stack", "dev"], cwd=project)
    assert code == 0, err
    assert "acme-dev-" in out and "slipway-dev-" not in out and "eu-central-1" in out
    code, out, err = run(["plan", "--stack", "dev", "--json", "--cost"], cwd=project)
    assert code == 0 and out.lstrip().startswith("{")
    assert "estimated monthly cost, stack dev (eu-central-1)" in err


@pytest.mark.parametrize("command", ["plan", "deploy-policy", "drill"])
def test_outside_any_project_every_command_names_the_directory_searched(command: str, tmp_path: Path) -> None:
    code, out, err = run([command, "--stack", "dev"], cwd=tmp_path)
    assert code == 2 and out == ""
    assert f"error: no Pulumi project: no Pulumi.yaml in {tmp_path.resolve()} or any directory above it" in err
    assert "Traceback" not in err


def test_a_missing_stack_file_names_the_project_and_its_stacks(project: Path) -> None:
    code, _, err = run(["plan", "--stack", "qa"], cwd=project)
    assert code == 2 and f"no stack file Pulumi.qa.yaml in project {project.resolve()}; known stacks: dev" in err


def test_cwd_is_accepted_before_and_after_every_command(project: Path) -> None:
    parser = plan.build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(commands) == set(COMMANDS)
    for name in ("plan", "deploy-policy", "schema", "drill"):
        assert parser.parse_args([name, "--cwd", "x", *(["--stack", "s"] if name != "schema" else [])]).cwd == Path("x")
    assert parser.parse_args(["--cwd", "y", "schema"]).cwd == Path("y")
    assert all("--cwd" in commands[name]._option_string_actions for name in commands)


COMMANDS = ["plan", "deploy-policy", "schema", "drill", "logs", "status", "exec", "run", "rollback", "import"]


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help_describes_every_command_in_whole_sentences(command: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as done:
        plan.build_parser().parse_args([*command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    description = text.split("\n\n")[1]  # argparse: usage, blank line, description
    assert description.strip().endswith("."), description  # a whole sentence, not cut at a line
    assert "--cwd" in text
    if not command:
        assert all(name in text for name in (*COMMANDS, "--version"))


def test_version(capsys: pytest.CaptureFixture) -> None:
    from importlib import metadata

    with pytest.raises(SystemExit) as done:
        plan.build_parser().parse_args(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"slipway {metadata.version('slipway-aws')}\n"


def test_the_tree_spells_types_as_pulumi_and_transforms_do() -> None:
    code, out, _ = run(["plan", "--stack", "dev"], cwd=ROOT)
    assert code == 0
    assert "aws:lb/loadBalancer:LoadBalancer" in out and "aws:ecs/service:Service" in out
    assert "aws:lb:LoadBalancer" not in out and "aws:ecs:Service" not in out


def test_a_closed_pipe_ends_quietly() -> None:
    """`slipway plan | head -1`: the JSON plan (~100 KB, more than a pipe holds) meets a reader that has gone."""
    done = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m slipway plan --stack dev --json | head -1; exit "${{PIPESTATUS[0]}}"'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout == "{\n"
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == 141


def test_main_in_pulumi_yaml_names_the_program_directory(tmp_path: Path) -> None:
    """`main: src/` as the Python language host reads it: the program is src/__main__.py, run from src/."""
    from slipway.offline import run_stack

    (tmp_path / "Pulumi.yaml").write_text("name: tiny\nruntime: python\nmain: src/\n")
    (tmp_path / "Pulumi.s.yaml").write_text("config:\n  aws:region: eu-central-1\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "here.txt").write_text("from src")
    (tmp_path / "src" / "__main__.py").write_text("import pulumi\npulumi.export('read', open('here.txt').read())\n")
    assert run_stack("s", root=tmp_path).outputs == {"read": "from src"}


def test_drill_scopes_to_the_programs_webapp_when_the_stack_file_names_no_app(project: Path) -> None:
    from slipway import drill
    from slipway.offline import load_config

    with plan.working_directory(project):
        config = drill._app_name("dev", load_config("dev")[1])
    assert config["slipway:appName"] == "acme"
    assert drill._app_name("dev", {"slipway:appName": "given"}) == {"slipway:appName": "given"}
