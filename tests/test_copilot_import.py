"""``slipway import copilot`` on five real Copilot workspaces from aws/copilot-cli (tests/data/copilot/README.md):
every manifest field is reported (mapped or not carried over, never dropped silently) and the written stacks plan
offline with the component each Copilot service type maps to."""

from __future__ import annotations

import functools
import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from slipway.copilot_import import Report, import_workspace, read_yaml, schedule_expression, seconds
from slipway.offline import ResourceGraph, run_stack
from slipway.plan import main

DATA = Path(__file__).resolve().parent / "data" / "copilot"
WORKSPACES = ["multi-svc-app", "worker-svc", "exec", "import-certs", "isolated"]
COMPONENT = {
    "Load Balanced Web Service": "slipway:aws:WebApp",
    "Backend Service": "slipway:aws:BackendService",
    "Worker Service": "slipway:aws:WorkerService",
    "Scheduled Job": "slipway:aws:ScheduledJob",
}
OUT = Path(tempfile.mkdtemp(prefix="copilot-import-"))


@functools.cache
def imported(workspace: str) -> tuple[Report, Path]:
    out = OUT / workspace
    shutil.rmtree(out, ignore_errors=True)
    return import_workspace(DATA / workspace, out), out


@functools.cache
def planned(workspace: str) -> ResourceGraph:
    report, out = imported(workspace)
    return run_stack(report.environments[0], root=out)


def leaves(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in leaves(v, f"{prefix}.{k}" if prefix else str(k))]
    return [prefix]


def manifests(workspace: str) -> dict[str, dict[str, Any]]:
    copilot = DATA / workspace / "copilot"
    services = {p.parent.name: read_yaml(p) for p in copilot.glob("*/manifest.yml") if p.parent.name != "environments"}
    envs = {f"environment {p.parent.name}": read_yaml(p) for p in copilot.glob("environments/*/manifest.yml")}
    return {**services, **envs}


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_every_manifest_field_is_mapped_or_reported(workspace: str) -> None:
    report, out = imported(workspace)
    reported = {(f.owner, f.path) for f in report.findings}
    for owner, manifest in manifests(workspace).items():
        for path in leaves(manifest):
            covered = any(o == owner and (path == p or path.startswith(p + ".")) for o, p in reported)
            assert covered, f"{workspace}: {owner}.{path} silently dropped"
    text = (out / "COPILOT-IMPORT.md").read_text()
    assert all(f"`{f.path}`" in text for f in report.findings)


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_the_imported_stack_plans_offline_with_each_service(workspace: str) -> None:
    graph = planned(workspace)
    types = {r.type for r in graph.resources}
    for name, manifest in manifests(workspace).items():
        if name.startswith("environment "):
            continue
        kind = COMPONENT[manifest["type"]]
        assert kind in types, f"{name}: {kind} missing"
        if kind != "slipway:aws:WebApp":
            assert any(r.type == kind and r.name.endswith(f"-{name}") for r in graph.resources), name
    if "slipway:aws:WebApp" not in types:  # no load-balanced service: no load balancer either
        assert not [r for r in graph.resources if r.type.startswith("aws:lb/")]
        assert {"slipway:aws:Network", "slipway:aws:EcsCluster", "slipway:aws:TaskRoles"} <= types


def test_the_job_schedule_and_the_worker_queue_carry_over() -> None:
    job = planned("multi-svc-app").one("aws:scheduler/schedule:Schedule")
    assert job.input("scheduleExpression") == "rate(4 minutes)" and job.input("state") == "ENABLED"
    worker = planned("worker-svc")
    queue = next(r for r in worker.by_type("aws:sqs/queue:Queue") if r.name.endswith("-queue"))
    assert queue.input("visibilityTimeoutSeconds") == 3  # subscribe.queue.timeout: 3s
    assert '"maxReceiveCount": 3' in queue.input("redrivePolicy")  # dead_letter.tries: 3
    report, _ = imported("worker-svc")
    dropped = {(f.owner, f.path) for f in report.findings if not f.carried}
    assert {("worker", "subscribe.topics"), ("publisher", "publish.topics")} <= dropped


def test_port_80_moves_to_8080_and_says_the_image_must_change() -> None:
    report, _ = imported("exec")
    port = next(f for f in report.findings if f.path == "image.port")
    assert port.carried and "CHANGE the image" in port.detail and "8080" in port.detail
    web = planned("exec").one("aws:ecs/taskDefinition:TaskDefinition", "web-task")
    (container,) = web.json_input("containerDefinitions")
    assert container["portMappings"][0]["containerPort"] == 8080


def test_yaml_is_read_as_copilot_reads_it_and_shell_variables_are_not_copied() -> None:
    _, out = imported("multi-svc-app")
    assert "TEST_BOOL_ENV_VAR: 'on'" in (out / "Pulumi.dev.yaml").read_text()  # YAML 1.2: on is a string
    report, out = imported("import-certs")
    cert = next(f for f in report.findings if f.path == "http.public.certificates")
    assert not cert.carried and "${VAR}" in cert.detail
    assert "certificateArn" not in (out / "Pulumi.test.yaml").read_text()
    domain = next(f for f in report.findings if f.path == "http.alias")
    assert domain.carried


@pytest.mark.parametrize(
    ("copilot", "aws"),
    [
        ("@every 4m", "rate(4 minutes)"),
        ("@every 1h", "rate(1 hour)"),
        ("@every 1h30m", "rate(90 minutes)"),
        ("@every 48h", "rate(2 days)"),
        ("@daily", "cron(0 0 * * ? *)"),
        ("@weekly", "cron(0 0 ? * SUN *)"),
        ("0 9 * * 1-5", "cron(0 9 ? * 2-6 *)"),  # Unix Mon-Fri (1-5) is AWS 2-6
        ("30 2 1 * *", "cron(30 2 1 * ? *)"),
        ("cron(0 3 * * ? *)", "cron(0 3 * * ? *)"),
    ],
)
def test_copilot_schedules_become_scheduler_expressions(copilot: str, aws: str) -> None:
    from slipway_aws.scheduled_job import schedule_problem

    assert schedule_expression(copilot)[0] == aws
    assert schedule_problem(aws) is None


@pytest.mark.parametrize("copilot", ["@every 30s", "0 9 1 * 1", "none"])
def test_schedules_without_an_equivalent_are_refused(copilot: str) -> None:
    assert schedule_expression(copilot)[0] is None


def test_go_durations() -> None:
    assert [seconds(t) for t in ("3s", "1m0s", "1h30m", "24h", "abc")] == [3, 60, 5400, 86400, None]


def test_the_command_writes_the_project_and_lists_what_was_not_carried(tmp_path: Path) -> None:
    out = io.StringIO()
    code = main(["import", "copilot", str(DATA / "worker-svc"), "--out", str(tmp_path)], out=out, err=io.StringIO())
    assert code == 0
    assert {p.name for p in tmp_path.iterdir()} == {
        "Pulumi.yaml",
        "Pulumi.dev.yaml",
        "__main__.py",
        "requirements.txt",
        "COPILOT-IMPORT.md",
    }
    assert "not carried: worker: subscribe.topics" in out.getvalue()
    err = io.StringIO()
    assert main(["import", "copilot", str(tmp_path)], out=io.StringIO(), err=err) == 2
    assert "not a Copilot workspace" in err.getvalue()


def test_workspace_name_environment_overrides_and_unknown_types(tmp_path: Path) -> None:
    """``.workspace`` names the app; ``environments.<env>`` overrides reach that stack file only; a service type slipway
    has no component for is reported with every field, not imported."""
    copilot = tmp_path / "ws" / "copilot"
    for path, text in {
        ".workspace": "application: shopfront\n",
        "environments/test/manifest.yml": "name: test\ntype: Environment\nnetwork:\n  vpc:\n    cidr: 10.9.0.0/16\n",
        "environments/prod/manifest.yml": "name: prod\ntype: Environment\n",
        "api/manifest.yml": (
            "name: api\ntype: Load Balanced Web Service\nimage:\n  build: Dockerfile\n  port: 8080\n"
            "cpu: 256\nmemory: 512\ncount: 1\nhttp:\n  path: /\n  healthcheck: /ping\n"
            "environments:\n  prod:\n    cpu: 1024\n    memory: 2048\n"
            "    count:\n      range: 2-6\n      cpu_percentage: 55\n"
        ),
        "rdws/manifest.yml": "name: rdws\ntype: Request-Driven Web Service\nimage:\n  build: Dockerfile\n",
    }.items():
        (copilot / path).parent.mkdir(parents=True, exist_ok=True)
        (copilot / path).write_text(text)
    report = import_workspace(tmp_path / "ws", tmp_path / "out")
    assert report.app == "shopfront" and report.environments == ["prod", "test"]
    prod = yaml.safe_load((tmp_path / "out" / "Pulumi.prod.yaml").read_text())["config"]
    test = yaml.safe_load((tmp_path / "out" / "Pulumi.test.yaml").read_text())["config"]
    api_prod, api_test = prod["shopfront:services"]["api"], test["shopfront:services"]["api"]
    assert (api_prod["cpu"], api_prod["minTasks"], api_prod["maxTasks"], api_prod["cpuTargetPercent"]) == (
        1024,
        2,
        6,
        55,
    )
    assert (api_test["cpu"], api_test["minTasks"], api_test["maxTasks"]) == (256, 1, 1)
    assert api_test["healthCheckPath"] == "/ping" and api_test["port"] == 8080
    assert prod["shopfront:profile"] == "prod" and test["shopfront:profile"] == "dev"
    assert test["shopfront:vpcCidr"] == "10.9.0.0/16" and "shopfront:vpcCidr" not in prod
    assert "rdws" not in test["shopfront:services"]
    rdws = {f.path: f for f in report.findings if f.owner == "rdws"}
    assert not rdws["type"].carried and "not imported" in rdws["type"].detail
    assert not rdws["image.build"].carried
    graph = run_stack("test", root=tmp_path / "out")
    assert graph.one("aws:lb/targetGroup:TargetGroup").input("healthCheck", "path") == "/ping"
