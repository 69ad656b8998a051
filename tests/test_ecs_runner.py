"""ecs_runner against moto's ECS, EC2 and CloudWatch Logs; botocore's Stubber where moto cannot produce a state.

moto starts Fargate tasks RUNNING and, with the ``manual`` state progression set below, moves them one state per
``describe_tasks`` call to STOPPED with exit code 0. A non-zero exit is set on moto's own task model. moto never
returns ``failures`` from ``run_task`` and never rolls a deployment back, so those cases use a Stubber on the same
kind of client, with responses validated against the ECS API model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends
from moto.moto_api import state_manager

from slipway_aws import ecs_runner
from slipway_aws.ecs_runner import (
    RolloutFailedError,
    RolloutTimeoutError,
    TaskFailedError,
    TaskStartError,
    TaskTimeoutError,
)

REGION = "eu-west-1"
CLUSTER = "slipway-dev"
GROUP = "/slipway/dev/app"
PREFIX = "migrate"
CONTAINER = "migrate"


class FakeTime:
    """A clock that only moves when the code under test sleeps; ``on_sleep`` runs side effects (log lines)."""

    def __init__(self, on_sleep: Any = None) -> None:
        self.now = 0.0
        self.sleeps = 0
        self.on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        if self.on_sleep:
            self.on_sleep()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 1})
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as Network sets it
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName="migrate", Description="migrate", VpcId=vpc)["GroupId"]
        ecs = boto3.client("ecs", region_name=REGION)
        cluster = ecs.create_cluster(clusterName=CLUSTER)["cluster"]["clusterArn"]
        task_def = ecs.register_task_definition(
            family="slipway-dev-migrate",
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[
                {"name": CONTAINER, "image": "repo@sha256:" + "a" * 64, "memory": 512, "command": ["app", "migrate"]}
            ],
        )["taskDefinition"]["taskDefinitionArn"]
        logs = boto3.client("logs", region_name=REGION)
        logs.create_log_group(logGroupName=GROUP)
        yield {"ecs": ecs, "logs": logs, "cluster": cluster, "task_def": task_def, "subnet": subnet, "sg": sg}
        state_manager.unset_transition("ecs::task")


def write_task_logs(aws: dict[str, Any], lines: list[str]) -> None:
    """What the awslogs driver would write: one stream per task, ``prefix/container/task-id``."""
    for arn in aws["ecs"].list_tasks(cluster=CLUSTER)["taskArns"]:
        stream = ecs_runner.log_stream_name(PREFIX, CONTAINER, arn)
        if aws["logs"].describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=stream)["logStreams"]:
            continue
        aws["logs"].create_log_stream(logGroupName=GROUP, logStreamName=stream)
        now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        aws["logs"].put_log_events(
            logGroupName=GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(lines)],
        )


def run(aws: dict[str, Any], fake: FakeTime, progress: list[str], **overrides: Any) -> ecs_runner.TaskResult:
    kwargs: dict[str, Any] = dict(
        cluster=aws["cluster"],
        task_definition=aws["task_def"],
        container_name=CONTAINER,
        subnets=[aws["subnet"]],
        security_groups=[aws["sg"]],
        assign_public_ip=True,
        log_group=GROUP,
        log_stream_prefix=PREFIX,
        region=REGION,
        timeout_s=120,
        poll_s=5,
        log_lines=3,
        ecs_client=aws["ecs"],
        logs_client=aws["logs"],
        progress=progress.append,
        sleep=fake.sleep,
        clock=fake.clock,
    )
    kwargs.update(overrides)
    return ecs_runner.run_one_off_task(**kwargs)


def moto_task(arn: str) -> Any:
    return ecs_backends[DEFAULT_ACCOUNT_ID][REGION].tasks[CLUSTER][arn]


def test_environment_overrides_single_variables_of_the_container(aws: dict[str, Any]) -> None:
    """The restore drill points the app at a temporary instance this way: only DB_HOST/DB_PORT change."""
    result = run(
        aws, FakeTime(), [], command=["app", "check"], environment={"DB_HOST": "tmp.example", "DB_PORT": "5432"}
    )
    assert moto_task(result.task_arn).overrides == {
        "containerOverrides": [
            {
                "name": CONTAINER,
                "command": ["app", "check"],
                "environment": [{"name": "DB_HOST", "value": "tmp.example"}, {"name": "DB_PORT", "value": "5432"}],
            }
        ]
    }
    no_override = run(aws, FakeTime(), [])
    assert not moto_task(no_override.task_arn).overrides, "no command and no environment: no override at all"


def test_success_returns_exit_code_log_tail_and_a_progress_line_per_state(aws: dict[str, Any]) -> None:
    fake, progress = FakeTime(lambda: write_task_logs(aws, ["start", "upgrade 0001", "upgrade 0002", "done"])), []
    result = run(aws, fake, progress, command=["app", "migrate"])
    assert result.succeeded and result.exit_code == 0
    assert result.log_tail == ["upgrade 0001", "upgrade 0002", "done"], "the last log_lines lines, in order"
    task = moto_task(result.task_arn)
    assert task.launch_type == "FARGATE" and task.started_by == "slipway"
    assert task.overrides == {"containerOverrides": [{"name": CONTAINER, "command": ["app", "migrate"]}]}
    awsvpc = task.network_configuration["awsvpcConfiguration"]
    assert awsvpc == {"subnets": [aws["subnet"]], "securityGroups": [aws["sg"]], "assignPublicIp": "ENABLED"}
    states = [line.split(": ")[1].split(" ")[0] for line in progress if line.startswith("task ")]
    # moto moves the task one state per describe call: one line per distinct state, one sleep between polls.
    assert states[-1] == "STOPPED" and len(states) >= 3 and len(set(states)) == len(states), progress
    assert fake.sleeps == len(states) - 1, "one poll per state, no busy loop"
    assert result.console_url == (
        f"https://{REGION}.console.aws.amazon.com/ecs/v2/clusters/{CLUSTER}/tasks/"
        f"{result.task_arn.rsplit('/', 1)[-1]}/configuration?region={REGION}"
    )
    assert result.raise_for_failure() is result


def test_non_zero_exit_fails_with_exit_code_and_log_tail(aws: dict[str, Any]) -> None:
    def crash() -> None:
        write_task_logs(aws, ["running upgrade 0002", 'psycopg.errors.DuplicateColumn: column "x" exists'])
        for arn in aws["ecs"].list_tasks(cluster=CLUSTER)["taskArns"]:
            moto_task(arn).containers[0].exitCode = 1

    result = run(aws, FakeTime(crash), [])
    assert not result.succeeded and result.exit_code == 1
    with pytest.raises(TaskFailedError) as err:
        result.raise_for_failure()
    message = str(err.value)
    assert "exit code: 1" in message and "DuplicateColumn" in message and "running upgrade 0002" in message
    assert "console.aws.amazon.com/ecs/v2/clusters/slipway-dev/tasks/" in message
    assert err.value.result is result


def test_missing_log_stream_is_reported_not_raised(aws: dict[str, Any]) -> None:
    result = run(aws, FakeTime(), [])
    assert result.succeeded and "does not exist" in result.log_tail[0]


def test_timeout_stops_the_task_and_fails_with_the_log_tail(aws: dict[str, Any]) -> None:
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10_000})
    fake = FakeTime(lambda: write_task_logs(aws, ["waiting for advisory lock"]))
    with pytest.raises(TaskTimeoutError) as err:
        run(aws, fake, [], timeout_s=60, poll_s=10)
    assert "after 60s and was stopped" in str(err.value) and "waiting for advisory lock" in str(err.value)
    assert fake.now == 60, "gave up at the timeout, not before or long after"
    (arn,) = aws["ecs"].list_tasks(cluster=CLUSTER)["taskArns"]
    assert (
        moto_task(arn).desired_status == "STOPPED" and "slipway: no result after 60s" in moto_task(arn).stopped_reason
    )


def test_task_that_fails_to_start_raises_with_ecs_failures(aws: dict[str, Any]) -> None:
    # moto never returns run_task failures: stub the same client with a response valid for the ECS API model.
    stub = Stubber(aws["ecs"])
    stub.add_response(
        "run_task",
        {
            "tasks": [],
            "failures": [{"arn": aws["task_def"], "reason": "RESOURCE:ENI", "detail": "no free ENIs in subnet"}],
        },
    )
    with stub, pytest.raises(TaskStartError) as err:
        run(aws, FakeTime(), [])
    assert "RESOURCE:ENI" in str(err.value) and "no free ENIs" in str(err.value) and CLUSTER in str(err.value)
    stub.assert_no_pending_responses()


def test_run_task_refused_by_the_api_is_a_start_error(aws: dict[str, Any]) -> None:
    with pytest.raises(TaskStartError) as err:
        run(aws, FakeTime(), [], task_definition="does-not-exist:1")
    assert "does-not-exist" in str(err.value)


def test_bad_arguments_fail_before_any_call() -> None:
    with pytest.raises(ValueError, match="subnets"):
        ecs_runner.run_one_off_task(
            cluster="c",
            task_definition="t",
            container_name="m",
            subnets=[],
            security_groups=[],
            assign_public_ip=False,
            log_group="g",
            log_stream_prefix="p",
            region=REGION,
            ecs_client=object(),
            logs_client=object(),
        )


# ---------------------------------------------------------------------------------------------------- rollouts


def create_service(aws: dict[str, Any]) -> str:
    aws["ecs"].create_service(
        cluster=CLUSTER,
        serviceName="web",
        taskDefinition=aws["task_def"],
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [aws["subnet"]], "securityGroups": [aws["sg"]]}},
    )
    return "web"


def wait_for(service: str, aws: dict[str, Any]) -> dict[str, Any]:
    """``wait_for_rollout`` of ``service`` on the test cluster, polling without sleeping."""
    return ecs_runner.wait_for_rollout(
        cluster=CLUSTER,
        service=service,
        task_definition=aws["task_def"],
        region=REGION,
        ecs_client=aws["ecs"],
        progress=lambda _: None,
        sleep=FakeTime().sleep,
    )


def test_rollout_completed_returns_the_primary_deployment(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")  # moto: the deployment's tasks are all running
    service = create_service(aws)
    progress: list[str] = []
    deployment = ecs_runner.wait_for_rollout(
        cluster=CLUSTER,
        service=service,
        task_definition=aws["task_def"],
        region=REGION,
        ecs_client=aws["ecs"],
        progress=progress.append,
        sleep=FakeTime().sleep,
    )
    assert deployment["status"] == "PRIMARY" and deployment["rolloutState"] == "COMPLETED"
    assert deployment["taskDefinition"] == aws["task_def"] and progress[-1].startswith("rollout of")


def test_rollout_in_progress_times_out_with_counts(aws: dict[str, Any]) -> None:
    service = create_service(aws)  # moto: 0 of 2 running -> IN_PROGRESS forever
    fake = FakeTime()
    with pytest.raises(RolloutTimeoutError) as err:
        ecs_runner.wait_for_rollout(
            cluster=CLUSTER,
            service=service,
            task_definition=aws["task_def"],
            region=REGION,
            timeout_s=300,
            poll_s=30,
            ecs_client=aws["ecs"],
            progress=lambda _: None,
            sleep=fake.sleep,
            clock=fake.clock,
        )
    assert "IN_PROGRESS, 0/2 running" in str(err.value) and fake.now == 300


def _deployment(task_def: str, status: str, state: str, reason: str, running: int, failed: int) -> dict[str, Any]:
    return {
        "id": f"ecs-svc/{abs(hash((task_def, status))) % 10**12}",
        "status": status,
        "taskDefinition": task_def,
        "desiredCount": 2,
        "runningCount": running,
        "failedTasks": failed,
        "rolloutState": state,
        "rolloutStateReason": reason,
    }


def stubbed_rollout(aws: dict[str, Any], deployments: list[dict[str, Any]]) -> Stubber:
    """ECS's answers after the circuit breaker acted; moto has no circuit breaker, so they are stubbed."""
    stub = Stubber(aws["ecs"])
    stub.add_response(
        "describe_services",
        {
            "services": [
                {
                    "serviceName": "web",
                    "status": "ACTIVE",
                    "deployments": deployments,
                    "events": [
                        {
                            "id": "1",
                            "message": "(service web) has started 1 tasks: (task 9f1).",
                            "createdAt": dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
                        }
                    ],
                }
            ],
            "failures": [],
        },
        {"cluster": CLUSTER, "services": ["web"]},
    )
    stopped = f"arn:aws:ecs:{REGION}:{DEFAULT_ACCOUNT_ID}:task/{CLUSTER}/9f1"
    stub.add_response(
        "list_tasks", {"taskArns": [stopped]}, {"cluster": CLUSTER, "serviceName": "web", "desiredStatus": "STOPPED"}
    )
    stub.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": stopped,
                    "taskDefinitionArn": aws["task_def"],
                    "stoppedReason": "Essential container in task exited",
                    "containers": [{"name": "web", "exitCode": 3, "reason": "ModuleNotFoundError: slipway_app.api"}],
                }
            ],
            "failures": [],
        },
        {"cluster": CLUSTER, "tasks": [stopped]},
    )
    return stub


def test_rollout_rolled_back_by_the_circuit_breaker_fails_naming_the_stopped_tasks(aws: dict[str, Any]) -> None:
    previous = aws["task_def"].replace(":1", ":0")
    stub = stubbed_rollout(
        aws,
        [
            _deployment(previous, "PRIMARY", "IN_PROGRESS", "ECS deployment circuit breaker: rolling back", 2, 0),
            _deployment(
                aws["task_def"], "ACTIVE", "FAILED", "ECS deployment circuit breaker: tasks failed to start.", 0, 4
            ),
        ],
    )
    with stub, pytest.raises(RolloutFailedError) as err:
        wait_for("web", aws)
    message = str(err.value)
    assert "was rolled back" in message and "circuit breaker: tasks failed to start" in message
    assert "Essential container in task exited" in message and "web exit 3" in message
    assert "ModuleNotFoundError" in message and "has started 1 tasks" in message
    assert f"/clusters/{CLUSTER}/services/web/deployments" in message
    stub.assert_no_pending_responses()


def test_rollout_failed_in_place_fails(aws: dict[str, Any]) -> None:
    stub = stubbed_rollout(aws, [_deployment(aws["task_def"], "PRIMARY", "FAILED", "tasks failed to start", 0, 3)])
    with stub, pytest.raises(RolloutFailedError, match="FAILED: tasks failed to start"):
        wait_for("web", aws)


def test_rollout_of_a_missing_service_fails(aws: dict[str, Any]) -> None:
    with pytest.raises(RolloutFailedError, match="MISSING"):
        wait_for("nope", aws)
