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
value": ``profile="dev"`` is cheap and disposable, ``"prod"`` highly available and protected (the same profiles as
the stack configuration, :data:`components.config.PROFILES`).

Physical names start with ``name_prefix``, by default ``<name>-<stack>``, so the same program deployed as two stacks
(or two projects with different names) never collides.
"""

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from .cluster import EcsCluster, EcsClusterArgs
from .config import PROFILES
from .database import RestoreSpec
from .docs import document_fields
from .gates import RolloutCheck, RolloutCheckArgs
from .logs import AppLogs, AppLogsArgs
from .migration import MigrationTask, MigrationTaskArgs
from .network import Network, NetworkArgs
from .registry import ContainerRegistry, ContainerRegistryArgs
from .secrets import AppSecrets, AppSecretsArgs
from .task_roles import TaskRoles, TaskRolesArgs
from .web_service import WebService, WebServiceArgs

PROFILE_NAMES = ("dev", "prod")
# Environment variables and secrets WebApp sets in the containers itself.
COMPONENT_ENV = (
    "PORT",
    "SECRET_KEY",
    "DB_PASSWORD",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_SSLMODE",
    "DB_APP_ROLE",
    "DB_IAM_AUTH",
    "DB_REGION",
)


@document_fields
@dataclass(frozen=True)
class WebAppArgs:
    build_context: Optional[str] = None
    """Directory with the app's Dockerfile, relative to the project: built for ``architecture``, pushed to the app's
    ECR repository and deployed by digest. Default None; exactly one of ``build_context`` and ``image_uri``."""
    image_uri: Optional[str] = None
    """Deploy this image, pinned by digest (``repo@sha256:...``), instead of building. Default None."""
    permissions_boundary_policy: Optional[str] = None
    """Name of a customer managed policy of this account set as the permissions boundary of every role the app
    creates (task and execution roles, RDS monitoring, flow logs). slipway's deploy roles may create roles only with
    the boundary ``<prefix>-boundary`` (``python -m slipway deploy-policy`` writes it). Default None: no boundary."""
    promote_image: bool = True
    """With an ECR ``image_uri``: copy it by digest into this stack's own repository during ``pulumi up`` and deploy
    the copy (same digest, no rebuild), so the tasks never pull from the source stack's repository. Default True;
    False: pull from ``image_uri`` directly (the execution role is granted that repository)."""
    image_repository_arn: Optional[str] = None
    """ECR repository of ``image_uri`` the execution role may pull from. Default None: derived from an ECR
    ``image_uri`` (other registries need no grant)."""
    profile: str = "prod"
    """``dev`` (cheap, disposable) or ``prod`` (highly available, protected): supplies every field left None.
    Default ``prod``."""
    name_prefix: Optional[str] = None
    """Prefix of every child's name and of the physical names AWS sees. Default None: ``<name>-<stack>``."""
    region: Optional[str] = None
    """AWS region, for the log driver and the program's own AWS calls. Default None: the AWS provider's (the stack's
    ``aws:region``, else ``AWS_REGION``)."""
    aws_profile: Optional[str] = None
    """Named AWS profile of the image lookup, migration gate and rollout check (the stack's ``aws:profile``).
    Default None: the default credential chain."""
    network: Optional[Network] = None
    """An existing :class:`Network` to run in. Default None: a new one from ``vpc_cidr``, ``az_count``,
    ``nat_strategy``."""
    vpc_cidr: Optional[str] = None
    """CIDR of the new VPC. Default None: the profile's (dev 10.20.0.0/16, prod 10.30.0.0/16)."""
    az_count: Optional[int] = None
    """Availability zones of the new VPC. Default None: the profile's (dev 2, prod 3)."""
    nat_strategy: Optional[str] = None
    """``none``, ``single`` or ``per_az``. Default None: the profile's (dev none, prod per_az)."""
    cluster: Optional[EcsCluster] = None
    """An existing :class:`EcsCluster`. Default None: a new one."""
    architecture: Optional[str] = None
    """``arm64`` or ``x86_64``, of the image and the tasks. Default None: the profile's (arm64)."""
    cpu: Optional[int] = None
    """Fargate task CPU units. Default None: the profile's (dev 256, prod 512)."""
    memory: Optional[int] = None
    """Fargate task memory in MiB. Default None: the profile's (dev 512, prod 1024)."""
    min_tasks: Optional[int] = None
    """Autoscaling floor and initial task count. Default None: the profile's (dev 1, prod 2)."""
    max_tasks: Optional[int] = None
    """Autoscaling ceiling. Default None: the profile's (dev 2, prod 6)."""
    fargate_spot: Optional[bool] = None
    """Run on Fargate Spot. Default None: the profile's (dev True, prod False)."""
    container_port: int = 8000
    """Port the app listens on; also passed to it as ``PORT``. Default 8000."""
    health_check_path: str = "/healthz"
    """Path the load balancer checks (HTTP 200 without touching the database). Default ``/healthz``."""
    container_health_check: Optional[Sequence[str]] = None
    """Container health check command (ECS ``CMD``/``CMD-SHELL`` form), run inside the image. Default None: none; the
    load balancer's check on ``health_check_path`` decides, so the image needs no shell, curl or Python."""
    health_check_grace_period_seconds: int = 30
    """Seconds ECS ignores failing load-balancer checks of a new task. Default 30."""
    deregistration_delay_seconds: int = 15
    """Connection draining before a target leaves the load balancer. Default 15 (AWS: 300)."""
    cpu_target_percent: int = 60
    """Target-tracking CPU utilisation for autoscaling. Default 60."""
    requests_per_target: int = 500
    """Target-tracking requests per task per minute. Default 500."""
    tls_policy: str = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    """HTTPS listener security policy (TLS 1.3). Default as shown."""
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """More plain environment variables for the app and its migration. Default none (``PORT`` and ``DB_*`` are
    always set)."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """More secrets by name: env var -> ARN of an existing Secrets Manager secret (the execution role may read exactly
    these). Default none (``SECRET_KEY`` is always generated, and ``DB_PASSWORD`` where the app needs one)."""
    generated_secrets: Sequence[str] = ()
    """More secrets to generate, by env var name, e.g. ``("API_TOKEN",)``: random values of 40 characters, each in its
    own Secrets Manager secret (``AppSecretsArgs.generate``), read by the service and the migration like
    ``SECRET_KEY``. Names: letters, digits and ``_``; none the component or ``env``/``secrets`` already sets. Default
    none."""
    database: bool = True
    """Create the PostgreSQL database, pass ``DB_*`` and run the migration gate. Default True."""
    db_app_role: Optional[str] = "app_iam"
    """Login role the web service connects as, with 15-minute IAM authentication tokens (``DB_IAM_AUTH``; its task
    role may ``rds-db:connect`` as exactly this role), created with row privileges only by the migration
    (``DB_APP_ROLE``). The master password is then RDS-managed and rotated, and only the one-off migration task
    reads it, at its start: a rotation never breaks a running task and no database password is in Pulumi state.
    The image must implement the contract (the sample app does). Default ``app_iam``; None: the service connects as
    the master user with ``DB_PASSWORD`` (see ``db_password_managed``)."""
    db_password_managed: bool = False
    """RDS generates the master password, keeps it in Secrets Manager and rotates it (no password in Pulumi state);
    ``DB_PASSWORD`` reads its ``password`` key. Only for apps that re-read the secret on authentication failure: ECS
    injects the value at task start, so after a rotation a task's new connections fail until it is replaced.
    Default False: the password generated by :class:`AppSecrets` (in state, encrypted; never rotated)."""
    db_restore: Optional[RestoreSpec] = None
    """Serve from a new instance restored from backups or a snapshot (stack key ``slipway:dbRestore``); the original
    is kept, protected. Default None (docs/recovery.md)."""
    db_backup_copy_region: Optional[str] = None
    """Replicate the database's automated backups (point-in-time restorable) to this second region with a KMS key of
    its own. Default None: ``us-west-2`` (``us-east-1`` when the stack runs there) for the prod profile, no copy in
    dev."""
    db_instance_class: Optional[str] = None
    """RDS instance class. Default None: the profile's (dev db.t4g.micro, prod db.t4g.medium)."""
    db_engine_version: Optional[str] = None
    """PostgreSQL major version. Default None: the profile's (17)."""
    db_allocated_storage_gb: Optional[int] = None
    """Initial storage in GiB. Default None: the profile's (dev 20, prod 50)."""
    db_max_allocated_storage_gb: Optional[int] = None
    """Storage autoscaling ceiling in GiB. Default None: the profile's (dev 50, prod 500)."""
    db_multi_az: Optional[bool] = None
    """Standby in a second AZ. Default None: the profile's (dev False, prod True)."""
    backup_retention_days: Optional[int] = None
    """Backup and point-in-time-recovery retention. Default None: the profile's (dev 7, prod 14)."""
    backup_window: Optional[str] = None
    """Daily backup window, UTC. Default None: the profile's (03:00-04:00)."""
    maintenance_window: Optional[str] = None
    """Weekly maintenance window, UTC. Default None: the profile's (sun:04:30-sun:05:30)."""
    migration_command: Optional[Sequence[str]] = ("app", "migrate")
    """Command of the one-off migration task that gates every rollout. Default ``app migrate``; None: no gate."""
    deletion_protection: Optional[bool] = None
    """Deletion protection of the database and the load balancer. Default None: the profile's (dev False, prod
    True)."""
    log_retention_days: Optional[int] = None
    """CloudWatch log retention (app, database and VPC flow logs). Default None: the profile's (dev 14, prod 90)."""
    domain: Optional[str] = None
    """DNS name to serve; with ``hosted_zone_id``: a DNS-validated certificate and an alias record. Default None."""
    hosted_zone_id: Optional[str] = None
    """Route 53 zone of ``domain``. Default None."""
    certificate_arn: Optional[str] = None
    """Existing ACM certificate instead of ``domain`` + ``hosted_zone_id``. Default None (dev: self-signed)."""
    access_logs: Optional[bool] = None
    """Write load-balancer access logs to an encrypted bucket. Default None: the profile's (dev False, prod True)."""
    observability: bool = True
    """Alarms (to an SNS topic) and a dashboard; needs ``database``. Default True."""
    alarm_email: Optional[str] = None
    """E-mail subscribed to the alarm topic. Default None."""
    rollout_check: bool = True
    """Fail ``pulumi up`` when ECS rolls the new deployment back. Default True."""
    image_scan: Optional[str] = "basic"
    """Scan gate (``components/scan_gate.py``): before the migration and the rollout, wait for the registry's scan of
    the image digest and fail ``pulumi up`` on findings at or above ``scan_fail_severity``. ``basic`` (ECR),
    ``enhanced`` (Amazon Inspector; the registry must be configured for it) or None: no gate. Default ``basic``;
    only for an image in ECR (built, promoted, or an ECR ``image_uri``)."""
    scan_fail_severity: Optional[str] = None
    """Lowest severity that fails the update. Default None: the profile's (dev CRITICAL, prod HIGH)."""
    scan_warn_severity: Optional[str] = None
    """Lowest severity listed as a warning. Default None: the profile's (dev HIGH, prod MEDIUM)."""
    scan_allowlist: str = ".trivyignore.yaml"
    """YAML file of waivers (id, statement, expired_at), relative to the project directory; an expired waiver fails
    the update. Default ``.trivyignore.yaml``, Trivy's own ignore file, so CI and the gate share it (no waivers when
    it does not exist)."""
    scan_timeout_seconds: int = 600
    """Seconds the gate waits for the scan, 60-3600. Default 600."""
    backup_vault: Optional[bool] = None
    """AWS Backup of the database into a vault with Vault Lock, copied to ``db_backup_copy_region`` when there is one
    (``components/backup_vault.py``). Default None: the profile's (on in dev and prod)."""
    backup_vault_retention_days: Optional[int] = None
    """Days each vault recovery point (and its copies) is kept; also the lock's minimum retention. Default None: the
    profile's (dev 7, prod 35)."""
    backup_lock_mode: Optional[str] = None
    """``compliance`` (immutable after the cooling-off period: no one, root included, can delete a recovery point
    early or remove the lock) or ``governance`` (the lock can be removed by whoever may). Default None: the
    profile's (dev governance, prod compliance)."""
    backup_lock_cooling_off_days: int = 3
    """Compliance mode: days the lock can still be changed or removed after it is set, 3-36500 (AWS's minimum is 3).
    Default 3."""
    backup_copy_vault_arn: Optional[str] = None
    """ARN of a vault in a separate backup account that also receives every recovery point (accounts per
    environment); that vault's policy must allow this account's ``backup:CopyIntoBackupVault``. Default None."""
    tags: Optional[Mapping[str, str]] = None
    """Tags of every resource. Default None: ``app``, ``environment``, ``stack`` and ``managed-by``."""
    moved_from_stack_root: bool = False
    """The children were declared at the top of the stack by an earlier program (slipway before 0.1): alias them
    there so ``pulumi up`` adopts them instead of replacing them. Default False."""

    def __post_init__(self) -> None:
        """Refuse a missing or double image source, an unknown profile and a half-given domain."""
        from .validation import Checks, env_names

        checks = Checks()
        taken = {
            **dict.fromkeys(self.env, "env"),
            **dict.fromkeys(self.secrets, "secrets"),
            **dict.fromkeys(COMPONENT_ENV, "WebApp itself"),
        }
        env_names(checks, "generated_secrets", self.generated_secrets, taken)
        if (self.build_context is None) == (self.image_uri is None):
            checks.bad("build_context", self.build_context, "give exactly one of build_context and image_uri")
        if self.profile not in PROFILE_NAMES:
            checks.bad("profile", self.profile, "use dev or prod")
        if self.domain and not (self.hosted_zone_id or self.certificate_arn):
            checks.bad("domain", self.domain, "a domain needs hosted_zone_id (or certificate_arn)")
        self._check_scan_and_backup(checks)
        if self.profile == "prod" and not (self.certificate_arn or (self.domain and self.hosted_zone_id)):
            checks.bad(
                "certificate_arn", None, "prod needs certificate_arn or domain + hosted_zone_id (no self-signed)"
            )
        checks.raise_for("WebAppArgs")

    def _check_scan_and_backup(self, checks: Any) -> None:
        """The scan gate's and the backup vault's fields, and the allowlist's waivers (read here, before any
        resource exists, and again by :class:`WebApp`)."""
        from .backup_vault import LOCK_MODES
        from .ecr_scan import SCAN_TYPES, SEVERITIES
        from .scan_gate import DEFAULT_ALLOWLIST, load_allowlist

        if self.image_scan is not None:
            checks.one_of("image_scan", self.image_scan, SCAN_TYPES)
        for name in ("scan_fail_severity", "scan_warn_severity"):
            if getattr(self, name) is not None:
                checks.one_of(name, getattr(self, name), SEVERITIES)
        checks.int_range("scan_timeout_seconds", self.scan_timeout_seconds, 60, 3600, "seconds")
        if self.backup_lock_mode is not None:
            checks.one_of("backup_lock_mode", self.backup_lock_mode, LOCK_MODES)
        checks.int_range("backup_lock_cooling_off_days", self.backup_lock_cooling_off_days, 3, 36_500, "days")
        if self.backup_vault_retention_days is not None:
            checks.int_range("backup_vault_retention_days", self.backup_vault_retention_days, 1, 365, "days")
        if self.image_scan is not None:
            try:
                load_allowlist(self.scan_allowlist, required=self.scan_allowlist != DEFAULT_ALLOWLIST)
            except ValueError as err:
                checks.bad("scan_allowlist", self.scan_allowlist, str(err))

    def setting(self, field_name: str, key: str) -> Any:
        """This field's value, or the profile's for ``key`` (a ``slipway:`` config key) when it is None."""
        value = getattr(self, field_name)
        if value is not None:
            return value
        raw = PROFILES[self.profile][key]
        if raw in ("true", "false"):
            return raw == "true"
        return int(raw) if raw.isdigit() and key != "dbEngineVersion" else raw


class WebApp(pulumi.ComponentResource):
    """Outputs: ``url``, ``image_ref``, ``db_endpoint`` (None without a database), ``log_group_name``,
    ``cluster_name``, ``service_name``, ``alarm_topic_arn`` (None without observability).

    Children: ``network``, ``registry``, ``image`` (None for ``image_uri``), ``scan_gate`` (or None),
    ``app_secrets``, ``logs``, ``roles``, ``db`` (or None), ``backup_vault`` (or None), ``ecs``, ``migration`` (or
    None), ``certificate``, ``access_log_bucket`` (or None), ``web``, ``rollout`` (or None), ``alarms`` (or None)."""

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
        stack = pulumi.get_stack()
        prefix = args.name_prefix or f"{name}-{stack}"
        prod = args.profile == "prod"
        tags = dict(
            args.tags
            if args.tags is not None
            else {"app": name, "environment": args.profile, "stack": stack, "managed-by": "pulumi/slipway"}
        )
        s = args.setting
        arch: str = s("architecture", "architecture")
        log_retention: int = s("log_retention_days", "logRetentionDays")
        deletion_protection: bool = s("deletion_protection", "deletionProtection")
        region = args.region or pulumi.Config("aws").get("region") or os.environ.get("AWS_REGION")
        if not region:
            raise ValueError("WebAppArgs.region: none given and the stack sets no aws:region (nor AWS_REGION)")
        moved = [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)] if args.moved_from_stack_root else None
        child = pulumi.ResourceOptions(parent=self, aliases=moved)
        boundary: Optional[pulumi.Output[str]] = None
        if args.permissions_boundary_policy:
            policy_name = args.permissions_boundary_policy
            boundary = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id.apply(
                lambda account: f"arn:aws:iam::{account}:policy/{policy_name}"
            )

        self.network: Network = args.network or Network(
            f"{prefix}-net",
            NetworkArgs(
                cidr_block=s("vpc_cidr", "vpcCidr"),
                az_count=s("az_count", "azCount"),
                nat_strategy=s("nat_strategy", "natStrategy"),
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
        if args.image_uri and args.promote_image and _ecr_repository_arn(args.image_uri):
            # Promotion: copy the tested image into this stack's own repository, same digest, and run that copy,
            # so destroying the source stack or its lifecycle expiring the image never breaks this one.
            from .promotion import ImagePromotion, ImagePromotionArgs

            self.promotion = ImagePromotion(
                f"{prefix}-promotion",
                ImagePromotionArgs(
                    source_image=args.image_uri,
                    target_repository=self.registry.repository_name,
                    target_registry_url=self.registry.repository_url,
                    region=region,
                    aws_profile=args.aws_profile,
                ),
                opts=child,
            )
            image_ref = self.promotion.pinned_uri
        elif args.image_uri:
            image_ref = args.image_uri
        else:
            from .image import AppImage, AppImageArgs, image_tag

            context = str(args.build_context)
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
                    aws_profile=args.aws_profile,
                ),
                opts=child,
            )
            image_ref = self.image.image_ref
        # Scan gate: the registry's scan of this exact digest must pass before the migration or the rollout use it.
        self.scan_gate: Optional[Any] = None
        if args.image_scan and (args.image_uri is None or _ecr_repository_arn(args.image_uri)):
            from .scan_gate import DEFAULT_ALLOWLIST, SCAN_PROFILES, ScanGate, ScanGateArgs, load_allowlist

            self.scan_gate = ScanGate(
                f"{prefix}-scan-gate",
                ScanGateArgs(
                    image=image_ref,
                    scan_type=args.image_scan,
                    fail_at=args.scan_fail_severity or SCAN_PROFILES[args.profile]["fail_at"],
                    warn_at=args.scan_warn_severity or SCAN_PROFILES[args.profile]["warn_at"],
                    waivers=load_allowlist(args.scan_allowlist, required=args.scan_allowlist != DEFAULT_ALLOWLIST),
                    timeout_s=args.scan_timeout_seconds,
                    aws_profile=args.aws_profile,
                ),
                opts=child,
            )
        scanned: list[pulumi.Resource] = [self.scan_gate] if self.scan_gate is not None else []
        iam_db = args.database and args.db_app_role is not None
        managed_password = args.db_password_managed or iam_db
        self.app_secrets = AppSecrets(
            prefix,
            AppSecretsArgs(
                recovery_window_days=30 if prod else 7,
                db_password=not managed_password,
                generate=tuple(args.generated_secrets),
                tags=tags,
            ),
            opts=child,
        )
        self.logs = AppLogs(prefix, AppLogsArgs(retention_days=log_retention, tags=tags), opts=child)
        pull_from: list[pulumi.Input[str]] = [self.registry.repository_arn]
        foreign_repo = args.image_repository_arn or _ecr_repository_arn(args.image_uri)
        if foreign_repo and self.promotion is None:  # a promoted image runs from this stack's own repository
            pull_from.append(foreign_repo)
        self.db: Optional[Any] = None
        self.backup_vault: Optional[Any] = None
        env: dict[str, pulumi.Input[str]] = {**args.env, "PORT": str(args.container_port)}
        if args.database:
            from .database import Database, DatabaseArgs

            self.db = Database(
                f"{prefix}-db",
                DatabaseArgs(
                    vpc_id=net.vpc_id,
                    subnet_ids=net.private_subnet_ids,
                    password=None if managed_password else self.app_secrets.db_password,
                    iam_authentication=True,
                    engine_version=s("db_engine_version", "dbEngineVersion"),
                    instance_class=s("db_instance_class", "dbInstanceClass"),
                    allocated_storage_gb=s("db_allocated_storage_gb", "dbAllocatedStorageGb"),
                    max_allocated_storage_gb=s("db_max_allocated_storage_gb", "dbMaxAllocatedStorageGb"),
                    multi_az=s("db_multi_az", "dbMultiAz"),
                    backup_retention_days=s("backup_retention_days", "backupRetentionDays"),
                    backup_window=s("backup_window", "backupWindow"),
                    maintenance_window=s("maintenance_window", "maintenanceWindow"),
                    deletion_protection=deletion_protection,
                    final_snapshot=prod,
                    apply_immediately=not prod,
                    log_retention_days=log_retention,
                    restore=args.db_restore,
                    permissions_boundary=boundary,
                    tags=tags,
                ),
                opts=child,
            )
            copy_region = args.db_backup_copy_region or (
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
                        retention_days=s("backup_retention_days", "backupRetentionDays"),
                        tags=tags,
                    ),
                    opts=child,
                )
            if args.backup_vault is not False:  # AWS Backup into a locked vault (docs/recovery.md)
                from .backup_vault import VAULT_LOCK_MODE, VAULT_RETENTION_DAYS, BackupVault, BackupVaultArgs

                self.backup_vault = BackupVault(
                    f"{prefix}-backup",
                    BackupVaultArgs(
                        resource_arns=[self.db.arn],
                        lock_mode=args.backup_lock_mode or VAULT_LOCK_MODE[args.profile],
                        cooling_off_days=args.backup_lock_cooling_off_days,
                        retention_days=args.backup_vault_retention_days or VAULT_RETENTION_DAYS[args.profile],
                        copy_region=copy_region,
                        source_region=region,
                        copy_vault_arn=args.backup_copy_vault_arn,
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
        extra_arns: list[pulumi.Input[Optional[str]]] = [_secret_arn(v) for v in args.secrets.values()]
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
                    self.db.db_user_arn(str(args.db_app_role)).apply(_rds_connect_policy)
                    if self.db is not None and iam_db
                    else None
                ),
                tags=tags,
            ),
            opts=child,
        )
        container_secrets = {**self.app_secrets.container_secrets, **args.secrets}
        # The migration signs in as the master user (ECS injects the RDS-managed secret when the task starts).
        migration_env, migration_secrets = dict(env), dict(container_secrets)
        if self.db is not None and managed_password:
            migration_secrets["DB_PASSWORD"] = self.db.master_user_secret_arn.apply(lambda arn: f"{arn}:password::")
            if not iam_db:
                container_secrets["DB_PASSWORD"] = migration_secrets["DB_PASSWORD"]
        if self.db is not None and iam_db:
            migration_env["DB_APP_ROLE"] = str(args.db_app_role)
            env.update({"DB_USER": str(args.db_app_role), "DB_IAM_AUTH": "true", "DB_REGION": region})
        self.ecs: EcsCluster = args.cluster or EcsCluster(prefix, EcsClusterArgs(tags=tags), opts=child)
        self.migration: Optional[MigrationTask] = None
        if self.db is not None and args.migration_command is not None:
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
                    command=tuple(args.migration_command),
                    assign_public_ip=net.assign_public_ip,
                    architecture=arch,
                    aws_profile=args.aws_profile,
                    run_after=[self.db, *scanned],
                    tags=tags,
                ),
                opts=child,
            )
        from .tls import TlsCertificate, TlsCertificateArgs

        self.certificate = TlsCertificate(
            prefix,
            TlsCertificateArgs(
                mode="certificate" if args.certificate_arn else "domain" if args.domain else "self_signed",
                domain=args.domain,
                hosted_zone_id=args.hosted_zone_id,
                certificate_arn=args.certificate_arn,
                tags=tags,
            ),
            opts=child,
        )
        self.access_log_bucket: Optional[Any] = None
        if s("access_logs", "albAccessLogs"):
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
                cpu=s("cpu", "cpu"),
                memory=s("memory", "memory"),
                container_port=args.container_port,
                health_check_path=args.health_check_path,
                container_health_check=args.container_health_check,
                health_check_grace_period_seconds=args.health_check_grace_period_seconds,
                deregistration_delay_seconds=args.deregistration_delay_seconds,
                min_tasks=s("min_tasks", "minTasks"),
                max_tasks=s("max_tasks", "maxTasks"),
                cpu_target_percent=args.cpu_target_percent,
                requests_per_target=args.requests_per_target,
                fargate_spot=s("fargate_spot", "fargateSpot"),
                tls_policy=args.tls_policy,
                deletion_protection=deletion_protection,
                access_logs_bucket=self.access_log_bucket.bucket if self.access_log_bucket else None,
                domain=args.domain,
                hosted_zone_id=args.hosted_zone_id,
                deploy_after=[self.migration.gate] if self.migration else scanned,
                tags=tags,
            ),
            opts=child,
        )
        self.rollout: Optional[RolloutCheck] = None
        if args.rollout_check:
            self.rollout = RolloutCheck(
                f"{prefix}-rollout",
                RolloutCheckArgs(
                    cluster=self.ecs.cluster_arn,
                    service=self.web.service_name,
                    task_definition=self.web.task_definition_arn,
                    region=region,
                    aws_profile=args.aws_profile,
                ),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.web])),
            )
        self.alarms: Optional[Any] = None
        if args.observability and self.db is not None:
            from .observability import Observability, ObservabilityArgs

            self.alarms = Observability(
                prefix,
                ObservabilityArgs(
                    alb_arn_suffix=self.web.alb_arn_suffix,
                    target_group_arn_suffix=self.web.target_group_arn_suffix,
                    cluster_name=self.ecs.cluster_name,
                    service_name=self.web.service_name,
                    db_identifier=self.db.identifier,
                    db_instance_class=s("db_instance_class", "dbInstanceClass"),
                    db_allocated_storage_gb=s("db_allocated_storage_gb", "dbAllocatedStorageGb"),
                    alarm_email=args.alarm_email,
                    key_deletion_window_days=30 if prod else 7,
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
