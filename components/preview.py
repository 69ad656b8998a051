"""PreviewApp: one pull request's running copy of the app, on the dev stack's shared pieces, for cents an hour.

A preview stack is named ``pr-<number>``. It creates only what the change needs: its own ECS service on Fargate
Spot at the smallest size, task definition, target group, a listener rule on dev's HTTPS listener (host
``pr-<n>.<dev domain>``, or the path prefix ``/pr-<n>`` where dev has no domain), a log group with short retention,
its own secret key, and its own PostgreSQL database inside dev's RDS instance: a *database-creating gate* starts
dev's ``<prefix>-preview-db`` state machine (``components/preview_db.py``, declared in dev: it runs dev's own image
as dev's master user, ``app preview-db create pr_<n>``), which creates the login role ``pr_<n>`` and the database
``pr_<n>`` it owns; then the preview's migration gate runs ``app migrate`` as ``pr_<n>`` (IAM auth), with the PR's
image. Nothing in a preview's graph reads, names or passes dev's master secret.
No NAT gateway, load balancer or RDS instance per preview, and no security-group rule: the tasks join dev's task
group (the one dev's load balancer may reach) and dev's database client group.

Everything shared comes from dev's stack outputs (:data:`SHARED_OUTPUTS`, exported by :func:`export_shared` in
dev's program, read through a ``StackReference`` by :func:`preview_program`). Listener-rule priorities are
``PRIORITY_BASE + n``: one per PR number, never the same for two previews, outside dev's own range.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, cast

import pulumi
import pulumi_aws as aws

from .config import refuse_unknown_keys
from .containers import (
    CPU_ARCHITECTURES,
    ContainerSpec,
    fargate_task_definition,
    health_check_command,
)
from .docs import document_fields
from .gates import PreviewDatabaseGate, PreviewDatabaseGateArgs
from .logs import AppLogs, AppLogsArgs
from .migration import MigrationTask, MigrationTaskArgs
from .secrets import AppSecrets, AppSecretsArgs
from .task_roles import TaskRoles, TaskRolesArgs

PREVIEW_STACK = re.compile(r"^pr-([1-9][0-9]*)$")
"""Stack names that run the preview program instead of the WebApp program."""
PRIORITY_BASE = 1000
"""Listener-rule priority of PR ``n`` is ``PRIORITY_BASE + n``; priorities below it stay free for dev's own rules."""
MAX_PRIORITY = 50_000
"""The highest listener-rule priority an ALB accepts (Elastic Load Balancing API: 1-50000)."""
MAX_PR_NUMBER = MAX_PRIORITY - PRIORITY_BASE
"""The highest PR number that gets a preview (49000): larger numbers would need a priority ALB refuses."""
LOG_RETENTION_DAYS = (1, 3, 5, 7)
"""Short CloudWatch retentions a preview may use (CloudWatch-allowed values)."""
SHARED_OUTPUTS = (
    "region",
    "vpc_id",
    "cluster_arn",
    "task_subnet_ids",
    "assign_public_ip",
    "task_security_group_id",
    "https_listener_arn",
    "alb_dns_name",
    "domain",
    "repository_url",
    "repository_arn",
    "registry_id",
    "db_address",
    "db_name",
    "db_arn",
    "db_resource_id",
    "db_client_security_group_id",
    "db_admin_state_machine_arn",
)
"""What a preview reads from dev's ``preview`` stack output (:func:`export_shared` writes it)."""
SOURCE_STACK = "dev"
"""The stack previews share, unless ``<project>:previewOf`` names another."""


def preview_number(stack: str) -> Optional[int]:
    """The PR number of a preview stack name (``pr-123`` -> 123), else None."""
    match = PREVIEW_STACK.match(stack.rsplit("/", 1)[-1])
    return int(match.group(1)) if match else None


def listener_priority(pr_number: int) -> int:
    """The listener-rule priority of PR ``pr_number``: ``PRIORITY_BASE + n``, one-to-one, so two previews never
    take the same priority; refused outside 1..:data:`MAX_PR_NUMBER`."""
    if not 1 <= pr_number <= MAX_PR_NUMBER:
        raise ValueError(f"PR number {pr_number}: previews exist for PRs 1..{MAX_PR_NUMBER} (ALB priorities <= 50000)")
    return PRIORITY_BASE + pr_number


def boundary_name(app: str) -> str:
    """The permissions boundary of every preview's roles (``<app>-pr-boundary``): one for all ``pr-*`` stacks,
    as one preview deploy role serves them all (slipway/preview_deploy_policy.py)."""
    from .iam import BOUNDARY_POLICY_NAME

    return BOUNDARY_POLICY_NAME.format(prefix=f"{app}-pr")


def database_name(pr_number: int) -> str:
    """Database and login role of the preview (``pr_123``); matches the app's role-name pattern."""
    return f"pr_{pr_number}"


@document_fields
@dataclass(frozen=True)
class PreviewAppArgs:
    pr_number: int
    """Pull-request number (1-49000); names the host, database, role and listener-rule priority. Required."""
    shared: Mapping[str, Any]
    """dev's shared pieces, keyed as :data:`SHARED_OUTPUTS` (values or Outputs, e.g. a StackReference's). Required."""
    image_uri: Optional[str] = None
    """Run this image (``repo@sha256:...``) instead of building ``build_context``. Default None."""
    build_context: Optional[str] = "app"
    """Directory with the app's Dockerfile, built and pushed to dev's repository when no ``image_uri``. Default
    ``app``."""
    architecture: str = "arm64"
    """CPU architecture of the image and tasks. Default ``arm64`` (Graviton, cheaper)."""
    cpu: int = 256
    """Fargate CPU units of the task: the smallest size. Default 256."""
    memory: int = 512
    """Fargate memory (MiB) of the task: the smallest size. Default 512."""
    container_port: int = 8000
    """Port the app listens on. Default 8000."""
    health_check_path: str = "/healthz"
    """Target-group and container health check path. Default ``/healthz``."""
    log_retention_days: int = 3
    """Log retention, one of 1, 3, 5, 7 days. Default 3."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra plain environment of the app. Default none."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource (``preview: pr-<n>`` is always added). Default none."""
    permissions_boundary: Optional[pulumi.Input[str]] = None
    """ARN of the managed policy set as the permissions boundary of the preview's roles (the preview deploy role
    creates roles only with ``<app>-pr-boundary``, :func:`boundary_name`). Default None: no boundary."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before any resource exists."""
        from .validation import Checks

        c = Checks()
        if not isinstance(self.pr_number, int) or not 1 <= self.pr_number <= MAX_PR_NUMBER:
            c.bad("pr_number", self.pr_number, f"use 1..{MAX_PR_NUMBER}: listener priority {PRIORITY_BASE} + n")
        missing = [k for k in SHARED_OUTPUTS if k not in self.shared]
        if missing:
            c.bad("shared", sorted(self.shared), f"lacks {', '.join(missing)}: dev's program runs export_shared(app)")
        if (self.cpu, self.memory) not in ((256, 512), (256, 1024), (512, 1024)):
            c.bad("cpu", (self.cpu, self.memory), "a preview runs at 256/512, 256/1024 or 512/1024 (cpu/memory)")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            c.bad("log_retention_days", self.log_retention_days, f"use one of {LOG_RETENTION_DAYS}")
        if self.architecture not in CPU_ARCHITECTURES:
            c.bad("architecture", self.architecture, "use arm64 or x86_64")
        if not self.image_uri and not self.build_context:
            c.bad("image_uri", self.image_uri, "give image_uri or build_context")
        if self.image_uri and "@sha256:" not in self.image_uri:
            c.bad("image_uri", self.image_uri, "is not pinned: use repository@sha256:...")
        c.raise_for("PreviewAppArgs")


class PreviewApp(pulumi.ComponentResource):
    """Outputs: ``url``, ``image_ref``, ``service_name``, ``database`` and ``listener_priority``."""

    url: pulumi.Output[str]
    image_ref: pulumi.Output[str]
    service_name: pulumi.Output[str]

    def __init__(self, name: str, args: PreviewAppArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:PreviewApp", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        n, shared = args.pr_number, args.shared
        label = f"pr-{n}"
        db = database_name(n)
        tags = {**args.tags, "preview": label, "managed-by": "pulumi/slipway"}
        region = shared["region"]
        public_ip = pulumi.Output.from_input(shared["assign_public_ip"]).apply(bool)
        domain = pulumi.Output.from_input(shared["domain"]).apply(lambda d: str(d or ""))
        self.listener_priority = listener_priority(n)
        self.database = db

        image_ref: pulumi.Input[str]
        if args.image_uri:
            image_ref = args.image_uri
        else:
            from .image import AppImage, AppImageArgs, image_tag

            context = str(args.build_context)
            image = AppImage(
                name,
                AppImageArgs(
                    context=context,
                    repository_url=shared["repository_url"],
                    registry_id=shared["registry_id"],
                    tag=f"{label}-" + image_tag(str(Path(os.getcwd(), context).resolve()), args.architecture),
                    architecture=args.architecture,
                    repository_name=None,  # always build (a docker build of unchanged sources is a cache hit)
                    region=region,
                ),
                opts=child,
            )
            image_ref = image.image_ref
        logs = AppLogs(name, AppLogsArgs(retention_days=args.log_retention_days, tags=tags), opts=child)
        secrets = AppSecrets(name, AppSecretsArgs(recovery_window_days=7, db_password=False, tags=tags), opts=child)
        db_user_arn = pulumi.Output.all(shared["db_arn"], shared["db_resource_id"]).apply(
            lambda p: "arn:aws:rds-db:{}:{}:dbuser:{}/{}".format(*str(p[0]).split(":")[3:5], p[1], db)
        )
        # The app's role may sign in to the database as pr_<n> only (IAM auth); nothing else in AWS.
        roles = TaskRoles(
            name,
            TaskRolesArgs(
                repository_arns=pulumi.Output.all(shared["repository_arn"]),
                log_group_arn=logs.log_group_arn,
                secret_arns=secrets.arns,
                task_policy_json=db_user_arn.apply(_connect_policy),
                permissions_boundary=args.permissions_boundary,
                tags=tags,
            ),
            opts=child,
        )
        host: dict[str, pulumi.Input[str]] = {
            "DB_HOST": shared["db_address"],
            "DB_PORT": "5432",
            "DB_SSLMODE": "verify-full",
            "DB_REGION": region,
        }
        common = dict(
            cluster_arn=shared["cluster_arn"],
            vpc_id=shared["vpc_id"],
            subnet_ids=shared["task_subnet_ids"],
            image=image_ref,
            log_group_name=logs.log_group_name,
            region=region,
            database_security_group_id=shared["db_client_security_group_id"],
            assign_public_ip=cast(bool, public_ip),
            architecture=args.architecture,
            tags=tags,
        )
        # dev's state machine creates role and database pr_<n> with dev's image as dev's master user: this stack
        # only starts it (the input is validated there) and never holds a role or task that reads the master secret.
        self.create_database = PreviewDatabaseGate(
            f"{name}-createdb",
            PreviewDatabaseGateArgs(state_machine=shared["db_admin_state_machine_arn"], pr=n, region=region),
            opts=child,
        )
        app_env: dict[str, pulumi.Input[str]] = {
            **args.env,
            **host,
            "PORT": str(args.container_port),
            "APP_ENV": "preview",
            "DB_NAME": db,
            "DB_USER": db,
            "DB_IAM_AUTH": "true",
        }
        self.migration = _one_off(
            f"{name}-migrate",
            common,
            execution_role_arn=roles.execution_role_arn,
            task_role_arn=roles.task_role_arn,
            environment=app_env,
            secrets=secrets.container_secrets,
            command=("app", "migrate"),
            run_after=[self.create_database],
            opts=child,
        )
        target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            port=args.container_port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=shared["vpc_id"],
            deregistration_delay=5,
            # Healthy after 2 checks 5 s apart, the shortest ELB allows (CreateTargetGroup: interval 5-300 s,
            # threshold 2-10; AWS default 5 x 30 s): a preview's first URL 10 s sooner than dev's 2 x 10 s. The
            # timeout stays below the interval; /healthz is liveness only and answers in milliseconds.
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                path=args.health_check_path,
                protocol="HTTP",
                matcher="200",
                interval=5,
                timeout=4,
                healthy_threshold=2,
            ),
            tags=tags,
            opts=child,
        )
        # Host pr-<n>.<dev domain> where dev has a domain (its certificate must cover *.<domain>), else a path prefix.
        conditions = domain.apply(lambda d: [_rule_condition(label, d)])
        rule = aws.lb.ListenerRule(
            f"{name}-rule",
            listener_arn=shared["https_listener_arn"],
            priority=self.listener_priority,
            actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=target_group.arn)],
            conditions=conditions,
            tags=tags,
            opts=child,
        )
        spec = ContainerSpec(
            name="web",
            image=image_ref,
            log_group=logs.log_group_name,
            region=region,
            stream_prefix="web",
            environment=app_env,
            secrets=secrets.container_secrets,
            port=args.container_port,
            health_check_path=args.health_check_path,
            health_check=health_check_command(args.container_port, args.health_check_path),
        )
        task_def = fargate_task_definition(
            f"{name}-task",
            family=f"{name}-web",
            cpu=args.cpu,
            memory=args.memory,
            architecture=args.architecture,
            execution_role_arn=roles.execution_role_arn,
            task_role_arn=roles.task_role_arn,
            spec=spec,
            tags=tags,
            opts=child,
        )
        service = aws.ecs.Service(
            f"{name}-service",
            cluster=shared["cluster_arn"],
            task_definition=task_def.arn,
            desired_count=1,
            capacity_provider_strategies=[
                aws.ecs.ServiceCapacityProviderStrategyArgs(capacity_provider="FARGATE_SPOT", weight=1)
            ],
            platform_version="LATEST",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=shared["task_subnet_ids"],
                # dev's task group (dev's ALB may reach it) and dev's database client group: no new rule anywhere.
                security_groups=[shared["task_security_group_id"], shared["db_client_security_group_id"]],
                assign_public_ip=public_ip,
            ),
            load_balancers=[
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=target_group.arn, container_name="web", container_port=args.container_port
                )
            ],
            health_check_grace_period_seconds=30,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            wait_for_steady_state=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[rule, self.migration.gate]),
        )
        self.url = pulumi.Output.all(domain, shared["alb_dns_name"]).apply(
            lambda p: f"https://{label}.{p[0]}" if p[0] else f"https://{p[1]}/{label}"
        )
        self.image_ref = pulumi.Output.from_input(image_ref)
        self.service_name = service.name
        # What teardown starts to drop pr_<n> (deploy/preview-teardown.sh): dev's state machine, action drop.
        self.database_admin = pulumi.Output.from_input(shared["db_admin_state_machine_arn"])
        self.register_outputs({"url": self.url, "image_ref": self.image_ref, "service_name": self.service_name})


def _one_off(
    name: str,
    common: dict[str, Any],
    *,
    execution_role_arn: pulumi.Input[str],
    task_role_arn: pulumi.Input[str],
    environment: Mapping[str, pulumi.Input[str]],
    secrets: Mapping[str, pulumi.Input[str]],
    command: tuple[str, ...],
    run_after: list[pulumi.Resource],
    opts: pulumi.ResourceOptions,
) -> MigrationTask:
    """A gated one-off task (components.migration) with the preview's network and log group."""
    return MigrationTask(
        name,
        MigrationTaskArgs(
            **common,
            execution_role_arn=execution_role_arn,
            task_role_arn=task_role_arn,
            environment=environment,
            secrets=secrets,
            command=command,
            run_after=run_after,
        ),
        opts=opts,
    )


def _rule_condition(label: str, domain: str) -> aws.lb.ListenerRuleConditionArgs:
    """The listener-rule condition of preview ``label``: its host under dev's domain, else its path prefix."""
    if domain:
        return aws.lb.ListenerRuleConditionArgs(
            host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=[f"{label}.{domain}"])
        )
    return aws.lb.ListenerRuleConditionArgs(
        path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=[f"/{label}", f"/{label}/*"])
    )


def _connect_policy(db_user_arn: str) -> str:
    import json

    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": db_user_arn}],
        }
    )


def export_shared(app: Any, domain: Optional[str] = None) -> None:
    """In dev's program: export the pieces previews share as one ``preview`` output (:data:`SHARED_OUTPUTS`);
    ``domain`` is dev's (previews are served at ``pr-<n>.<domain>``; its certificate must cover ``*.<domain>``).
    Nothing where the stack does not share itself with previews (``WebAppArgs.previews``: prod)."""
    if app.preview_db is None:
        return
    web, net, db = app.web, app.network, app.db
    pulumi.export(
        "preview",
        {
            "region": app.region,
            "cluster_arn": app.ecs.cluster_arn,
            "vpc_id": net.vpc_id,
            "task_subnet_ids": net.task_subnet_ids,
            "assign_public_ip": net.assign_public_ip,
            "task_security_group_id": web.task_security_group_id,
            "https_listener_arn": web.listeners[0].arn,
            "alb_dns_name": web.dns_name,
            "domain": domain or "",
            "repository_url": app.registry.repository_url,
            "repository_arn": app.registry.repository_arn,
            "registry_id": app.registry.registry_id,
            "db_address": db.address,
            "db_name": db.db_name,
            "db_arn": db.arn,
            "db_resource_id": db.resource_id,
            "db_client_security_group_id": db.client_security_group_id,
            "db_admin_state_machine_arn": app.preview_db.state_machine_arn,
        },
    )


def _item(exported: pulumi.Output[Any], key: str) -> pulumi.Output[Any]:
    return exported.apply(lambda d: (d or {}).get(key))


PREVIEW_KEYS = {
    "previewOf": f"the stack whose `preview` output this preview runs on (default {SOURCE_STACK})",
    "imageUri": "deploy this image (pinned by digest) instead of building app/",
}
"""The only keys of a ``pr-<n>`` stack's own namespace (besides ``aws:region``): everything else comes from dev."""


def preview_program(stack: str) -> None:
    """The whole program of a ``pr-<n>`` stack: read dev's ``preview`` output, declare one PreviewApp, export."""
    number = preview_number(stack)
    if number is None:
        raise ValueError(f"stack {stack!r} is not a preview stack (pr-<number>)")
    config = pulumi.Config()  # the project's namespace, as WebAppArgs.from_config and the offline engine read it
    refuse_unknown_keys(stack, config.name, PREVIEW_KEYS)
    source = config.get("previewOf") or SOURCE_STACK
    reference = pulumi.StackReference(f"{pulumi.get_organization()}/{pulumi.get_project()}/{source}")
    exported = reference.get_output("preview")
    shared = {key: _item(exported, key) for key in SHARED_OUTPUTS}
    boundary = boundary_name(pulumi.get_project())
    account = aws.get_caller_identity_output().account_id
    app = PreviewApp(
        f"{pulumi.get_project()}-pr-{number}",
        PreviewAppArgs(
            pr_number=number,
            shared=shared,
            image_uri=config.get("imageUri"),
            permissions_boundary=account.apply(lambda a: f"arn:aws:iam::{a}:policy/{boundary}"),
        ),
    )
    pulumi.export("url", app.url)
    pulumi.export("image", app.image_ref)
    pulumi.export("service", app.service_name)
    pulumi.export("database", app.database)
    pulumi.export("listener_priority", app.listener_priority)
    pulumi.export("database_admin", app.database_admin)
