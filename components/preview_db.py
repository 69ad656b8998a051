"""PreviewDatabaseAdmin: dev's own, fixed way for pull-request previews to get and lose a database.

Declared in the stack previews share (dev, ``WebAppArgs.previews``), never in a preview: a one-off task definition
``<prefix>-preview-db`` running **dev's image** with dev's RDS master secret (its execution role reads that one
secret, pulls from dev's repository and writes dev's log group; its task role has no permissions), and the Step
Functions state machine ``<prefix>-preview-db`` that is the only way to run it. The state machine takes
``{"action": "create" | "drop", "pr": <1..49000>}``, refuses anything else (Choice states, :func:`input_states`)
and runs the task with ``ecs:runTask.sync`` overriding only the container's command, to
``["app", "preview-db", <action>, "pr_<pr>"]`` (``app preview-db`` accepts only ``pr_<n>`` names, too).

A preview's stack (deployed from the pull request's code, with the preview deploy role) only starts executions of
that state machine (``components.gates.PreviewDatabaseGate``; ``deploy/preview-teardown.sh`` for the drop): it can
neither change what the task runs nor read or pass the role that reads the master secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from .containers import ContainerSpec, fargate_task_definition
from .docs import document_fields
from .scheduled_job import state_machine_definition, task_state_machine
from .task_roles import TaskRoles, TaskRolesArgs

ACTIONS = ("create", "drop")
"""What a preview may ask of dev's state machine."""
CONTAINER = "preview-db"
"""The task's one container; the state machine overrides its command and nothing else."""
IDLE_COMMAND = ("app", "preview-db")
"""The task definition's own command: without the state machine's override it exits 2 (usage) and touches nothing."""
REFUSED = "Refused"
INPUT_ERROR = "InvalidInput"
TIMEOUT_SECONDS = 600


def input_states(max_pr: int) -> tuple[str, dict[str, Any]]:
    """The states ahead of the task (first state's name, states): the input must hold ``action`` (text, ``create``
    or ``drop``) and ``pr`` (a number 1..``max_pr`` whose text has no ``.``, so a whole number), else the execution
    fails with ``InvalidInput`` and no task starts. The command is built here, from the two checked values only.

    Amazon States Language (AWS Step Functions developer guide, "Choice workflow state", JSONPath Choice Rules:
    ``IsPresent``, ``IsString``, ``IsNumeric``, ``StringEquals``, ``NumericGreaterThanEquals``,
    ``NumericLessThanEquals``, ``StringMatches``, ``And``, ``Or``; "Intrinsic functions": ``States.Format``,
    ``States.Array``, in a Pass state's ``Parameters``). Presence, then type, then value, each its own Choice state:
    a comparison never meets a missing or mistyped field."""
    refused = {
        "Type": "Fail",
        "Error": INPUT_ERROR,
        "Cause": f'input must be {{"action": "create" or "drop", "pr": 1..{max_pr}}}',
    }
    name = "States.Format('pr_{}', $.pr)"
    return "InputPresent", {
        "InputPresent": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [{"Variable": "$.action", "IsPresent": True}, {"Variable": "$.pr", "IsPresent": True}],
                    "Next": "InputTypes",
                }
            ],
            "Default": REFUSED,
        },
        "InputTypes": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [{"Variable": "$.action", "IsString": True}, {"Variable": "$.pr", "IsNumeric": True}],
                    "Next": "InputValues",
                }
            ],
            "Default": REFUSED,
        },
        "InputValues": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Or": [{"Variable": "$.action", "StringEquals": action} for action in ACTIONS]},
                        {"Variable": "$.pr", "NumericGreaterThanEquals": 1},
                        {"Variable": "$.pr", "NumericLessThanEquals": max_pr},
                    ],
                    "Next": "Command",
                }
            ],
            "Default": REFUSED,
        },
        "Command": {
            "Type": "Pass",
            "Parameters": {
                "database.$": name,
                "command.$": f"States.Array('{IDLE_COMMAND[0]}', '{IDLE_COMMAND[1]}', $.action, {name})",
            },
            "ResultPath": "$.task",
            "Next": "WholeNumber",
        },
        "WholeNumber": {
            "Type": "Choice",
            # 12.5 (or 12.0) formats as pr_12.5: not a PR number
            "Choices": [{"Variable": "$.task.database", "StringMatches": "*.*", "Next": REFUSED}],
            "Default": "Run",
        },
        REFUSED: refused,
    }


def definition(
    *,
    name: str,
    cluster_arn: str,
    task_definition_arn: str,
    subnets: list[str],
    security_groups: list[str],
    assign_public_ip: bool,
    max_pr: int,
) -> str:
    """The state machine's document: :func:`input_states`, then the scheduled job's ``runTask.sync`` task
    (``components.scheduled_job.state_machine_definition``) with the checked command; executions may overlap (two
    pull requests at once), no retry (``app preview-db`` is idempotent: the caller runs it again)."""
    return state_machine_definition(
        name=name,
        cluster_arn=cluster_arn,
        task_definition_arn=task_definition_arn,
        subnets=subnets,
        security_groups=security_groups,
        assign_public_ip=assign_public_ip,
        capacity_provider="FARGATE",
        timeout_seconds=TIMEOUT_SECONDS,
        retries=0,
        retry_interval_seconds=1,
        allow_overlap=True,
        enable_execute_command=False,
        command=(CONTAINER, "$.task.command"),
        before=input_states(max_pr),
        comment="create or drop one preview's database (pr_<n>) with dev's image as the master user",
    )


@document_fields
@dataclass(frozen=True)
class PreviewDatabaseAdminArgs:
    cluster_arn: pulumi.Input[str]
    """dev's ECS cluster. Required."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets of the task (dev's task subnets). Required."""
    security_group_ids: Sequence[pulumi.Input[str]]
    """Groups of the task: one with HTTPS out (image, secret, logs) and the database's client group. Required."""
    assign_public_ip: pulumi.Input[bool]
    """Public IP (dev without NAT). Required."""
    image: pulumi.Input[str]
    """dev's own image, pinned by digest (never a pull request's). Required."""
    repository_arn: pulumi.Input[str]
    """dev's ECR repository (the execution role pulls from it). Required."""
    log_group_name: pulumi.Input[str]
    """dev's log group; the task writes under ``preview-db/``. Required."""
    log_group_arn: pulumi.Input[str]
    """ARN of that log group. Required."""
    region: pulumi.Input[str]
    """AWS region. Required."""
    db_address: pulumi.Input[str]
    """dev's RDS endpoint address. Required."""
    db_name: pulumi.Input[str]
    """dev's database the master user signs in to. Required."""
    db_username: pulumi.Input[str]
    """dev's master user. Required."""
    db_master_secret_arn: pulumi.Input[str]
    """dev's RDS-managed master secret: the only secret the task's execution role may read. Required."""
    max_pr: int
    """Highest PR number the state machine accepts (``components.preview.MAX_PR_NUMBER``). Required."""
    architecture: str = "arm64"
    """CPU architecture of dev's image. Default ``arm64``."""
    permissions_boundary: Optional[pulumi.Input[str]] = None
    """Permissions boundary of the three roles (dev's). Default None."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists."""
        from .validation import ARCHITECTURES, Checks

        c = Checks()
        from .preview import MAX_PR_NUMBER  # ALB listener-rule priorities

        c.int_range("max_pr", self.max_pr, 1, MAX_PR_NUMBER)
        c.one_of("architecture", self.architecture, ARCHITECTURES)
        c.digest_image("image", self.image)
        c.raise_for("PreviewDatabaseAdminArgs")


class PreviewDatabaseAdmin(pulumi.ComponentResource):
    """Outputs: ``state_machine_arn``, ``task_definition_arn``."""

    state_machine_arn: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: PreviewDatabaseAdminArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__("slipway:aws:PreviewDatabaseAdmin", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        roles = TaskRoles(
            name,
            TaskRolesArgs(
                repository_arns=pulumi.Output.all(args.repository_arn),
                log_group_arn=args.log_group_arn,
                secret_arns=pulumi.Output.all(args.db_master_secret_arn),
                permissions_boundary=args.permissions_boundary,
                tags=tags,
            ),
            opts=child,
        )
        spec = ContainerSpec(
            name=CONTAINER,
            image=args.image,
            log_group=args.log_group_name,
            region=args.region,
            stream_prefix=CONTAINER,
            environment={
                "DB_HOST": args.db_address,
                "DB_PORT": "5432",
                "DB_NAME": args.db_name,
                "DB_USER": args.db_username,
                "DB_SSLMODE": "verify-full",
                "DB_REGION": args.region,
            },
            secrets={
                "DB_PASSWORD": pulumi.Output.from_input(args.db_master_secret_arn).apply(lambda a: f"{a}:password::")
            },
            command=list(IDLE_COMMAND),
        )
        task_def = fargate_task_definition(
            f"{name}-task",
            family=name,
            cpu=256,
            memory=512,
            architecture=args.architecture,
            execution_role_arn=roles.execution_role_arn,
            task_role_arn=roles.task_role_arn,
            spec=spec,
            tags=tags,
            opts=child,
        )
        document = pulumi.Output.all(
            args.cluster_arn, task_def.arn, args.subnet_ids, args.assign_public_ip, *args.security_group_ids
        ).apply(
            lambda v: definition(
                name=name,
                cluster_arn=v[0],
                task_definition_arn=v[1],
                subnets=list(v[2]),
                assign_public_ip=bool(v[3]),
                security_groups=list(v[4:]),
                max_pr=args.max_pr,
            )
        )
        inv = pulumi.InvokeOutputOptions(parent=self)
        machine = task_state_machine(
            name,
            physical=name,
            definition=document,
            account=aws.get_caller_identity_output(opts=inv).account_id,
            region=args.region,
            cluster_arn=args.cluster_arn,
            pass_roles=[roles.execution_role_arn, roles.task_role_arn],
            permissions_boundary=args.permissions_boundary,
            tags=tags,
            parent=self,
            list_executions=False,
            description="Step Functions runs dev's preview-db task for a preview (validated input)",
        )
        self.state_machine_arn = machine.arn
        self.task_definition_arn = task_def.arn
        self.register_outputs(
            {"state_machine_arn": self.state_machine_arn, "task_definition_arn": self.task_definition_arn}
        )
