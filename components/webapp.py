"""WebApp: one call for a container web app on AWS: network, registry and image, secrets, logs, roles, PostgreSQL,
cluster, migration gate, TLS, load-balanced Fargate service, rollout check and alarms.

It builds exactly what the slipway stack program used to wire by hand, from a handful of arguments::

    app = WebApp("shop", WebAppArgs(build_context="app", profile="dev"))
    pulumi.export("url", app.url)

and wires the container contract itself: ``PORT``, ``DB_HOST``/``DB_PORT``/``DB_NAME``/``DB_USER``/``DB_SSLMODE``,
``DB_PASSWORD`` and ``SECRET_KEY`` (from :class:`AppSecrets`) plus ``secrets`` by name, the execution role's exact
ARNs, the log group, the migration gate before the rollout, and the rollout check after it.

Every child is an attribute (``app.network``, ``app.database``, ``app.web``, ...), ``None`` when switched off; the
lower-level components stay public for anything this does not cover. ``None`` in a field means "the profile's
value": ``profile="dev"`` is cheap and disposable, ``"prod"`` highly available and protected. The arguments, their
defaults per profile and their rules are in :mod:`components.webapp_args`; they are also the stack file's keys
(``WebAppArgs.from_config()``).

Physical names start with ``name_prefix``, by default ``<app_name or name>-<stack>``, so the same program deployed
as two stacks (or two projects with different names) never collides.
"""

import json
import os
from pathlib import Path
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from .cluster import EcsCluster, EcsClusterArgs
from .gates import RolloutCheck, RolloutCheckArgs
from .logs import AppLogs, AppLogsArgs
from .migration import MigrationTask, MigrationTaskArgs
from .network import Network, NetworkArgs
from .registry import ContainerRegistry, ContainerRegistryArgs
from .secrets import AppSecrets, AppSecretsArgs
from .task_roles import TaskRoles, TaskRolesArgs
from .web_service import WebService, WebServiceArgs
from .webapp_args import COMPONENT_ENV, WebAppArgs

__all__ = ["COMPONENT_ENV", "WebApp", "WebAppArgs"]


class WebApp(pulumi.ComponentResource):
    """Outputs: ``url``, ``image_ref``, ``db_endpoint`` (None without a database), ``log_group_name``,
    ``cluster_name``, ``service_name``, ``alarm_topic_arn`` (None without observability).

    Children: ``network``, ``registry``, ``image`` (None for ``image_uri``), ``scan_gate`` (or None),
    ``app_secrets``, ``logs``, ``roles``, ``db`` (or None), ``backup_vault`` (or None), ``ecs``, ``migration`` (or
    None), ``preview_db`` (or None), ``certificate``, ``access_log_bucket`` (or None), ``web``, ``rollout`` (or None),
    ``sleep`` (or None), ``alarms`` (or None)."""

    url: pulumi.Output[str]
    """The app's HTTPS address."""
    image_ref: pulumi.Output[str]
    """The deployed image, pinned by digest."""
    log_group_name: pulumi.Output[str]
    """Log group of the app and its migrations."""
    cluster_name: pulumi.Output[str]
    """ECS cluster name."""
    service_name: pulumi.Output[str]
    """ECS service name."""

    def __init__(self, name: str, args: WebAppArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:WebApp", name, None, opts)
        # every knob left None takes the profile's value, so none of a's knobs is None below
        a: Any = args.resolved()
        stack = pulumi.get_stack()
        app_name = a.app_name or name
        prefix = a.name_prefix or f"{app_name}-{stack}"
        prod = a.profile == "prod"
        tags = dict(
            a.tags
            if a.tags is not None
            else {"app": app_name, "environment": a.profile, "stack": stack, "managed-by": "pulumi/slipway"}
        )
        arch = str(a.architecture)
        log_retention = int(a.log_retention_days or 0)
        deletion_protection = bool(a.deletion_protection)
        region = a.region or pulumi.Config("aws").get("region") or os.environ.get("AWS_REGION")
        if not region:
            raise ValueError("WebAppArgs.region: none given and the stack sets no aws:region (nor AWS_REGION)")
        moved = [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)] if a.moved_from_stack_root else None
        child = pulumi.ResourceOptions(parent=self, aliases=moved)
        boundary: Optional[pulumi.Output[str]] = None
        if a.permissions_boundary_policy:
            policy_name = a.permissions_boundary_policy
            boundary = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id.apply(
                lambda account: f"arn:aws:iam::{account}:policy/{policy_name}"
            )

        self.network: Network = a.network or Network(
            f"{prefix}-net",
            NetworkArgs(
                cidr_block=a.vpc_cidr,
                az_count=a.az_count,
                nat_strategy=a.nat_strategy,
                flow_log_retention_days=log_retention,
                permissions_boundary=boundary,
                tags=tags,
            ),
            opts=child,
        )
        net = self.network
        self.registry = ContainerRegistry(
            prefix, ContainerRegistryArgs(repository_name=prefix, force_delete=not prod, tags=tags), opts=child
        )
        self.image: Optional[Any] = None
        image_ref: pulumi.Input[str]
        self.promotion: Optional[Any] = None
        if a.image_uri and a.promote_image and _ecr_repository_arn(a.image_uri):
            # Promotion: copy the tested image into this stack's own repository, same digest, and run that copy,
            # so destroying the source stack or its lifecycle expiring the image never breaks this one.
            from .promotion import ImagePromotion, ImagePromotionArgs

            self.promotion = ImagePromotion(
                f"{prefix}-promotion",
                ImagePromotionArgs(
                    source_image=a.image_uri,
                    target_repository=self.registry.repository_name,
                    target_registry_url=self.registry.repository_url,
                    region=region,
                    aws_profile=a.aws_profile,
                ),
                opts=child,
            )
            image_ref = self.promotion.pinned_uri
        elif a.image_uri:
            image_ref = a.image_uri
        else:
            from .image import AppImage, AppImageArgs, image_tag

            context = str(a.build_context)
            self.image = AppImage(
                prefix,
                AppImageArgs(
                    context=context,
                    repository_url=self.registry.repository_url,
                    registry_id=self.registry.registry_id,
                    tag=image_tag(str(Path(os.getcwd(), context).resolve()), arch),
                    architecture=arch,
                    repository_name=prefix,
                    region=region,
                    aws_profile=a.aws_profile,
                ),
                opts=child,
            )
            image_ref = self.image.image_ref
        # Scan gate: the registry's scan of this exact digest must pass before the migration or the rollout use it.
        self.scan_gate: Optional[Any] = None
        if a.image_scan != "off" and (a.image_uri is None or _ecr_repository_arn(a.image_uri)):
            from .scan_gate import DEFAULT_ALLOWLIST, ScanGate, ScanGateArgs, load_allowlist

            self.scan_gate = ScanGate(
                f"{prefix}-scan-gate",
                ScanGateArgs(
                    image=image_ref,
                    scan_type=a.image_scan,
                    fail_at=a.scan_fail_severity,
                    warn_at=a.scan_warn_severity,
                    waivers=load_allowlist(a.scan_allowlist, required=a.scan_allowlist != DEFAULT_ALLOWLIST),
                    timeout_s=a.scan_timeout_seconds,
                    aws_profile=a.aws_profile,
                ),
                opts=child,
            )
        scanned: list[pulumi.Resource] = [self.scan_gate] if self.scan_gate is not None else []
        iam_db = a.database and a.db_app_role is not None
        managed_password = a.db_password_managed or iam_db
        self.app_secrets = AppSecrets(
            prefix,
            AppSecretsArgs(
                recovery_window_days=30 if prod else 7,
                db_password=not managed_password,
                generate=tuple(a.generated_secrets),
                tags=tags,
            ),
            opts=child,
        )
        self.logs = AppLogs(prefix, AppLogsArgs(retention_days=log_retention, tags=tags), opts=child)
        pull_from: list[pulumi.Input[str]] = [self.registry.repository_arn]
        foreign_repo = a.image_repository_arn or _ecr_repository_arn(a.image_uri)
        if foreign_repo and self.promotion is None:  # a promoted image runs from this stack's own repository
            pull_from.append(foreign_repo)
        self.db: Optional[Any] = None
        self.backup_vault: Optional[Any] = None
        env: dict[str, pulumi.Input[str]] = {**a.env, "PORT": str(a.container_port)}
        if a.log_level is not None:
            env["LOG_LEVEL"] = a.log_level
        if a.web_concurrency is not None:
            env["WEB_CONCURRENCY"] = str(a.web_concurrency)
        if a.database:
            from .database import Database, DatabaseArgs

            self.db = Database(
                f"{prefix}-db",
                DatabaseArgs(
                    vpc_id=net.vpc_id,
                    subnet_ids=net.private_subnet_ids,
                    password=None if managed_password else self.app_secrets.db_password,
                    iam_authentication=True,
                    engine_version=a.db_engine_version,
                    instance_class=a.db_instance_class,
                    allocated_storage_gb=a.db_allocated_storage_gb,
                    max_allocated_storage_gb=a.db_max_allocated_storage_gb,
                    multi_az=a.db_multi_az,
                    backup_retention_days=a.backup_retention_days,
                    backup_window=a.backup_window,
                    maintenance_window=a.maintenance_window,
                    deletion_protection=deletion_protection,
                    final_snapshot=prod,
                    apply_immediately=not prod,
                    log_retention_days=log_retention,
                    restore=a.db_restore,
                    permissions_boundary=boundary,
                    tags=tags,
                ),
                opts=child,
            )
            copy_region = a.db_backup_copy_region or (
                ("us-east-1" if region == "us-west-2" else "us-west-2") if prod else None
            )
            self.backup_copy: Optional[Any] = None
            if copy_region:
                from .backup_copy import BackupCopy, BackupCopyArgs

                self.backup_copy = BackupCopy(
                    f"{prefix}-db-copy",
                    BackupCopyArgs(
                        source_db_instance_arn=self.db.arn,
                        destination_region=copy_region,
                        source_region=region,
                        retention_days=a.backup_retention_days,
                        tags=tags,
                    ),
                    opts=child,
                )
            if a.backup_vault:  # AWS Backup into a locked vault (docs/recovery.md)
                from .backup_vault import BackupVault, BackupVaultArgs

                self.backup_vault = BackupVault(
                    f"{prefix}-backup",
                    BackupVaultArgs(
                        resource_arns=[self.db.arn],
                        lock_mode=a.backup_lock_mode,
                        cooling_off_days=a.backup_lock_cooling_off_days,
                        retention_days=a.backup_vault_retention_days,
                        copy_region=copy_region,
                        source_region=region,
                        copy_vault_arn=a.backup_copy_vault_arn,
                        retain=prod,
                        permissions_boundary=boundary,
                        tags=tags,
                    ),
                    opts=child,
                )
            env.update(
                {
                    "DB_HOST": self.db.address,
                    "DB_PORT": str(self.db.port),
                    "DB_NAME": self.db.db_name,
                    "DB_USER": self.db.username,
                    # Verify the server is the RDS instance (the app ships RDS's CAs), not only encrypt.
                    "DB_SSLMODE": "verify-full",
                }
            )
        extra_arns: list[pulumi.Input[Optional[str]]] = [_secret_arn(v) for v in a.secrets.values()]
        if self.db is not None and managed_password:
            extra_arns.append(self.db.master_user_secret_arn)
        secret_arns: pulumi.Input[list[str]] = self.app_secrets.arns
        if extra_arns:
            secret_arns = pulumi.Output.all(self.app_secrets.arns, *extra_arns).apply(
                lambda xs: [*xs[0], *(x for x in xs[1:] if x)]
            )
        self.roles = TaskRoles(
            prefix,
            TaskRolesArgs(
                repository_arns=pulumi.Output.all(*pull_from),
                log_group_arn=self.logs.log_group_arn,
                secret_arns=secret_arns,
                permissions_boundary=boundary,
                task_policy_json=(
                    self.db.db_user_arn(str(a.db_app_role)).apply(_rds_connect_policy)
                    if self.db is not None and iam_db
                    else None
                ),
                execute_command=a.execute_command,
                tags=tags,
            ),
            opts=child,
        )
        container_secrets = {**self.app_secrets.container_secrets, **a.secrets}
        # The migration signs in as the master user (ECS injects the RDS-managed secret when the task starts).
        migration_env, migration_secrets = dict(env), dict(container_secrets)
        if self.db is not None and managed_password:
            migration_secrets["DB_PASSWORD"] = self.db.master_user_secret_arn.apply(lambda arn: f"{arn}:password::")
            if not iam_db:
                container_secrets["DB_PASSWORD"] = migration_secrets["DB_PASSWORD"]
        if self.db is not None and iam_db:
            migration_env["DB_APP_ROLE"] = str(a.db_app_role)
            env.update({"DB_USER": str(a.db_app_role), "DB_IAM_AUTH": "true", "DB_REGION": region})
        self.ecs: EcsCluster = a.cluster or EcsCluster(
            prefix, EcsClusterArgs(container_insights=a.container_insights, tags=tags), opts=child
        )
        self.migration: Optional[MigrationTask] = None
        if self.db is not None and a.migration_command is not None:
            self.migration = MigrationTask(
                f"{prefix}-migrate",
                MigrationTaskArgs(
                    cluster_arn=self.ecs.cluster_arn,
                    vpc_id=net.vpc_id,
                    subnet_ids=net.task_subnet_ids,
                    image=image_ref,
                    execution_role_arn=self.roles.execution_role_arn,
                    task_role_arn=self.roles.task_role_arn,
                    log_group_name=self.logs.log_group_name,
                    region=region,
                    database_security_group_id=self.db.client_security_group_id,
                    environment=migration_env,
                    secrets=migration_secrets,
                    command=tuple(a.migration_command),
                    assign_public_ip=net.assign_public_ip,
                    architecture=arch,
                    aws_profile=a.aws_profile,
                    run_after=[self.db, *scanned],
                    tags=tags,
                ),
                opts=child,
            )
        self.preview_db: Optional[Any] = None
        if a.previews and self.db is not None and self.migration is not None and managed_password:
            # pull-request previews share this stack; they get their database only through this (docs/previews.md)
            from .preview import MAX_PR_NUMBER
            from .preview_db import PreviewDatabaseAdmin, PreviewDatabaseAdminArgs

            self.preview_db = PreviewDatabaseAdmin(
                f"{prefix}-preview-db",
                PreviewDatabaseAdminArgs(
                    cluster_arn=self.ecs.cluster_arn,
                    subnet_ids=net.task_subnet_ids,
                    # the migration's group (HTTPS out: image, secret, logs) and the database's client group
                    security_group_ids=[self.migration.security_group_id, self.db.client_security_group_id],
                    assign_public_ip=net.assign_public_ip,
                    image=image_ref,
                    repository_arn=self.registry.repository_arn,
                    log_group_name=self.logs.log_group_name,
                    log_group_arn=self.logs.log_group_arn,
                    region=region,
                    db_address=self.db.address,
                    db_name=self.db.db_name,
                    db_username=self.db.username,
                    db_master_secret_arn=self.db.master_user_secret_arn.apply(str),  # managed_password: set
                    max_pr=MAX_PR_NUMBER,
                    architecture=arch,
                    permissions_boundary=boundary,
                    tags=tags,
                ),
                opts=child,
            )
        from .tls import TlsCertificate, TlsCertificateArgs

        self.certificate = TlsCertificate(
            prefix,
            TlsCertificateArgs(
                mode="certificate" if a.certificate_arn else "domain" if a.domain else "self_signed",
                domain=a.domain,
                hosted_zone_id=a.hosted_zone_id,
                certificate_arn=a.certificate_arn,
                tags=tags,
            ),
            opts=child,
        )
        self.access_log_bucket: Optional[Any] = None
        if a.access_logs:
            from .access_logs import AccessLogBucket, AccessLogBucketArgs

            self.access_log_bucket = AccessLogBucket(
                f"{prefix}-alb-logs", AccessLogBucketArgs(region=region, force_destroy=not prod, tags=tags), opts=child
            )
        self.web = WebService(
            f"{prefix}-web",
            WebServiceArgs(
                cluster_arn=self.ecs.cluster_arn,
                cluster_name=self.ecs.cluster_name,
                vpc_id=net.vpc_id,
                public_subnet_ids=net.public_subnet_ids,
                task_subnet_ids=net.task_subnet_ids,
                image=image_ref,
                certificate_arn=self.certificate.certificate_arn,
                execution_role_arn=self.roles.execution_role_arn,
                task_role_arn=self.roles.task_role_arn,
                log_group_name=self.logs.log_group_name,
                region=region,
                extra_security_group_ids=[self.db.client_security_group_id] if self.db is not None else [],
                environment=env,
                secrets=container_secrets,
                assign_public_ip=net.assign_public_ip,
                architecture=arch,
                cpu=a.cpu,
                memory=a.memory,
                container_port=a.container_port,
                health_check_path=a.health_check_path,
                container_health_check=a.container_health_check,
                health_check_grace_period_seconds=a.health_check_grace_period_seconds,
                target_health_check={"interval": int(a.health_check_interval_seconds or 10)},
                deregistration_delay_seconds=a.deregistration_delay_seconds,
                min_tasks=a.min_tasks,
                max_tasks=a.max_tasks,
                cpu_target_percent=a.cpu_target_percent,
                requests_per_target=a.requests_per_target,
                fargate_spot=a.fargate_spot,
                tls_policy=a.tls_policy,
                deletion_protection=deletion_protection,
                access_logs_bucket=self.access_log_bucket.bucket if self.access_log_bucket else None,
                domain=a.domain,
                hosted_zone_id=a.hosted_zone_id,
                enable_execute_command=a.execute_command,
                deploy_after=[self.migration.gate] if self.migration else scanned,
                tags=tags,
            ),
            opts=child,
        )
        self.rollout: Optional[RolloutCheck] = None
        if a.rollout_check:
            self.rollout = RolloutCheck(
                f"{prefix}-rollout",
                RolloutCheckArgs(
                    cluster=self.ecs.cluster_arn,
                    service=self.web.service_name,
                    task_definition=self.web.task_definition_arn,
                    region=region,
                    aws_profile=a.aws_profile,
                ),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.web])),
            )
        self.sleep: Optional[Any] = None
        awake_timezone = str(a.awake_timezone)
        if a.awake_hours:  # dev only (refused in prod): the service scales to 0 and the database stops at night
            from .sleep import Sleep, SleepArgs

            self.sleep = Sleep(
                f"{prefix}-sleep",
                SleepArgs(
                    awake_hours=a.awake_hours,
                    timezone=awake_timezone,
                    scaling_target=self.web.scaling_target,
                    min_tasks=a.min_tasks,
                    max_tasks=a.max_tasks,
                    db_identifier=self.db.identifier if self.db is not None else None,
                    db_arn=self.db.arn if self.db is not None else None,
                    permissions_boundary=boundary,
                    tags=tags,
                ),
                opts=child,
            )
        self.alarms: Optional[Any] = None
        if a.observability and self.db is not None:
            from .observability import Observability, ObservabilityArgs

            self.alarms = Observability(
                prefix,
                ObservabilityArgs(
                    alb_arn_suffix=self.web.alb_arn_suffix,
                    target_group_arn_suffix=self.web.target_group_arn_suffix,
                    cluster_name=self.ecs.cluster_name,
                    service_name=self.web.service_name,
                    db_identifier=self.db.identifier,
                    db_instance_class=a.db_instance_class,
                    db_allocated_storage_gb=a.db_allocated_storage_gb,
                    alarm_email=a.alarm_email,
                    key_deletion_window_days=30 if prod else 7,
                    # a cluster passed in (a.cluster) has its own setting: assume Container Insights there
                    container_insights=a.cluster is not None or a.container_insights != "disabled",
                    sleeps=self.sleep is not None,
                    tags=tags,
                ),
                opts=child,
            )

        # What a WorkerService, ScheduledJob or BackendService beside this app reuses (components.companion.beside).
        self.container_environment, self.container_secrets = env, container_secrets
        self.region, self.architecture, self.tags = region, arch, tags
        self.url = self.web.url
        self.image_ref = pulumi.Output.from_input(image_ref)
        self.db_endpoint: Optional[pulumi.Output[str]] = self.db.endpoint if self.db is not None else None
        self.log_group_name = self.logs.log_group_name
        self.cluster_name = self.ecs.cluster_name
        self.service_name = self.web.service_name
        self.alarm_topic_arn: Optional[pulumi.Output[str]] = self.alarms.topic_arn if self.alarms else None
        self.stack_outputs: dict[str, Any] = {
            "url": self.url,
            "image": self.image_ref,
            "db_endpoint": self.db_endpoint,
            "log_group": self.log_group_name,
            "cluster": self.cluster_name,
            "service": self.service_name,
            "alarm_topic": self.alarm_topic_arn,
        }
        """The outputs a stack of this app exports, by name (what ``slipway`` day-2 commands and CI read)."""
        self.register_outputs(
            {
                "url": self.url,
                "image_ref": self.image_ref,
                "db_endpoint": self.db_endpoint,
                "log_group_name": self.log_group_name,
                "cluster_name": self.cluster_name,
                "service_name": self.service_name,
                "alarm_topic_arn": self.alarm_topic_arn,
            }
        )


def _rds_connect_policy(db_user_arn: str) -> str:
    """The web service's own permission: sign in to the database as exactly its login role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "DatabaseLogin", "Effect": "Allow", "Action": "rds-db:connect", "Resource": db_user_arn}
            ],
        }
    )


def _ecr_repository_arn(image_uri: Optional[str]) -> Optional[str]:
    """``<account>.dkr.ecr.<region>.amazonaws.com/<path>@sha256:...`` -> the repository's ARN; else None."""
    if not image_uri or ".dkr.ecr." not in image_uri:
        return None
    host, path = image_uri.split("@", 1)[0].split("/", 1)
    account, _, _, region = host.split(".")[:4]
    return f"arn:aws:ecr:{region}:{account}:repository/{path.split(':', 1)[0]}"


def _secret_arn(value_from: pulumi.Input[str]) -> pulumi.Output[str]:
    """A ``valueFrom`` (``<arn>[:json-key:stage:version]``) -> the secret's ARN (7 colon-separated parts)."""
    return pulumi.Output.from_input(value_from).apply(lambda v: ":".join(str(v).split(":")[:7]))
