"""Dynamic providers that make ``pulumi up`` wait for ECS: the migration gate and the rollout check.

* :class:`MigrationGate` runs the migration task (``ecs_runner.run_one_off_task``) on create, and on update exactly
  when the image digest or the migration task definition changed (its ``diff``), and fails ``pulumi up`` with the
  task's exit code, stop reason and log tail when the migration fails.
* :class:`RolloutCheck` waits for the service's deployment of a task definition (``ecs_runner.wait_for_rollout``)
  and fails ``pulumi up`` when ECS's circuit breaker rolled it back.
* :class:`PreviewDatabaseGate` (a ``pr-<n>`` stack's) starts dev's ``<prefix>-preview-db`` state machine with
  ``{"action": "create", "pr": n}`` (``sfn_runner.run_execution``) and fails ``pulumi up`` with the execution's
  error and cause unless it succeeds. Dropping is ``deploy/preview-teardown.sh``'s, before ``pulumi destroy``: a
  delete here would drop the database whenever Pulumi deletes the resource (a rename, a replace), not only at the
  end of the preview.

All three run only in ``pulumi up`` (``preview`` calls ``check``/``diff`` only); ``delete`` does nothing, because
there is nothing to undo. The providers are serialized *by reference*: the provider process imports
``slipway_aws.gates`` and ``slipway_aws.ecs_runner`` from the venv (the installed library) and uses the AWS
credentials of the ``pulumi`` process environment, or the stack's ``aws:profile`` when it sets one. Progress lines
go to the provider's stderr (``pulumi up --logtostderr -v=3``); results and failures always reach the CLI as outputs
or as the update's error.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult
from pulumi.runtime import rpc

from . import ecs_runner, sfn_runner
from .docs import document_fields

MIGRATION_TRIGGERS = ("image_digest", "task_definition")
"""Inputs whose change re-runs the migration. Nothing else does (an alarm threshold must never re-run it)."""
ROLLOUT_TRIGGERS = ("task_definition", "service", "cluster")
"""Inputs whose change makes the rollout check wait again."""

_MIGRATION_REQUIRED = (
    "cluster",
    "task_definition",
    "container_name",
    "subnets",
    "security_groups",
    "log_group",
    "log_stream_prefix",
    "region",
    "image_digest",
)
_ROLLOUT_REQUIRED = ("cluster", "service", "task_definition", "region")
DATABASE_TRIGGERS = ("state_machine", "pr")
"""Inputs whose change runs the database-creating execution again (``app preview-db create`` is idempotent)."""
_DATABASE_REQUIRED = ("state_machine", "pr", "region")


def _known(value: Any) -> bool:
    return value != rpc.UNKNOWN


def _check(news: dict[str, Any], required: Sequence[str]) -> list[CheckFailure]:
    failures = [
        CheckFailure(key, f"{key} is required")
        for key in required
        if _known(news.get(key)) and news.get(key) in (None, "", [])
    ]
    timeout = news.get("timeout_s")
    if _known(timeout) and timeout is not None and not (60 <= float(timeout) <= 86_400):
        failures.append(CheckFailure("timeout_s", f"timeout_s={timeout}: use 60..86400 seconds"))
    digest = news.get("image_digest")
    if "image_digest" in required and isinstance(digest, str) and _known(digest) and "@sha256:" not in digest:
        failures.append(
            CheckFailure("image_digest", f"image_digest={digest!r} is not pinned: use repository@sha256:...")
        )
    return failures


def _changed(olds: dict[str, Any], news: dict[str, Any], keys: Sequence[str]) -> list[str]:
    return [k for k in keys if olds.get(k) != news.get(k)]


def _inputs(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if not k.startswith("__")}


class _WaitingProvider(ResourceProvider):
    """Shared machinery: validate ``required`` inputs, change only when a ``trigger`` input changes, act on create
    and update, never on delete."""

    triggers: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, _check(news, self.required))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=bool(_changed(olds, news, self.triggers)), replaces=[])

    def act(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Do the work; return the resource id and the outputs beyond the inputs."""
        raise NotImplementedError

    def create(self, props: dict[str, Any]) -> CreateResult:
        id_, outs = self.act(props)
        return CreateResult(id_=id_, outs={**_inputs(props), **outs})

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={**_inputs(news), **self.act(news)[1]})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: a migration cannot be un-run, and a finished rollout needs no cleanup."""


class MigrationGateProvider(_WaitingProvider):
    """Runs the migration task; see the module docstring."""

    triggers = MIGRATION_TRIGGERS
    required = _MIGRATION_REQUIRED

    def act(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        result = ecs_runner.run_one_off_task(
            cluster=props["cluster"],
            task_definition=props["task_definition"],
            container_name=props["container_name"],
            subnets=props["subnets"],
            security_groups=props["security_groups"],
            assign_public_ip=bool(props.get("assign_public_ip")),
            log_group=props["log_group"],
            log_stream_prefix=props["log_stream_prefix"],
            region=props["region"],
            timeout_s=float(props.get("timeout_s") or 900),
            started_by="slipway-migration-gate",
            profile=props.get("aws_profile") or None,
        )
        result.raise_for_failure()
        return f"migration-{result.task_arn.rsplit('/', 1)[-1]}", {
            "task_arn": result.task_arn,
            "exit_code": result.exit_code,
            "duration_s": round(result.duration_s, 1),
            "ran_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }


class RolloutCheckProvider(_WaitingProvider):
    """Waits for the service rollout; see the module docstring."""

    triggers = ROLLOUT_TRIGGERS
    required = _ROLLOUT_REQUIRED

    def act(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        deployment = ecs_runner.wait_for_rollout(
            cluster=props["cluster"],
            service=props["service"],
            task_definition=props["task_definition"],
            region=props["region"],
            timeout_s=float(props.get("timeout_s") or 1800),
            profile=props.get("aws_profile") or None,
        )
        return f"rollout-{deployment.get('id') or 'ok'}", {
            "deployment_id": deployment.get("id", ""),
            "running_count": deployment.get("runningCount", 0),
        }


def create_input(pr: int) -> dict[str, Any]:
    """The input of dev's preview-db state machine that creates ``pr_<pr>``."""
    return {"action": "create", "pr": pr}


def create_execution_name(pr: int, env: Mapping[str, str]) -> str:
    """The creating execution's name. In a GitHub Actions run, ``create-pr-<pr>-run-<run id>-<attempt>``: the
    preview workflow starts that same execution before its install, and the gate then waits for it instead of
    starting another (StartExecution is idempotent on name and input). Elsewhere a new name per run."""
    run, attempt = env.get("GITHUB_RUN_ID"), env.get("GITHUB_RUN_ATTEMPT")
    if run and attempt and run.isdigit() and attempt.isdigit():
        return f"create-pr-{pr}-run-{run}-{attempt}"
    return f"create-pr-{pr}-{int(time.time())}"


class PreviewDatabaseGateProvider(_WaitingProvider):
    """Creates the preview's database through dev's state machine; see the module docstring."""

    triggers = DATABASE_TRIGGERS
    required = _DATABASE_REQUIRED

    def act(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        pr = int(props["pr"])
        result = sfn_runner.run_execution(
            state_machine_arn=props["state_machine"],
            execution_input=create_input(pr),
            name=create_execution_name(pr, os.environ),
            region=props["region"],
            timeout_s=float(props.get("timeout_s") or 900),
            profile=props.get("aws_profile") or None,
        )
        return f"preview-db-pr-{pr}", {
            "execution_arn": result.execution_arn,
            "duration_s": round(result.duration_s, 1),
            "ran_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }


@document_fields
@dataclass(frozen=True)
class MigrationGateArgs:
    cluster: pulumi.Input[str]
    """ECS cluster ARN the task runs in. Required."""
    task_definition: pulumi.Input[str]
    """Migration task definition ARN; a new revision re-runs the migration. Required."""
    container_name: str
    """Container whose exit code decides success. Required."""
    subnets: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets of the task (the service's). Required."""
    security_groups: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Security groups of the task (must include the database's client group). Required."""
    assign_public_ip: pulumi.Input[bool]
    """Public IP (a VPC without NAT). Required."""
    log_group: pulumi.Input[str]
    """Log group the task writes to; its tail goes into the error on failure. Required."""
    log_stream_prefix: str
    """awslogs stream prefix of the task's container. Required."""
    region: pulumi.Input[str]
    """AWS region. Required."""
    image_digest: pulumi.Input[str]
    """The image ``repo@sha256:...`` the migration runs; a new digest re-runs it. Required."""
    timeout_s: int = 900
    """Seconds to wait for the task to stop before stopping it and failing. Default 900."""
    aws_profile: Optional[str] = None
    """Named AWS profile for the gate's calls (the stack's ``aws:profile``). Default None: default credentials."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _migration_gate_args(self)


class MigrationGate(pulumi.dynamic.Resource, module="slipway", name="MigrationGate"):
    """Runs the migration task during ``pulumi up``. Outputs: ``task_arn``, ``exit_code``."""

    task_arn: pulumi.Output[str]
    exit_code: pulumi.Output[int]

    def __init__(self, name: str, args: MigrationGateArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        props = {
            "cluster": args.cluster,
            "task_definition": args.task_definition,
            "container_name": args.container_name,
            "subnets": args.subnets,
            "security_groups": args.security_groups,
            "assign_public_ip": args.assign_public_ip,
            "log_group": args.log_group,
            "log_stream_prefix": args.log_stream_prefix,
            "region": args.region,
            "image_digest": args.image_digest,
            "timeout_s": args.timeout_s,
            "aws_profile": args.aws_profile,
            "task_arn": None,
            "exit_code": None,
        }
        super().__init__(MigrationGateProvider(), name, props, opts)


@document_fields
@dataclass(frozen=True)
class RolloutCheckArgs:
    cluster: pulumi.Input[str]
    """ECS cluster ARN or name. Required."""
    service: pulumi.Input[str]
    """ECS service name. Required."""
    task_definition: pulumi.Input[str]
    """Task definition ARN the rollout must end on. Required."""
    region: pulumi.Input[str]
    """AWS region. Required."""
    timeout_s: int = 1800
    """Seconds to wait for the rollout. Default 1800 (the circuit breaker decides well before)."""
    aws_profile: Optional[str] = None
    """Named AWS profile for the check's calls (the stack's ``aws:profile``). Default None: default credentials."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _rollout_check_args(self)


class RolloutCheck(pulumi.dynamic.Resource, module="slipway", name="RolloutCheck"):
    """Fails ``pulumi up`` when the service's deployment fails or is rolled back. Output: ``deployment_id``."""

    deployment_id: pulumi.Output[str]

    def __init__(self, name: str, args: RolloutCheckArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        props = {
            "cluster": args.cluster,
            "service": args.service,
            "task_definition": args.task_definition,
            "region": args.region,
            "timeout_s": args.timeout_s,
            "aws_profile": args.aws_profile,
            "deployment_id": None,
            "running_count": None,
        }
        super().__init__(RolloutCheckProvider(), name, props, opts)


@document_fields
@dataclass(frozen=True)
class PreviewDatabaseGateArgs:
    state_machine: pulumi.Input[str]
    """ARN of dev's ``<prefix>-preview-db`` state machine (dev's ``preview`` output). Required."""
    pr: int
    """The pull request's number: the execution creates role and database ``pr_<pr>``. Required."""
    region: pulumi.Input[str]
    """AWS region of the state machine. Required."""
    timeout_s: int = 900
    """Seconds to wait for the execution. Default 900."""
    aws_profile: Optional[str] = None
    """Named AWS profile for the gate's calls (the stack's ``aws:profile``). Default None: default credentials."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _preview_database_gate_args(self)


class PreviewDatabaseGate(pulumi.dynamic.Resource, module="slipway", name="PreviewDatabaseGate"):
    """Creates a preview's database (dev's state machine) during ``pulumi up``. Output: ``execution_arn``."""

    execution_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PreviewDatabaseGateArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        props = {
            "state_machine": args.state_machine,
            "pr": args.pr,
            "region": args.region,
            "timeout_s": args.timeout_s,
            "aws_profile": args.aws_profile,
            "execution_arn": None,
        }
        super().__init__(PreviewDatabaseGateProvider(), name, props, opts)


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _gate_timeout(owner: str, field: str, value: int) -> None:
    from .validation import Checks, plain

    c = Checks()
    if plain(value) and not 60 <= value <= 86_400:
        c.bad(field, value, "use 60..86400 seconds", (field, 900))
    c.raise_for(owner)


def _migration_gate_args(args: MigrationGateArgs) -> None:
    from .validation import Checks, plain

    c = Checks()
    if not args.container_name:
        c.bad("container_name", args.container_name, "container_name and log_stream_prefix are required")
    if not args.log_stream_prefix:
        c.bad("log_stream_prefix", args.log_stream_prefix, "container_name and log_stream_prefix are required")
    if plain(args.timeout_s) and not 60 <= args.timeout_s <= 86_400:
        c.bad("timeout_s", args.timeout_s, "use 60..86400 seconds", ("timeout_s", 900))
    c.raise_for("MigrationGateArgs")


def _rollout_check_args(args: RolloutCheckArgs) -> None:
    _gate_timeout("RolloutCheckArgs", "timeout_s", args.timeout_s)


def _preview_database_gate_args(args: PreviewDatabaseGateArgs) -> None:
    from .preview import MAX_PR_NUMBER
    from .validation import Checks, plain

    c = Checks()
    # dev's state machine refuses any other number (components/preview_db.py); refused here before anything runs.
    if not isinstance(args.pr, int) or isinstance(args.pr, bool) or not 1 <= args.pr <= MAX_PR_NUMBER:
        c.bad("pr", args.pr, f"a pull request number 1..{MAX_PR_NUMBER}")
    if plain(args.timeout_s) and not 60 <= args.timeout_s <= 86_400:
        c.bad("timeout_s", args.timeout_s, "use 60..86400 seconds", ("timeout_s", 900))
    c.raise_for("PreviewDatabaseGateArgs")
