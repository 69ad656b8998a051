"""Run a one-off ECS task and wait for it; wait for an ECS service rollout. Plain boto3, no Pulumi.

Used by the migration gate and the rollout check (``components/gates.py``) inside ``pulumi up``, and usable on its own
(for example from a runbook). Every failure is an :class:`EcsRunError` whose message says what happened and what to
look at: exit code, stop reason, the task's last log lines and a console link.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import boto3
from botocore.exceptions import ClientError

Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def aws_client(service: str, region: Optional[str], profile: Optional[str] = None) -> Any:
    """A boto3 client for ``region``, with the named ``profile`` when the stack sets ``aws:profile``."""
    return boto3.Session(profile_name=profile, region_name=region).client(service)


class EcsRunError(Exception):
    """Base class of every error raised here."""


class TaskStartError(EcsRunError):
    """``run_task`` did not start the task (capacity, bad network settings, missing task definition...)."""


class TaskFailedError(EcsRunError):
    """The task stopped with a non-zero exit code, or without its container ever running."""

    def __init__(self, message: str, result: TaskResult) -> None:
        super().__init__(message)
        self.result = result


class TaskTimeoutError(EcsRunError):
    """The task did not stop within the timeout; it was stopped."""


class RolloutFailedError(EcsRunError):
    """The deployment failed or ECS rolled it back: the service does not run the requested task definition."""


class RolloutTimeoutError(EcsRunError):
    """The deployment did not complete within the timeout."""


def _resource_name(arn: str) -> str:
    """``arn:aws:ecs:r:a:cluster/name`` -> ``name``; a bare name stays as it is."""
    return arn.rsplit("/", 1)[-1] if arn.startswith("arn:") else arn


def task_console_url(region: str, cluster: str, task_arn: str) -> str:
    """Link to the task in the ECS console (works for stopped tasks for about an hour after they stop)."""
    return (
        f"https://{region}.console.aws.amazon.com/ecs/v2/clusters/{_resource_name(cluster)}/tasks/"
        f"{_resource_name(task_arn)}/configuration?region={region}"
    )


def service_console_url(region: str, cluster: str, service: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/ecs/v2/clusters/{_resource_name(cluster)}/services/"
        f"{_resource_name(service)}/deployments?region={region}"
    )


@dataclass(frozen=True)
class TaskResult:
    """How a one-off task ended."""

    task_arn: str
    exit_code: Optional[int]
    """The container's exit code; None when it never ran (image pull failure, secrets not readable...)."""
    stop_reason: str
    """ECS's stop code and reason, and the container's reason when there is one."""
    log_tail: list[str] = field(default_factory=list)
    console_url: str = ""
    duration_s: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0

    def describe(self) -> str:
        tail = "\n".join(f"    {line}" for line in self.log_tail) or "    (no log lines)"
        code = "none (the container never ran)" if self.exit_code is None else str(self.exit_code)
        return (
            f"task {_resource_name(self.task_arn)} stopped after {self.duration_s:.0f}s\n"
            f"  exit code: {code}\n  stop reason: {self.stop_reason or 'unknown'}\n"
            f"  last log lines:\n{tail}\n  console: {self.console_url}"
        )

    def raise_for_failure(self) -> TaskResult:
        if not self.succeeded:
            raise TaskFailedError(f"one-off task failed: {self.describe()}", self)
        return self


def log_stream_name(prefix: str, container: str, task_arn: str) -> str:
    """The awslogs driver's stream name: ``<prefix>/<container>/<task id>``."""
    return f"{prefix}/{container}/{_resource_name(task_arn)}"


def read_log_tail(logs_client: Any, group: str, stream: str, lines: int) -> list[str]:
    """The last ``lines`` messages of a log stream; a note instead when the stream does not exist (yet)."""
    try:
        events = logs_client.get_log_events(logGroupName=group, logStreamName=stream, limit=lines, startFromHead=False)[
            "events"
        ]
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            return [f"(log stream {group}/{stream} does not exist: the container wrote nothing or never started)"]
        return [f"(could not read {group}/{stream}: {err})"]
    return [e["message"].rstrip("\n") for e in events][-lines:]


def _stop_reason(task: dict[str, Any], container: Optional[dict[str, Any]]) -> str:
    parts = [p for p in (task.get("stopCode"), task.get("stoppedReason")) if p]
    if container and container.get("reason"):
        parts.append(f"container: {container['reason']}")
    return "; ".join(parts)


def run_one_off_task(
    *,
    cluster: str,
    task_definition: str,
    container_name: str,
    subnets: Sequence[str],
    security_groups: Sequence[str],
    assign_public_ip: bool,
    log_group: str,
    log_stream_prefix: str,
    command: Optional[Sequence[str]] = None,
    environment: Optional[Mapping[str, str]] = None,
    region: Optional[str] = None,
    timeout_s: float = 900,
    poll_s: float = 5,
    log_lines: int = 40,
    started_by: str = "slipway",
    profile: Optional[str] = None,
    ecs_client: Any = None,
    logs_client: Any = None,
    progress: Progress = _stderr,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> TaskResult:
    """Start one Fargate task, wait until it stops (at most ``timeout_s``) and return how it ended.

    Raises :class:`TaskStartError` when ECS does not start it and :class:`TaskTimeoutError` (after stopping the task)
    when it runs too long. A non-zero exit is *returned*; call :meth:`TaskResult.raise_for_failure` to turn it into an
    error. One progress line is emitted per state change. ``command`` and ``environment`` override the container's
    (``environment`` adds to or replaces single variables of the task definition's, e.g. ``DB_HOST``).
    """
    if not subnets:
        raise ValueError("subnets: at least one subnet is required for an awsvpc task")
    if timeout_s <= 0 or poll_s <= 0:
        raise ValueError("timeout_s and poll_s must be positive")
    ecs = ecs_client or aws_client("ecs", region, profile)
    logs = logs_client or aws_client("logs", region, profile)
    region = region or ecs.meta.region_name
    request: dict[str, Any] = {
        "cluster": cluster,
        "taskDefinition": task_definition,
        "count": 1,
        "launchType": "FARGATE",
        "startedBy": started_by[:128],
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": list(subnets),
                "securityGroups": list(security_groups),
                "assignPublicIp": "ENABLED" if assign_public_ip else "DISABLED",
            }
        },
    }
    override: dict[str, Any] = {"name": container_name}
    if command:
        override["command"] = list(command)
    if environment:
        override["environment"] = [{"name": k, "value": v} for k, v in environment.items()]
    if len(override) > 1:
        request["overrides"] = {"containerOverrides": [override]}
    try:
        response = ecs.run_task(**request)
    except ClientError as err:
        raise TaskStartError(f"ecs.run_task({_resource_name(task_definition)}) was refused: {err}") from err
    if response.get("failures") or not response.get("tasks"):
        reasons = (
            "; ".join(
                f"{f.get('arn', '?')}: {f.get('reason', '?')} {f.get('detail', '')}".strip()
                for f in response.get("failures", [])
            )
            or "no task and no failure returned"
        )
        raise TaskStartError(
            f"ECS did not start {_resource_name(task_definition)} in cluster {_resource_name(cluster)}: {reasons}"
        )
    task_arn = response["tasks"][0]["taskArn"]
    url = task_console_url(region, cluster, task_arn)
    stream = log_stream_name(log_stream_prefix, container_name, task_arn)
    progress(f"started task {_resource_name(task_arn)} ({_resource_name(task_definition)}); logs: {log_group} {stream}")
    started = clock()
    last_status = None
    while True:
        tasks = ecs.describe_tasks(cluster=cluster, tasks=[task_arn]).get("tasks", [])
        task: dict[str, Any] = tasks[0] if tasks else {"lastStatus": "UNKNOWN"}
        status = task.get("lastStatus")
        elapsed = clock() - started
        if status != last_status:
            progress(f"task {_resource_name(task_arn)}: {status} after {elapsed:.0f}s")
            last_status = status
        if status == "STOPPED":
            container: Optional[dict[str, Any]] = next(
                (c for c in task.get("containers", []) if c.get("name") == container_name), None
            )
            exit_code = container.get("exitCode") if container else None
            return TaskResult(
                task_arn=task_arn,
                exit_code=exit_code,
                stop_reason=_stop_reason(task, container),
                log_tail=read_log_tail(logs, log_group, stream, log_lines),
                console_url=url,
                duration_s=elapsed,
            )
        if elapsed >= timeout_s:
            reason = f"slipway: no result after {timeout_s:.0f}s"
            try:
                ecs.stop_task(cluster=cluster, task=task_arn, reason=reason)
            except ClientError as err:
                progress(f"could not stop task {_resource_name(task_arn)}: {err}")
            tail = "\n".join(f"    {line}" for line in read_log_tail(logs, log_group, stream, log_lines))
            raise TaskTimeoutError(
                f"task {_resource_name(task_arn)} was still {status} after {timeout_s:.0f}s and was "
                f"stopped. Raise the timeout if the migration is legitimately long (and make it "
                f"batched), or look for a lock wait.\n  last log lines:\n{tail}\n  console: {url}"
            )
        sleep(poll_s)


def _stopped_task_reasons(ecs: Any, cluster: str, service: str, task_definition: str, limit: int = 5) -> list[str]:
    """Why the deployment's tasks stopped: ``stoppedReason`` and container exit codes/reasons."""
    arns = ecs.list_tasks(cluster=cluster, serviceName=_resource_name(service), desiredStatus="STOPPED").get(
        "taskArns", []
    )[:100]
    if not arns:
        return []
    reasons = []
    for task in ecs.describe_tasks(cluster=cluster, tasks=arns).get("tasks", []):
        if task.get("taskDefinitionArn") != task_definition:
            continue
        containers = ", ".join(
            f"{c.get('name')} exit {c.get('exitCode')}" + (f" ({c['reason']})" if c.get("reason") else "")
            for c in task.get("containers", [])
        )
        reasons.append(
            f"{_resource_name(task['taskArn'])}: {task.get('stoppedReason', 'unknown')}"
            + (f" [{containers}]" if containers else "")
        )
    return reasons[:limit]


def _recent_events(service: dict[str, Any], limit: int = 5) -> list[str]:
    return [e.get("message", "") for e in service.get("events", [])[:limit]]


def wait_for_rollout(
    *,
    cluster: str,
    service: str,
    task_definition: str,
    region: Optional[str] = None,
    timeout_s: float = 1800,
    poll_s: float = 10,
    profile: Optional[str] = None,
    ecs_client: Any = None,
    progress: Progress = _stderr,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Wait until the service's PRIMARY deployment runs ``task_definition`` with rollout state COMPLETED.

    Raises :class:`RolloutFailedError` when that deployment FAILED or ECS's circuit breaker rolled it back (the PRIMARY
    deployment runs another task definition), naming the stopped tasks' reasons and recent service events, and
    :class:`RolloutTimeoutError` after ``timeout_s``. Returns the completed deployment.
    """
    ecs = ecs_client or aws_client("ecs", region, profile)
    region = region or ecs.meta.region_name
    url = service_console_url(region, cluster, service)
    started = clock()
    last_line = None

    def failure(summary: str, svc: dict[str, Any]) -> RolloutFailedError:
        reasons = _stopped_task_reasons(ecs, cluster, service, task_definition)
        lines = [summary]
        if reasons:
            lines += ["  stopped tasks:"] + [f"    {r}" for r in reasons]
        events = _recent_events(svc)
        if events:
            lines += ["  recent service events:"] + [f"    {e}" for e in events]
        lines.append(f"  console: {url}")
        return RolloutFailedError("\n".join(lines))

    while True:
        described = ecs.describe_services(cluster=cluster, services=[service])
        services = described.get("services", [])
        if not services or services[0].get("status") != "ACTIVE":
            why = "; ".join(f.get("reason", "?") for f in described.get("failures", [])) or "not ACTIVE"
            raise RolloutFailedError(f"service {_resource_name(service)} in cluster {_resource_name(cluster)}: {why}")
        svc = services[0]
        deployments = svc.get("deployments", [])
        primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
        ours = next((d for d in deployments if d.get("taskDefinition") == task_definition), None)
        elapsed = clock() - started
        if primary is None:
            raise failure(f"service {_resource_name(service)} has no PRIMARY deployment", svc)
        if primary.get("taskDefinition") != task_definition:
            if ours is None or ours.get("rolloutState") == "FAILED":
                reason = ours.get("rolloutStateReason", "") if ours else "its deployment is gone"
                raise failure(
                    f"deployment of {_resource_name(task_definition)} was rolled back: the service runs "
                    f"{_resource_name(primary.get('taskDefinition', '?'))} again ({reason})",
                    svc,
                )
        elif primary.get("rolloutState") == "COMPLETED":
            progress(f"rollout of {_resource_name(task_definition)} completed after {elapsed:.0f}s")
            return primary
        elif primary.get("rolloutState") == "FAILED":
            raise failure(
                f"deployment of {_resource_name(task_definition)} FAILED: "
                f"{primary.get('rolloutStateReason', 'no reason given')}",
                svc,
            )
        line = (
            f"rollout of {_resource_name(task_definition)}: {primary.get('rolloutState', '?')}, "
            f"{primary.get('runningCount', 0)}/{primary.get('desiredCount', 0)} running, "
            f"{primary.get('failedTasks', 0)} failed"
        )
        if line != last_line:
            progress(f"{line} after {elapsed:.0f}s")
            last_line = line
        if elapsed >= timeout_s:
            raise RolloutTimeoutError(
                f"{line} after {timeout_s:.0f}s; the deployment goes on in ECS and the circuit "
                f"breaker will roll it back if tasks keep failing. Console: {url}"
            )
        sleep(poll_s)
