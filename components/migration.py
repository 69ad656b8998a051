"""MigrationTask: run the new image's database migrations as a one-off ECS task before the service rolls out.

The task definition uses the *same image digest*, secrets, log group and network as the web service, with the
command ``app migrate``. Its :class:`components.gates.MigrationGate` runs that task with ``ecs.run_task`` whenever
the image digest or the task definition changes, waits for it to stop and fails ``pulumi up`` (with the task's
last log lines) on a non-zero exit. Pass ``gate`` to ``WebServiceArgs.deploy_after`` so no running task is
replaced before the migration succeeded. On ``pulumi preview`` nothing runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from .containers import ContainerSpec, fargate_task_definition
from .docs import document_fields
from .gates import MigrationGate, MigrationGateArgs
from .sg_rules import https_to_aws_apis

CONTAINER = "migrate"
STREAM_PREFIX = "migrate"


@document_fields
@dataclass(frozen=True)
class MigrationTaskArgs:
    cluster_arn: pulumi.Input[str]
    """ECS cluster the task runs in. Required."""
    vpc_id: pulumi.Input[str]
    """VPC of the task's security group. Required."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets of the task: the same as the web service's. Required."""
    image: pulumi.Input[str]
    """Image pinned by digest, the same one the service will run. Required."""
    execution_role_arn: pulumi.Input[str]
    """ECS execution role (image pull, logs, secrets). Required."""
    task_role_arn: pulumi.Input[str]
    """Task role. Required."""
    log_group_name: pulumi.Input[str]
    """Log group; the task writes under the ``migrate/`` stream prefix. Required."""
    region: pulumi.Input[str]
    """AWS region. Required."""
    database_security_group_id: pulumi.Input[str]
    """``Database.client_security_group_id``: the group the database admits. Required."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain environment, the same as the web service's. Default none."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Env var name -> secret ARN (``valueFrom``), the same as the web service's. Default none."""
    command: Sequence[str] = ("app", "migrate")
    """Container command. Default ``app migrate``."""
    assign_public_ip: bool = False
    """Public IP for a VPC without NAT. Default False."""
    architecture: str = "arm64"
    """CPU architecture of the image. Default ``arm64``."""
    cpu: int = 256
    """Task CPU units. Default 256."""
    memory: int = 512
    """Task memory (MiB). Default 512."""
    timeout_seconds: int = 900
    """How long the gate waits for the task to stop before it stops it and fails. Default 900 (15 min)."""
    aws_profile: Optional[str] = None
    """Named AWS profile the gate uses (the stack's ``aws:profile``). Default None: default credentials."""
    run_after: Sequence[pulumi.Resource] = ()
    """Resources that must exist before the migration runs (e.g. the database instance). Default none."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _migration_task_args(self)


class MigrationTask(pulumi.ComponentResource):
    """Outputs: ``task_definition_arn``, ``security_group_id`` and ``gate`` (the resource to deploy after)."""

    task_definition_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    gate: MigrationGate

    def __init__(self, name: str, args: MigrationTaskArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:MigrationTask", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Migration task: no inbound, HTTPS out to AWS APIs",
            tags={**tags, "Name": f"{name}-migrate"},
            opts=child,
        )
        https_to_aws_apis(f"{name}-https-out", sg.id, child)
        spec = ContainerSpec(
            name=CONTAINER,
            image=args.image,
            log_group=args.log_group_name,
            region=args.region,
            stream_prefix=STREAM_PREFIX,
            environment=args.environment,
            secrets=args.secrets,
            command=list(args.command),
        )
        task_def = fargate_task_definition(
            f"{name}-task",
            family=name,
            cpu=args.cpu,
            memory=args.memory,
            architecture=args.architecture,
            execution_role_arn=args.execution_role_arn,
            task_role_arn=args.task_role_arn,
            spec=spec,
            tags=tags,
            opts=child,
        )
        self.gate = MigrationGate(
            f"{name}-gate",
            MigrationGateArgs(
                cluster=args.cluster_arn,
                task_definition=task_def.arn,
                container_name=CONTAINER,
                subnets=args.subnet_ids,
                security_groups=[sg.id, args.database_security_group_id],
                assign_public_ip=args.assign_public_ip,
                log_group=args.log_group_name,
                log_stream_prefix=STREAM_PREFIX,
                region=args.region,
                image_digest=args.image,
                timeout_s=args.timeout_seconds,
                aws_profile=args.aws_profile,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.run_after)),
        )
        self.task_definition_arn = task_def.arn
        self.security_group_id = sg.id
        self.register_outputs({"task_definition_arn": self.task_definition_arn, "security_group_id": sg.id})


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _migration_task_args(args: MigrationTaskArgs) -> None:
    from .validation import ARCHITECTURES, Checks, plain

    c = Checks()
    c.fargate_size("cpu", args.cpu, "memory", args.memory)
    c.digest_image("image", args.image)
    c.one_of("architecture", args.architecture, ARCHITECTURES)
    if plain(args.timeout_seconds) and args.timeout_seconds < 60:
        c.bad("timeout_seconds", args.timeout_seconds, "allow at least 60 s for Fargate to pull and start the task")
    if plain(args.command) and not args.command:
        c.bad(
            "command",
            args.command,
            "is empty: the task would run the image's default command",
            ("command", ["app", "migrate"]),
        )
    c.raise_for("MigrationTaskArgs")
