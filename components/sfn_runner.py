"""Start a Step Functions execution and wait for it to end. Plain boto3, no Pulumi.

Used by the preview's database gate (``components/gates.py``: dev's ``<prefix>-preview-db`` state machine) and usable
on its own. Calls, with their shapes in botocore's ``stepfunctions`` service model: ``StartExecution``
(``stateMachineArn``, ``name``, ``input``) and ``DescribeExecution`` (``executionArn`` -> ``status``, ``error``,
``cause``, ``output``). Every failure is an :class:`ecs_runner.EcsRunError` (the runners' one base class) saying the
execution's status, error and cause, and a console link.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from botocore.exceptions import ClientError

from .ecs_runner import EcsRunError, Progress, _stderr, aws_client

ENDED_BADLY = ("FAILED", "TIMED_OUT", "ABORTED")
"""DescribeExecution statuses that end an execution without success (``ExecutionStatus`` in botocore's model;
``RUNNING`` and ``PENDING_REDRIVE`` are still going)."""


class ExecutionStartError(EcsRunError):
    """``StartExecution`` was refused (no such state machine, no permission, bad input)."""


class ExecutionFailedError(EcsRunError):
    """The execution ended FAILED, TIMED_OUT or ABORTED."""

    def __init__(self, message: str, status: str, error: str, cause: str) -> None:
        super().__init__(message)
        self.status, self.error, self.cause = status, error, cause


class ExecutionTimeoutError(EcsRunError):
    """The execution had not ended within the timeout (it goes on in Step Functions)."""


@dataclass(frozen=True)
class ExecutionResult:
    """A succeeded execution."""

    execution_arn: str
    output: str
    duration_s: float


def execution_console_url(region: str, execution_arn: str) -> str:
    """Link to the execution in the Step Functions console."""
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"


def execution_arn_of(state_machine_arn: str, name: str) -> str:
    """``arn:aws:states:R:A:stateMachine:M`` and ``N`` -> ``arn:aws:states:R:A:execution:M:N`` (the ARN format of
    Step Functions' ``execution`` resource type)."""
    head, _, machine = state_machine_arn.rpartition(":stateMachine:")
    return f"{head}:execution:{machine}:{name}"


def run_execution(
    *,
    state_machine_arn: str,
    execution_input: Mapping[str, Any],
    name: Optional[str] = None,
    region: Optional[str] = None,
    timeout_s: float = 900,
    poll_s: float = 5,
    profile: Optional[str] = None,
    sfn_client: Any = None,
    progress: Progress = _stderr,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ExecutionResult:
    """Start one execution of ``state_machine_arn`` with ``execution_input`` (JSON) and wait until it ends. With a
    ``name`` already started with the same input (running or ended), that execution is waited for instead.

    Returns on ``SUCCEEDED``; raises :class:`ExecutionStartError` when it cannot start, :class:`ExecutionFailedError`
    with its error and cause when it ends otherwise, :class:`ExecutionTimeoutError` after ``timeout_s`` (the
    execution is left running: stopping it needs ``states:StopExecution``, which its callers are not given).
    """
    if timeout_s <= 0 or poll_s <= 0:
        raise ValueError("timeout_s and poll_s must be positive")
    sfn = sfn_client or aws_client("stepfunctions", region, profile)
    region = region or sfn.meta.region_name
    request: dict[str, Any] = {"stateMachineArn": state_machine_arn, "input": json.dumps(dict(execution_input))}
    if name:
        request["name"] = name[:80]  # Name: 1-80 characters (botocore's model)
    try:
        execution_arn = sfn.start_execution(**request)["executionArn"]
    except ClientError as err:
        if not (name and err.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists"):
            raise ExecutionStartError(f"states.start_execution({state_machine_arn}) was refused: {err}") from err
        # The name was used: by this same request started earlier (preview-env.yml starts the preview's database
        # beside its install). StartExecution answers a running one with its ARN and a closed one with this error
        # (botocore's StartExecution documentation), so the closed one is looked up and its end taken as ours.
        execution_arn = execution_arn_of(state_machine_arn, request["name"])
        earlier = sfn.describe_execution(executionArn=execution_arn)
        if earlier.get("input") != request["input"]:
            raise ExecutionStartError(
                f"execution name {request['name']} of {state_machine_arn} is taken by an execution with another "
                f"input ({earlier.get('input')!r}, not {request['input']!r})"
            ) from err
    url = execution_console_url(str(region), execution_arn)
    progress(f"started execution {execution_arn.rsplit(':', 1)[-1]} of {state_machine_arn.rsplit(':', 1)[-1]}")
    started = clock()
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        status = described["status"]
        elapsed = clock() - started
        if status == "SUCCEEDED":
            progress(f"execution {execution_arn.rsplit(':', 1)[-1]} succeeded after {elapsed:.0f}s")
            return ExecutionResult(execution_arn=execution_arn, output=described.get("output", ""), duration_s=elapsed)
        if status in ENDED_BADLY:
            error, cause = described.get("error", ""), described.get("cause", "")
            raise ExecutionFailedError(
                f"execution {execution_arn} ended {status} after {elapsed:.0f}s\n"
                f"  error: {error or 'none given'}\n  cause: {cause or 'none given'}\n  console: {url}",
                status,
                error,
                cause,
            )
        if elapsed >= timeout_s:
            raise ExecutionTimeoutError(
                f"execution {execution_arn} was still {status} after {timeout_s:.0f}s; it goes on in Step "
                f"Functions. Console: {url}"
            )
        sleep(poll_s)
