"""The gates' dynamic providers: what re-runs a migration, what they pass to ecs_runner, and how failures surface."""

from __future__ import annotations

import base64
from typing import Any

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc

from slipway_aws import ecs_runner, gates
from slipway_aws.ecs_runner import RolloutFailedError, TaskFailedError, TaskResult, TaskStartError

DIGEST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/slipway-dev@sha256:" + "a" * 64
TASK_DEF = "arn:aws:ecs:eu-west-1:123456789012:task-definition/slipway-dev-migrate:7"
TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/slipway-dev/0f3c"


def migration_props(**changes: Any) -> dict[str, Any]:
    props = {
        "cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/slipway-dev",
        "task_definition": TASK_DEF,
        "container_name": "migrate",
        "subnets": ["subnet-1", "subnet-2"],
        "security_groups": ["sg-m", "sg-db"],
        "assign_public_ip": True,
        "log_group": "/slipway/dev/app",
        "log_stream_prefix": "migrate",
        "region": "eu-west-1",
        "image_digest": DIGEST,
        "timeout_s": 900,
        "task_arn": None,
        "exit_code": None,
        "__provider": "serialized",
    }
    props.update(changes)
    return props


class Recorder:
    def __init__(self, result: Any = None, error: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.result, self.error = result, error

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return self.result


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder(
        TaskResult(
            task_arn=TASK_ARN,
            exit_code=0,
            stop_reason="EssentialContainerExited",
            log_tail=["INFO upgrade"],
            console_url="https://console",
            duration_s=41.26,
        )
    )
    monkeypatch.setattr(ecs_runner, "run_one_off_task", rec)
    return rec


@pytest.mark.parametrize(
    ("key", "value", "reruns"),
    [
        ("image_digest", DIGEST.replace("a" * 64, "b" * 64), True),
        ("task_definition", TASK_DEF.replace(":7", ":8"), True),
        ("image_digest", rpc.UNKNOWN, True),  # preview: a digest not known yet will change
        ("subnets", ["subnet-3"], False),
        ("security_groups", ["sg-other"], False),
        ("timeout_s", 1800, False),
        ("log_group", "/slipway/dev/other", False),
        ("assign_public_ip", False, False),
        ("__provider", "re-serialized", False),
    ],
)
def test_migration_diff_reruns_only_on_digest_or_task_definition(key: str, value: Any, reruns: bool) -> None:
    olds = {**migration_props(), "task_arn": TASK_ARN, "exit_code": 0}
    diff = gates.MigrationGateProvider().diff("migration-0f3c", olds, migration_props(**{key: value}))
    assert diff.changes is reruns and diff.replaces == []


def test_migration_diff_sees_no_change_for_identical_inputs() -> None:
    diff = gates.MigrationGateProvider().diff("id", migration_props(), migration_props())
    assert diff.changes is False


def test_create_runs_the_task_with_the_gate_inputs_and_records_the_result(runner: Recorder) -> None:
    result = gates.MigrationGateProvider().create(migration_props())
    (call,) = runner.calls
    assert call == {
        "cluster": migration_props()["cluster"],
        "task_definition": TASK_DEF,
        "container_name": "migrate",
        "subnets": ["subnet-1", "subnet-2"],
        "security_groups": ["sg-m", "sg-db"],
        "assign_public_ip": True,
        "log_group": "/slipway/dev/app",
        "log_stream_prefix": "migrate",
        "region": "eu-west-1",
        "timeout_s": 900.0,
        "started_by": "slipway-migration-gate",
        "profile": None,
    }
    assert result.id == "migration-0f3c"
    assert result.outs["task_arn"] == TASK_ARN and result.outs["exit_code"] == 0
    assert result.outs["duration_s"] == 41.3 and result.outs["image_digest"] == DIGEST
    assert "__provider" not in result.outs, "the provider key is added back by Pulumi, not by us"


def test_update_runs_the_new_task_definition(runner: Recorder) -> None:
    news = migration_props(task_definition=TASK_DEF.replace(":7", ":8"))
    out = gates.MigrationGateProvider().update("migration-0f3c", migration_props(), news)
    assert runner.calls[0]["task_definition"].endswith(":8") and out.outs["task_definition"].endswith(":8")


def test_failed_migration_fails_the_update_with_the_log_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    failed = TaskResult(
        task_arn=TASK_ARN,
        exit_code=1,
        stop_reason="EssentialContainerExited",
        log_tail=["alembic.util.exc.CommandError: Can't locate revision 0009"],
        console_url="https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/x/tasks/0f3c",
    )
    monkeypatch.setattr(ecs_runner, "run_one_off_task", Recorder(failed))
    with pytest.raises(TaskFailedError) as err:
        gates.MigrationGateProvider().create(migration_props())
    assert "exit code: 1" in str(err.value) and "Can't locate revision 0009" in str(err.value)
    assert "console.aws.amazon.com" in str(err.value)


def test_start_errors_propagate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ecs_runner, "run_one_off_task", Recorder(error=TaskStartError("RESOURCE:ENI")))
    with pytest.raises(TaskStartError, match="RESOURCE:ENI"):
        gates.MigrationGateProvider().update("id", migration_props(), migration_props(image_digest=DIGEST + "0"))


def test_delete_never_touches_aws(runner: Recorder) -> None:
    gates.MigrationGateProvider().delete("migration-0f3c", migration_props())
    assert runner.calls == []


def test_check_reports_missing_and_unpinned_inputs_but_tolerates_unknowns() -> None:
    provider = gates.MigrationGateProvider()
    assert provider.check({}, migration_props()).failures == []
    assert provider.check({}, migration_props(subnets=rpc.UNKNOWN, task_definition=rpc.UNKNOWN)).failures == []
    failures = provider.check({}, migration_props(subnets=[], image_digest="repo:latest", timeout_s=5)).failures
    assert {f.property for f in failures} == {"subnets", "image_digest", "timeout_s"}
    assert any("sha256" in f.reason for f in failures)


def rollout_props(**changes: Any) -> dict[str, Any]:
    props = {
        "cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/slipway-dev",
        "service": "slipway-dev-web",
        "task_definition": TASK_DEF.replace("migrate", "web"),
        "region": "eu-west-1",
        "timeout_s": 1800,
        "deployment_id": None,
        "running_count": None,
    }
    props.update(changes)
    return props


@pytest.mark.parametrize(
    ("key", "value", "waits"),
    [
        ("task_definition", TASK_DEF.replace(":7", ":9"), True),
        ("service", "other", True),
        ("timeout_s", 600, False),
        ("region", "eu-west-1", False),
    ],
)
def test_rollout_diff_waits_again_only_for_a_new_task_definition_or_service(key: str, value: Any, waits: bool) -> None:
    diff = gates.RolloutCheckProvider().diff("rollout-1", rollout_props(), rollout_props(**{key: value}))
    assert diff.changes is waits


def test_rollout_check_waits_for_the_task_definition_and_surfaces_a_rollback(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder({"id": "ecs-svc/123", "runningCount": 2})
    monkeypatch.setattr(ecs_runner, "wait_for_rollout", rec)
    out = gates.RolloutCheckProvider().create(rollout_props())
    assert rec.calls == [
        {
            "cluster": rollout_props()["cluster"],
            "service": "slipway-dev-web",
            "task_definition": rollout_props()["task_definition"],
            "region": "eu-west-1",
            "timeout_s": 1800.0,
            "profile": None,
        }
    ]
    assert out.id == "rollout-ecs-svc/123" and out.outs["running_count"] == 2
    monkeypatch.setattr(ecs_runner, "wait_for_rollout", Recorder(error=RolloutFailedError("was rolled back")))
    with pytest.raises(RolloutFailedError, match="rolled back"):
        gates.RolloutCheckProvider().update("rollout-1", rollout_props(), rollout_props(task_definition="td:10"))


def test_providers_serialize_by_reference_so_state_stays_small() -> None:
    """Pulumi stores the dill-pickled provider in state; by reference it is small and carries no captured values."""
    for provider in (gates.MigrationGateProvider(), gates.RolloutCheckProvider(), gates.PreviewDatabaseGateProvider()):
        blob = serialize_provider(provider)
        assert len(blob) < 1000, len(blob)
        assert type(dill.loads(base64.b64decode(blob))) is type(provider)  # noqa: S301  # our own blob


def test_args_are_validated_before_registration() -> None:
    with pytest.raises(ValueError, match="timeout_s=10"):
        gates.MigrationGateArgs(
            cluster="c",
            task_definition="t",
            container_name="migrate",
            subnets=["s"],
            security_groups=["g"],
            assign_public_ip=False,
            log_group="g",
            log_stream_prefix="migrate",
            region="eu-west-1",
            image_digest=DIGEST,
            timeout_s=10,
        )
    with pytest.raises(ValueError, match="timeout_s=5"):
        gates.RolloutCheck(
            "rollout",
            gates.RolloutCheckArgs(cluster="c", service="s", task_definition="t", region="eu-west-1", timeout_s=5),
        )


def test_a_fresh_provider_process_loads_the_providers_from_any_directory(tmp_path: Any) -> None:
    """What ``pulumi-resource-pulumi-python`` does: a new interpreter, started in the project directory, unpickles
    the provider from state and calls it. By-reference serialization needs the module importable from there
    (pulumi/pulumi#7960 shows the failure mode when it is not): it is ``slipway_aws.gates``, installed into the venv,
    so a reusing team's project directory (no ``components/`` in it) loads it too."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    blobs = {
        name: serialize_provider(p)
        for name, p in (("gate", gates.MigrationGateProvider()), ("rollout", gates.RolloutCheckProvider()))
    }
    script = (
        "import base64, sys, dill\n"
        "gate = dill.loads(base64.b64decode(sys.argv[1]))\n"
        "rollout = dill.loads(base64.b64decode(sys.argv[2]))\n"
        "d = gate.diff('id', {'image_digest': 'a', 'task_definition': 't'},\n"
        "              {'image_digest': 'b', 'task_definition': 't'})\n"
        "r = rollout.diff('id', {'task_definition': 't'}, {'task_definition': 't'})\n"
        "print(type(gate).__module__, d.changes, r.changes)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", script, blobs["gate"], blobs["rollout"]],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["slipway_aws.gates", "True", "False"]
    elsewhere = subprocess.run(
        [sys.executable, "-c", script, blobs["gate"], blobs["rollout"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert elsewhere.stdout.split() == ["slipway_aws.gates", "True", "False"]


def test_the_stack_aws_profile_reaches_the_gates_and_the_image_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``aws:profile`` set, the program's own AWS calls use the provider's account, not the default chain."""
    import contextlib
    from collections.abc import Iterator

    import slipway.offline as offline
    import slipway_aws.image as image
    from tests.conftest import graph_with

    seen: list[Any] = []

    @contextlib.contextmanager
    def spying_ecr(_pushed: Any) -> Iterator[None]:  # replaces the offline ECR: record the profile, find nothing
        monkeypatch.setattr(image, "find_pushed_image", lambda *_a, profile=None, **_k: seen.append(profile))
        yield

    monkeypatch.setattr(offline, "_offline_ecr", spying_ecr)
    graph = offline.run_stack("dev", overrides={"aws:profile": "slipway-dev-admin"})
    assert seen == ["slipway-dev-admin"]
    gate_type = "pulumi-python:dynamic/slipway:MigrationGate"
    rollout_type = "pulumi-python:dynamic/slipway:RolloutCheck"
    assert graph.one(gate_type, "migrate-gate").input("aws_profile") == "slipway-dev-admin"
    assert graph.one(rollout_type, "rollout").input("aws_profile") == "slipway-dev-admin"
    assert graph_with("dev").one(gate_type, "migrate-gate").input("aws_profile") is None
    provider_call = Recorder(TaskResult(task_arn=TASK_ARN, exit_code=0, stop_reason=""))
    monkeypatch.setattr(ecs_runner, "run_one_off_task", provider_call)
    gates.MigrationGateProvider().create(migration_props(aws_profile="slipway-dev-admin"))
    assert provider_call.calls[0]["profile"] == "slipway-dev-admin"
