"""slipway logs|status|exec|run|rollback against botocore's Stubber: every request and response is checked against
the real API shapes (a wrong parameter name or type fails the stub)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from slipway import day2
from slipway.plan import build_parser, main

REGION = "us-east-1"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/slipway-dev-cluster-1234567"
WEB_TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/slipway-dev-web:7"
WORKER_TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/slipway-dev-worker:3"
TASK = "arn:aws:ecs:us-east-1:123456789012:task/slipway-dev-cluster-1234567/0123456789abcdef0123456789abcdef"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-dev@sha256:" + "b" * 64
OLD_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-dev@sha256:" + "a" * 64


def client(service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
    )


def task_definition(arn: str, image: str = IMAGE, prefix: str = "web") -> dict[str, Any]:
    family, revision = arn.rsplit("/", 1)[1].split(":")
    return {
        "taskDefinition": {
            "taskDefinitionArn": arn,
            "family": family,
            "revision": int(revision),
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": image,
                    "essential": True,
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {"awslogs-group": "slipway-dev-app", "awslogs-stream-prefix": prefix},
                    },
                }
            ],
        }
    }


def service(name: str, td: str, running: int = 1) -> dict[str, Any]:
    return {
        "serviceName": name,
        "serviceArn": f"arn:aws:ecs:us-east-1:123456789012:service/slipway-dev-cluster-1234567/{name}",
        "status": "ACTIVE",
        "taskDefinition": td,
        "runningCount": running,
        "desiredCount": 1,
        "deployments": [
            {"status": "PRIMARY", "rolloutState": "COMPLETED", "taskDefinition": td, "runningCount": running}
        ],
        "networkConfiguration": {
            "awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}
        },
    }


def stub_resolution(ecs: Stubber, running: int = 1) -> None:
    """What every command asks first: the tagged cluster, its services, their task definitions."""
    ecs.add_response("list_clusters", {"clusterArns": [CLUSTER]}, {})
    ecs.add_response(
        "describe_clusters",
        {
            "clusters": [
                {
                    "clusterArn": CLUSTER,
                    "status": "ACTIVE",
                    "tags": [{"key": "app", "value": "slipway"}, {"key": "stack", "value": "dev"}],
                }
            ]
        },
        {"clusters": [CLUSTER], "include": ["TAGS"]},
    )
    names = ["slipway-dev-web-service-1", "slipway-dev-worker-service-2"]
    ecs.add_response(
        "list_services",
        {"serviceArns": [f"arn:aws:ecs:us-east-1:123456789012:service/c/{n}" for n in names]},
        {"cluster": CLUSTER},
    )
    ecs.add_response(
        "describe_services",
        {"services": [service(names[0], WEB_TD), service(names[1], WORKER_TD, running)]},
        {"cluster": CLUSTER, "services": ANY},
    )
    ecs.add_response("describe_task_definition", task_definition(WEB_TD), {"taskDefinition": WEB_TD})
    ecs.add_response(
        "describe_task_definition", task_definition(WORKER_TD, prefix="worker"), {"taskDefinition": WORKER_TD}
    )


def run_cli(argv: list[str], clients: dict[str, Any]) -> tuple[int, str, str]:
    args = build_parser().parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    code = day2.main(args, out, err, clients=lambda name: clients[name], sleep=lambda _: None)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture()
def ecs() -> Any:
    return client("ecs")


def stubbed(*clients_: Any) -> Callable[[], None]:
    stubbers = [Stubber(c) for c in clients_]
    for s in stubbers:
        s.activate()
    return lambda: [s.assert_no_pending_responses() for s in stubbers] and None


@pytest.mark.parametrize("command", day2.COMMANDS)
def test_every_command_has_a_complete_help(command: str) -> None:
    out = io.StringIO()
    with pytest.raises(SystemExit) as done:
        import contextlib

        with contextlib.redirect_stdout(out):
            build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    text = out.getvalue()
    assert "--stack" in text and "tagged app=<appName>" in text and "Exit 2" in text


def test_logs_of_one_service_since_with_a_filter(ecs: Any) -> None:
    logs = client("logs")
    with Stubber(ecs) as e, Stubber(logs) as lg:
        stub_resolution(e)
        lg.add_response(
            "filter_log_events",
            {
                "events": [
                    {
                        "eventId": "1",
                        "timestamp": 1_767_225_600_000,
                        "message": "ERROR boom\n",
                        "logStreamName": "worker/app/0123",
                    }
                ]
            },
            {
                "logGroupName": "slipway-dev-app",
                "logStreamNamePrefix": "worker/",
                "startTime": ANY,
                "filterPattern": "ERROR",
            },
        )
        code, out, _ = run_cli(
            ["logs", "--stack", "dev", "--service", "worker", "--since", "2h", "--filter", "ERROR"],
            {"ecs": ecs, "logs": logs},
        )
        e.assert_no_pending_responses()
        lg.assert_no_pending_responses()
    assert code == 0
    assert out == "[slipway-dev-worker-service-2] 2026-01-01T00:00:00Z ERROR boom\n"


def test_logs_follow_polls_again_without_repeating_events(ecs: Any) -> None:
    logs = client("logs")
    event = {"eventId": "1", "timestamp": 1_767_225_600_000, "message": "hello", "logStreamName": "web/app/1"}
    with Stubber(ecs) as e, Stubber(logs) as lg:
        stub_resolution(e)
        target = day2.resolve(
            build_parser().parse_args(["logs", "--stack", "dev"]), lambda name: {"ecs": ecs, "logs": logs}[name]
        )
        for start in (0, event["timestamp"]):  # two polls; the second starts at the newest event seen
            lg.add_response(
                "filter_log_events",
                {"events": [event]},
                {"logGroupName": "slipway-dev-app", "logStreamNamePrefix": "web/", "startTime": start},
            )
        out = io.StringIO()
        day2.logs(
            target, logs, out, service="web", since_ms=0, pattern=None, follow=True, sleep=lambda _: None, polls=2
        )
        lg.assert_no_pending_responses()
        e.assert_no_pending_responses()
    assert out.getvalue().count("hello") == 1


def test_logs_of_the_whole_stack_include_jobs_and_migrations_by_stream_prefix(ecs: Any) -> None:
    logs = client("logs")
    events = [
        {"eventId": str(i), "timestamp": 1_767_225_600_000 + i, "message": text, "logStreamName": stream}
        for i, (stream, text) in enumerate(
            [("worker/app/1", "took a message"), ("job/app/2", "pruned 3"), ("migrate/app/3", "at head")]
        )
    ]
    with Stubber(ecs) as e, Stubber(logs) as lg:
        stub_resolution(e)
        # both services log to the app's one group: one query over every stream of it
        lg.add_response("filter_log_events", {"events": events}, {"logGroupName": "slipway-dev-app", "startTime": ANY})
        code, out, _ = run_cli(["logs", "--stack", "dev", "--since", "1h"], {"ecs": ecs, "logs": logs})
        e.assert_no_pending_responses()
        lg.assert_no_pending_responses()
    assert code == 0
    assert [line.split(" ", 1)[0] for line in out.splitlines()] == [
        "[slipway-dev-worker-service-2]",
        "[job]",
        "[migrate]",
    ]


def test_status_reports_tasks_deployments_alarms_and_the_last_migration(ecs: Any) -> None:
    cloudwatch = client("cloudwatch")
    with Stubber(ecs) as e, Stubber(cloudwatch) as cw:
        stub_resolution(e, running=0)
        e.add_response(
            "describe_services",
            {
                "services": [
                    service("slipway-dev-web-service-1", WEB_TD),
                    service("slipway-dev-worker-service-2", WORKER_TD, 0),
                ]
            },
            {"cluster": CLUSTER, "services": ["slipway-dev-web-service-1", "slipway-dev-worker-service-2"]},
        )
        cw.add_response(
            "describe_alarms",
            {"MetricAlarms": [{"AlarmName": "slipway-dev-worker-dlq-messages", "StateReason": "Threshold Crossed"}]},
            {"AlarmNamePrefix": "slipway-dev", "StateValue": "ALARM"},
        )
        e.add_response(
            "list_tasks",
            {"taskArns": [TASK]},
            {"cluster": CLUSTER, "family": "slipway-dev-migrate", "desiredStatus": "STOPPED"},
        )
        e.add_response(
            "describe_tasks",
            {
                "tasks": [
                    {
                        "taskArn": TASK,
                        "stoppedAt": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                        "containers": [{"name": "app", "exitCode": 0}],
                    }
                ]
            },
            {"cluster": CLUSTER, "tasks": [TASK]},
        )
        code, out, _ = run_cli(["status", "--stack", "dev"], {"ecs": ecs, "cloudwatch": cloudwatch})
        e.assert_no_pending_responses()
        cw.assert_no_pending_responses()
    assert code == 1  # the worker is short of a task and an alarm fires
    assert "slipway-dev-worker-service-2: 0/1 tasks running" in out
    assert "PRIMARY  COMPLETED" in out and "slipway-dev-web:7" in out
    assert "slipway-dev-worker-dlq-messages: Threshold Crossed" in out
    assert "last migration: task 0123456789abcdef0123456789abcdef stopped 2026-01-01T00:00:00+00:00, exit code 0" in out


def test_exec_prints_the_cli_command_or_starts_the_session(ecs: Any) -> None:
    with Stubber(ecs) as e:
        stub_resolution(e)
        e.add_response(
            "list_tasks",
            {"taskArns": [TASK]},
            {"cluster": CLUSTER, "serviceName": "slipway-dev-web-service-1", "desiredStatus": "RUNNING"},
        )
        code, out, _ = run_cli(["exec", "--stack", "dev", "--service", "web"], {"ecs": ecs})
        assert code == 0
        assert out.splitlines()[0] == (
            "aws ecs execute-command --region us-east-1 --cluster slipway-dev-cluster-1234567 "
            "--task 0123456789abcdef0123456789abcdef --container app --interactive --command /bin/sh"
        )
        stub_resolution(e)
        e.add_response(
            "list_tasks",
            {"taskArns": [TASK]},
            {"cluster": CLUSTER, "serviceName": "slipway-dev-web-service-1", "desiredStatus": "RUNNING"},
        )
        e.add_response(
            "execute_command",
            {"session": {"sessionId": "ecs-execute-command-1", "streamUrl": "wss://ssmmessages", "tokenValue": "t"}},
            {"cluster": CLUSTER, "task": TASK, "container": "app", "interactive": True, "command": "/bin/sh"},
        )
        code, out, _ = run_cli(["exec", "--stack", "dev", "--service", "web", "--call"], {"ecs": ecs})
        e.assert_no_pending_responses()
    assert code == 0 and "session ecs-execute-command-1 started" in out


def test_run_starts_a_task_with_the_services_definition_and_returns_its_exit_code(ecs: Any) -> None:
    logs = client("logs")
    with Stubber(ecs) as e, Stubber(logs) as lg:
        stub_resolution(e)
        e.add_response(
            "run_task",
            {"tasks": [{"taskArn": TASK}], "failures": []},
            {
                "cluster": CLUSTER,
                "taskDefinition": WORKER_TD,
                "count": 1,
                "launchType": "FARGATE",
                "startedBy": "slipway-run",
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": ["subnet-1"],
                        "securityGroups": ["sg-1"],
                        "assignPublicIp": "DISABLED",
                    }
                },
                "overrides": {"containerOverrides": [{"name": "app", "command": ["app", "purge", "--dry-run"]}]},
            },
        )
        e.add_response(
            "describe_tasks",
            {"tasks": [{"taskArn": TASK, "lastStatus": "STOPPED", "containers": [{"name": "app", "exitCode": 3}]}]},
            {"cluster": CLUSTER, "tasks": [TASK]},
        )
        lg.add_response(
            "get_log_events",
            {"events": [{"message": "purged 0"}]},
            {"logGroupName": "slipway-dev-app", "logStreamName": ANY, "limit": 40, "startFromHead": False},
        )
        code, _, err = run_cli(
            ["run", "--stack", "dev", "--service", "worker", "--", "app", "purge", "--dry-run"],
            {"ecs": ecs, "logs": logs},
        )
        e.assert_no_pending_responses()
    assert code == 3 and "exit code: 3" in err and "purged 0" in err


def test_rollback_points_the_service_at_the_previous_image_and_says_how_to_pin_it(ecs: Any) -> None:
    prev = "arn:aws:ecs:us-east-1:123456789012:task-definition/slipway-dev-web:6"
    older = "arn:aws:ecs:us-east-1:123456789012:task-definition/slipway-dev-web:5"
    with Stubber(ecs) as e:
        stub_resolution(e)
        e.add_response("describe_task_definition", task_definition(WEB_TD), {"taskDefinition": WEB_TD})
        e.add_response(
            "list_task_definitions",
            {"taskDefinitionArns": [WEB_TD, prev, older]},
            {"familyPrefix": "slipway-dev-web", "sort": "DESC"},
        )
        # revision 6 only changed an environment variable: same image, not a rollback target
        e.add_response("describe_task_definition", task_definition(prev), {"taskDefinition": prev})
        e.add_response("describe_task_definition", task_definition(older, OLD_IMAGE), {"taskDefinition": older})
        e.add_response(
            "update_service",
            {"service": {"serviceName": "slipway-dev-web-service-1"}},
            {"cluster": CLUSTER, "service": "slipway-dev-web-service-1", "taskDefinition": older},
        )
        code, out, _ = run_cli(["rollback", "--stack", "dev", "--service", "web"], {"ecs": ecs})
        e.assert_no_pending_responses()
    assert code == 0
    assert f"rolling back slipway-dev-web-service-1: {IMAGE} -> {OLD_IMAGE} (slipway-dev-web:5)" in out
    assert f"pulumi config set slipway:imageUri '{OLD_IMAGE}' -s dev" in out


def test_an_unknown_service_or_missing_cluster_is_exit_2_with_one_line(ecs: Any) -> None:
    with Stubber(ecs) as e:
        stub_resolution(e)
        code, _, err = run_cli(["exec", "--stack", "dev", "--service", "api"], {"ecs": ecs})
        assert code == 2 and "no services of cluster slipway-dev-cluster-1234567 match 'api'" in err
        e.add_response("list_clusters", {"clusterArns": []}, {})
        code, _, err = run_cli(["status", "--stack", "dev"], {"ecs": ecs})
        e.assert_no_pending_responses()
    assert code == 2 and "0 ACTIVE ECS clusters are tagged app=slipway, stack=dev" in err


def test_without_credentials_the_error_says_what_to_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    out, err = io.StringIO(), io.StringIO()
    assert main(["status", "--stack", "dev"], out=out, err=err) == 2
    assert err.getvalue().startswith("error: no AWS credentials found")
