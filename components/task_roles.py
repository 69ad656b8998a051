"""TaskRoles: the ECS execution role and task role shared by the web service and the migration task.

- Execution role (used by the ECS agent, not the app): pull from exactly our ECR repository, write to exactly our
  log group, read exactly our secrets. ``ecr:GetAuthorizationToken`` has no resource-level scoping in IAM, so it
  alone is granted on ``*``.
- Task role (the app's own identity): no permissions, assumable only by ECS tasks of this account and region;
  ``execute_command`` adds ECS Exec's SSM channels and audit log. Add statements with ``task_policy_json`` only when
  the app needs an AWS API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from .docs import document_fields
from .iam import service_trust


def execution_role_trust(account_id: str) -> str:
    """Trust for the ECS agent's role: ECS acting for this account only (confused-deputy protection)."""
    return service_trust("ecs-tasks.amazonaws.com", account_id)


def task_role_trust(account_id: str, region: str) -> str:
    """Trust for the app's own role: ECS tasks of this account and region only (confused-deputy protection, as the
    ECS task IAM role documentation recommends)."""
    return service_trust("ecs-tasks.amazonaws.com", account_id, f"arn:aws:ecs:{region}:{account_id}:*")


@document_fields
@dataclass(frozen=True)
class TaskRolesArgs:
    repository_arns: pulumi.Input[list[str]]
    """ARNs of the ECR repositories images are pulled from: our own, plus the source repository of a promoted
    image. Required."""
    log_group_arn: pulumi.Input[str]
    """ARN of the log group containers write to. Required."""
    secret_arns: pulumi.Input[list[str]]
    """Exact Secrets Manager ARNs injected with ``valueFrom``. Required."""
    task_policy_json: Optional[pulumi.Input[str]] = None
    """Inline policy for the app's own role. Default None: the app gets no AWS permissions."""
    execute_command: bool = False
    """Let ECS Exec into the tasks (``slipway exec``): the task role may open the SSM Session Manager channels and
    write the session's audit log to ``log_group_arn`` (``components.companion.exec_policy_document``; slipway's role
    boundary allows exactly these). Default False (``WebAppArgs.execute_command`` turns it on in dev)."""
    permissions_boundary: Optional[pulumi.Input[str]] = None
    """ARN of a managed policy set as the permissions boundary of every role this component creates (the most any
    of them may ever do, whatever policy is attached later). Default None: no boundary."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _task_roles_args(self)


def execution_policy_document(repository_arns: list[str], log_group_arn: str, secret_arns: list[str]) -> str:
    """Least-privilege policy JSON for the ECS execution role."""
    log_group = log_group_arn.removesuffix(":*")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "EcrAuth", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
                {
                    "Sid": "PullAppImage",
                    "Effect": "Allow",
                    "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    "Resource": sorted(set(repository_arns)),
                },
                {
                    "Sid": "WriteAppLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [f"{log_group}:log-stream:*"],
                },
                {
                    "Sid": "ReadAppSecrets",
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": sorted(secret_arns),
                },
            ],
        }
    )


class TaskRoles(pulumi.ComponentResource):
    """Outputs: ``execution_role_arn``, ``task_role_arn``."""

    execution_role_arn: pulumi.Output[str]
    task_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: TaskRolesArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:TaskRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        inv = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=inv).account_id
        execution = aws.iam.Role(
            f"{name}-execution",
            assume_role_policy=account_id.apply(execution_role_trust),
            description="ECS agent: pull the app image, write its logs, read its secrets",
            permissions_boundary=args.permissions_boundary,
            tags=tags,
            opts=child,
        )
        policy = pulumi.Output.all(args.repository_arns, args.log_group_arn, args.secret_arns).apply(
            lambda a: execution_policy_document(a[0], a[1], a[2])
        )
        execution_policy = aws.iam.RolePolicy(f"{name}-execution-policy", role=execution.id, policy=policy, opts=child)
        trust = pulumi.Output.all(account_id, aws.get_region_output(opts=inv).region).apply(
            lambda a: task_role_trust(a[0], a[1])
        )
        task = aws.iam.Role(
            f"{name}-task",
            assume_role_policy=trust,
            description="The app's own identity: no AWS permissions unless granted",
            permissions_boundary=args.permissions_boundary,
            tags=tags,
            opts=child,
        )
        if args.task_policy_json is not None:
            aws.iam.RolePolicy(f"{name}-task-policy", role=task.id, policy=args.task_policy_json, opts=child)
        if args.execute_command:
            from .companion import exec_policy_document

            exec_policy = pulumi.Output.from_input(args.log_group_arn).apply(exec_policy_document)
            aws.iam.RolePolicy(f"{name}-exec-policy", role=task.id, policy=exec_policy, opts=child)
        # Tasks must not start before their execution role can read the secrets.
        self.execution_role_arn = pulumi.Output.all(execution.arn, execution_policy.id).apply(lambda p: p[0])
        self.task_role_arn = task.arn
        self.register_outputs({"execution_role_arn": self.execution_role_arn, "task_role_arn": self.task_role_arn})


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _task_roles_args(args: TaskRolesArgs) -> None:
    from .validation import Checks

    c = Checks()
    c.required(
        "repository_arns",
        args.repository_arns,
        "without an ECR repository ARN the execution role can pull no image",
        ["arn:aws:ecr:us-east-1:123456789012:repository/slipway-dev"],
    )
    c.required(
        "log_group_arn",
        args.log_group_arn,
        "the execution role could write no logs",
        "arn:aws:logs:us-east-1:123456789012:log-group:/slipway/app",
    )
    c.raise_for("TaskRolesArgs")
