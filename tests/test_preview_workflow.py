"""The live-preview workflow (.github/workflows/preview-env.yml) and its teardown script: create, comment, update,
destroy; the janitor, the cap, fork PRs refused. actionlint and zizmor run on it in tests/test_workflows.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "preview-env.yml"
TEARDOWN = ROOT / "deploy" / "preview-teardown.sh"
SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository"


@pytest.fixture(scope="module")
def wf() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def _on(wf: dict[Any, Any]) -> dict[str, Any]:
    return wf.get("on", wf.get(True))  # PyYAML reads the key `on` as True


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def _index(job: dict[str, Any], needle: str) -> int:
    for i, step in enumerate(_steps(job)):
        if needle in str(step.get("run", "")) or needle in str(step.get("with", {}).get("script", "")):
            return i
    raise AssertionError(f"no step runs {needle!r}")


def teardown_problems(wf: dict[str, Any], script: str) -> list[str]:
    """What a preview's removal is missing: run on close and by the janitor, drop, destroy, stack rm, in order."""
    problems = []
    for job in ("teardown", "janitor"):
        runs = "\n".join(str(s.get("run", "")) for s in wf["jobs"].get(job, {}).get("steps", []))
        if "deploy/preview-teardown.sh" not in runs:
            problems.append(f"job {job} does not run deploy/preview-teardown.sh")
    order = ("stepfunctions start-execution", "pulumi destroy", "pulumi stack rm")
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    positions = [code.find(s) for s in order]
    if -1 in positions or positions != sorted(positions):
        problems.append(f"the script must {', then '.join(order)}")
    return problems


def test_triggers_cover_open_push_close_and_the_janitor_schedule(wf: dict[str, Any]) -> None:
    on = _on(wf)
    assert set(on["pull_request"]["types"]) >= {"opened", "synchronize", "reopened", "closed"}
    assert on["schedule"], "the janitor runs on a schedule"


def test_deploy_gates_on_the_offline_plan_then_ups_then_comments_once(wf: dict[str, Any]) -> None:
    job = wf["jobs"]["deploy"]
    assert SAME_REPO in job["if"] and "action != 'closed'" in job["if"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}, "the PR's code gets no comment token"
    plan, cap, up = _index(job, "slipway plan --stack"), _index(job, "MAX_PREVIEWS"), _index(job, "pulumi up")
    assert plan < cap < up
    assert "--policy-pack policy" in _steps(job)[up]["run"]
    commenter = wf["jobs"]["comment"]
    assert commenter["needs"] == "deploy" and not any("run" in s for s in _steps(commenter))
    comment = _index(commenter, "updateComment")
    script = _steps(commenter)[comment]["with"]["script"]
    assert "includes(marker)" in script and "createComment" in script
    assert "${{" not in script, "values reach the script through env, never expressions (injection)"
    env = _steps(commenter)[comment]["env"]
    assert {"URL", "IMAGE", "HOURLY"} <= set(env), "the comment shows the URL, the image digest and cost per hour"


def test_the_cap_refuses_a_new_preview_with_a_clear_message(wf: dict[str, Any]) -> None:
    cap = _steps(wf["jobs"]["deploy"])[_index(wf["jobs"]["deploy"], "MAX_PREVIEWS")]["run"]
    assert "exit 1" in cap and "::error::" in cap and "close a pull request or raise the cap" in cap
    assert "MAX_PREVIEWS" in wf["env"]


def test_fork_pull_requests_never_deploy(wf: dict[str, Any]) -> None:
    for name in ("deploy", "teardown"):
        assert SAME_REPO in wf["jobs"][name]["if"]
    assert "!= github.repository" in wf["jobs"]["refuse-fork"]["if"]


def test_teardown_and_janitor_drop_destroy_and_remove(wf: dict[str, Any]) -> None:
    assert teardown_problems(wf, TEARDOWN.read_text()) == []
    assert "action == 'closed'" in wf["jobs"]["teardown"]["if"]
    janitor = "\n".join(str(s.get("run", "")) for s in _steps(wf["jobs"]["janitor"]))
    assert "IDLE_HOURS" in janitor and '"OPEN"' in janitor


def test_a_missing_teardown_step_is_caught(wf: dict[str, Any]) -> None:
    broken = yaml.safe_load(WORKFLOW.read_text())
    broken["jobs"]["teardown"]["steps"] = [
        s for s in broken["jobs"]["teardown"]["steps"] if "preview-teardown" not in str(s.get("run", ""))
    ]
    assert teardown_problems(broken, TEARDOWN.read_text())
    assert teardown_problems(wf, TEARDOWN.read_text().replace("pulumi stack rm", "true"))


MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:slipway-dev-preview-db"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:slipway-dev-preview-db:drop-pr-42"
FAKE = """#!/usr/bin/env bash
printf '%s\\n' "$(basename "$0") $*" >> "$CALLS"
case "$(basename "$0") $1 $2" in
  "pulumi stack output") [ -n "$NO_STACK" ] && exit 255; printf '{"database_admin": "%s"}\n' "$MACHINE" ;;
  "aws stepfunctions start-execution") echo "$EXECUTION" ;;
  "aws stepfunctions describe-execution") echo "$STATUS" ;;
esac
"""


def _run_teardown(tmp_path: Path, status: str, **extra: str) -> tuple[int, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("pulumi", "aws"):
        (bin_dir / tool).write_text(FAKE)
        (bin_dir / tool).chmod(0o755)
    calls = tmp_path / "calls"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "STATUS": status,
        "MACHINE": MACHINE,
        "EXECUTION": EXECUTION,
        **extra,
    }
    proc = subprocess.run([str(TEARDOWN), "pr-42"], env=env, capture_output=True, text=True, timeout=30)
    return proc.returncode, calls.read_text().splitlines() if calls.exists() else []


def test_teardown_script_drops_the_database_then_destroys_then_removes_the_stack(tmp_path: Path) -> None:
    """The drop is an execution of dev's state machine (the preview's `database_admin` output) with the input its
    Choice states accept (tests/test_preview_db.py), waited for, before anything is destroyed."""
    code, calls = _run_teardown(tmp_path, "SUCCEEDED")
    assert code == 0
    start = next(c for c in calls if c.startswith("aws stepfunctions start-execution"))
    assert f"--state-machine-arn {MACHINE}" in start and '--input {"action":"drop","pr":42}' in start
    assert f"aws stepfunctions describe-execution --execution-arn {EXECUTION} --query status --output text" in calls
    assert not any(c.startswith("aws ecs") for c in calls), "the preview runs no task of its own"
    assert calls.index(start) < calls.index("pulumi destroy --yes --stack pr-42 --non-interactive")
    assert calls[-1] == "pulumi stack rm --yes --stack pr-42 --non-interactive"


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
def test_a_failed_drop_keeps_the_stack(tmp_path: Path, status: str) -> None:
    code, calls = _run_teardown(tmp_path, status)
    assert code == 1
    assert not any(c.startswith("pulumi destroy") for c in calls)


def test_a_pr_refused_before_its_first_up_still_has_its_early_database_dropped(tmp_path: Path) -> None:
    """preview-env.yml starts the database beside the install; a PR then refused by the plan gate or the cap has
    no stack: the teardown drops through the machine the workflow knows and destroys nothing."""
    code, calls = _run_teardown(tmp_path, "SUCCEEDED", NO_STACK="1", SLIPWAY_PREVIEW_DB_STATE_MACHINE_ARN=MACHINE)
    assert code == 0
    assert any(c.startswith(f"aws stepfunctions start-execution --state-machine-arn {MACHINE}") for c in calls)
    assert not any(c.startswith(("pulumi destroy", "pulumi stack rm")) for c in calls)
    (tmp_path / "none").mkdir()
    code, calls = _run_teardown(tmp_path / "none", "SUCCEEDED", NO_STACK="1")
    assert code == 0 and not any(c.startswith("aws") for c in calls)


def test_teardown_refuses_a_stack_that_is_not_a_preview(tmp_path: Path) -> None:
    proc = subprocess.run([str(TEARDOWN), "dev"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "not a preview stack" in proc.stderr
