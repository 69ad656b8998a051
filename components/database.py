"""Database: RDS PostgreSQL in private subnets, reachable only from members of its client security group.

Safety defaults (the prod choice; the dev stack opts out explicitly where it trades safety for cost):
encrypted storage, ``rds.force_ssl=1``, not publicly accessible, automated backups with point-in-time recovery,
copy tags to snapshots, auto minor upgrades, Performance Insights, Multi-AZ, deletion protection, a named final
snapshot, and automated backups kept after the instance is deleted.

Access model: the component creates a *client* security group. Whatever must reach the database (the web service
and the migration task) carries that group; the database group admits port 5432 from it and from nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from .docs import document_fields
from .iam import service_trust
from .naming import stack_scoped
from .sg_rules import tcp_between

PORT = 5432
LOG_EXPORTS = ("postgresql", "upgrade")
LATEST = "latest"
_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|\+00:00)$")
_SNAPSHOT = re.compile(
    r"^(arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:snapshot:)?(rds:|awsbackup:)?[A-Za-z][A-Za-z0-9-]{0,254}$"
)
_RECOVERY_POINT = re.compile(r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:snapshot:awsbackup:job-[0-9A-Fa-f-]{8,64}$")
_INSTANCE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_AUTOMATED_BACKUPS_ARN = re.compile(r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:auto-backup:ab-[a-z0-9]+$")


def parse_utc(value: str) -> dt.datetime:
    """An RFC 3339 time in UTC (``2026-11-30T12:00:00Z``, ``...+00:00``) -> an aware datetime; ValueError else."""
    if not _RFC3339_UTC.match(value):
        raise ValueError(f"time {value!r}: expected RFC 3339 in UTC, e.g. 2026-11-30T12:00:00Z, or {LATEST!r}")
    return dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))


@dataclass(frozen=True)
class RestoreSpec:
    """Where a restored database comes from (stack config ``slipway:dbRestore``): exactly one of ``time`` (point in
    time from automated backups) or ``snapshot``. Validated on construction: a time must be RFC 3339 UTC and not in
    the future (the retention window is checked by :class:`Database`, which knows it)."""

    time: Optional[str] = None
    """Point in time to restore: RFC 3339 UTC (``2026-11-30T12:00:00Z``) or ``latest`` (the latest restorable time,
    usually under 5 minutes ago). Default None (then ``snapshot`` is required)."""
    source_identifier: Optional[str] = None
    """Time form only: the instance whose automated backups are restored, or the ARN of retained automated backups
    (``arn:aws:rds:<region>:<account>:auto-backup:ab-...``) when that instance is gone. Default None: this
    component's own instance."""
    snapshot: Optional[str] = None
    """Snapshot identifier (``slipway-prod-db-final``, ``rds:slipway-prod-db-2026-11-30-03-05``) or snapshot ARN.
    Default None (then ``time`` is required)."""
    recovery_point: Optional[str] = None
    """A recovery point of this database in its AWS Backup vault (``components/backup_vault.py``), by ARN: for RDS an
    AWS Backup snapshot, ``arn:aws:rds:<region>:<account>:snapshot:awsbackup:job-<id>`` (``aws backup
    list-recovery-points-by-backup-vault``), in the stack's region (a copy in the second region is restored there).
    Default None (then ``time`` or ``snapshot``)."""
    keep_source: bool = True
    """Keep declaring the original instance (unchanged, protected) next to the restored one. Default True; False
    only when the original no longer exists (accidental deletion, region loss), or Pulumi would recreate it empty."""

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.time, self.snapshot, self.recovery_point)) != 1:
            raise ValueError("restore: give exactly one of time (RFC 3339 UTC or 'latest'), snapshot or recovery_point")
        if self.recovery_point is not None:
            if self.source_identifier is not None:
                raise ValueError("restore: source_identifier goes with time, not with recovery_point")
            if not _RECOVERY_POINT.match(self.recovery_point):
                raise ValueError(
                    f"restore: recovery_point {self.recovery_point!r} is not an RDS recovery point ARN of AWS Backup "
                    "(arn:aws:rds:<region>:<account>:snapshot:awsbackup:job-<id>)"
                )
        if self.snapshot is not None:
            if self.source_identifier is not None:
                raise ValueError("restore: source_identifier goes with time, not with snapshot")
            if not _SNAPSHOT.match(self.snapshot):
                raise ValueError(f"restore: snapshot {self.snapshot!r} is neither a snapshot identifier nor its ARN")
        if self.time is not None and self.time != LATEST:
            when = parse_utc(self.time)
            if when > dt.datetime.now(dt.UTC):
                raise ValueError(f"restore: time {self.time} is in the future")
        source = self.source_identifier
        if source is not None and not (_INSTANCE.match(source) or _AUTOMATED_BACKUPS_ARN.match(source)):
            raise ValueError(
                f"restore: source_identifier {source!r} is neither an instance identifier nor an automated backups ARN"
            )

    @property
    def restore_time(self) -> Optional[dt.datetime]:
        """The time to restore to; None for a snapshot or ``latest``."""
        return parse_utc(self.time) if self.time is not None and self.time != LATEST else None

    @property
    def suffix(self) -> str:
        """Identifier suffix of the restored instance, derived from the spec (stable across ``pulumi up`` runs):
        ``pitr-latest``, ``pitr-20261130-120000`` or ``snap-<8 hex of the snapshot>``."""
        when = self.restore_time
        if when is not None:
            return f"pitr-{when:%Y%m%d-%H%M%S}"
        if self.time == LATEST:
            return "pitr-latest"
        if self.recovery_point is not None:
            return f"rp-{hashlib.sha256(self.recovery_point.encode()).hexdigest()[:8]}"
        return f"snap-{hashlib.sha256(str(self.snapshot).encode()).hexdigest()[:8]}"


def restore_arguments(spec: RestoreSpec, own_identifier: str) -> dict[str, Any]:
    """The ``aws.rds.Instance`` arguments that make it a restore of ``spec`` (the only ones that differ)."""
    if spec.recovery_point is not None:  # an AWS Backup recovery point of RDS is an RDS snapshot, restored by ARN
        return {"snapshot_identifier": spec.recovery_point}
    if spec.snapshot is not None:
        return {"snapshot_identifier": spec.snapshot}
    source = spec.source_identifier or own_identifier
    when = spec.restore_time
    return {
        "restore_to_point_in_time": aws.rds.InstanceRestoreToPointInTimeArgs(
            use_latest_restorable_time=True if when is None else None,
            restore_time=when.strftime("%Y-%m-%dT%H:%M:%SZ") if when is not None else None,
            source_db_instance_identifier=None if _AUTOMATED_BACKUPS_ARN.match(source) else source,
            source_db_instance_automated_backups_arn=source if _AUTOMATED_BACKUPS_ARN.match(source) else None,
        )
    }


@document_fields
@dataclass(frozen=True)
class DatabaseArgs:
    vpc_id: pulumi.Input[str]
    """VPC of the database. Required."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets (at least two AZs) for the subnet group. Required."""
    password: Optional[pulumi.Input[str]] = None
    """Master password to set yourself (a secret output). Default None: RDS generates the master password, keeps it
    in Secrets Manager and rotates it (``manage_master_user_password``), so no long-lived password is in Pulumi
    state; read it through ``master_user_secret_arn``."""
    engine_version: str = "17"
    """PostgreSQL major version; RDS picks the newest minor and upgrades it automatically. Default ``17``."""
    instance_class: str = "db.t4g.micro"
    """Instance class. Default ``db.t4g.micro`` (Graviton, cheapest); prod profile uses ``db.t4g.medium``."""
    allocated_storage_gb: int = 20
    """Initial gp3 storage in GiB. Default 20 (the gp3 minimum)."""
    max_allocated_storage_gb: int = 100
    """Storage autoscaling ceiling in GiB. Default 100."""
    multi_az: bool = True
    """Synchronous standby in another AZ. Default True; dev sets False."""
    backup_retention_days: int = 14
    """Automated backup (and point-in-time recovery) retention, 1-35 days. Default 14."""
    backup_window: str = "03:00-04:00"
    """Daily backup window (UTC). Default 03:00-04:00."""
    maintenance_window: str = "sun:04:30-sun:05:30"
    """Weekly maintenance window (UTC), must not overlap the backup window. Default sun:04:30-sun:05:30."""
    deletion_protection: bool = True
    """Refuse deletes until turned off. Default True; dev sets False."""
    identifier: Optional[str] = None
    """RDS instance identifier. Default: the component's name (e.g. ``slipway-prod-db``); explicit so the log groups
    RDS exports to can be created, with retention, before the instance."""
    log_retention_days: int = 90
    """Retention of the ``/aws/rds/instance/<identifier>/{postgresql,upgrade}`` log groups. Default 90 (RDS alone
    would create them with no expiry)."""
    final_snapshot: bool = True
    """Take a named final snapshot on delete. Default True; dev sets False (disposable)."""
    performance_insights: bool = True
    """Performance Insights with the free 7-day retention. Default True."""
    apply_immediately: bool = False
    """Apply modifications now instead of in the maintenance window. Default False; dev sets True."""
    db_name: str = "app"
    """Database created on the instance. Default ``app``."""
    username: str = "app"
    """Master user name. Default ``app``."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every resource. Default none."""
    iam_authentication: bool = True
    """IAM database authentication: clients connect with 15-minute tokens (``rds-db:connect`` on
    :meth:`Database.db_user_arn`) instead of a password, so rotating the master secret never breaks them.
    Default True."""
    monitoring_interval_seconds: int = 60
    """Enhanced Monitoring (OS metrics) interval: 0 (off), 1, 5, 10, 15, 30 or 60. Default 60 (free tier of the
    metrics; FSBP RDS.6). The component creates the monitoring role."""
    permissions_boundary: Optional[pulumi.Input[str]] = None
    """ARN of a managed policy set as the permissions boundary of the Enhanced Monitoring role (the most it may
    ever do, whatever policy is attached later). Default None: no boundary."""
    restore: Optional[RestoreSpec] = None
    """Serve from a new instance restored from backups or a snapshot, with every other setting above; the original
    is kept, protected (see :class:`RestoreSpec`). Default None: no restore."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists (rules at the end of this file)."""
        _database_args(self)


def parameter_family(engine_version: str) -> str:
    return f"postgres{engine_version.split('.')[0]}"


class Database(pulumi.ComponentResource):
    """Outputs: ``address``, ``port``, ``endpoint``, ``identifier``, ``arn``, ``resource_id``,
    ``master_user_secret_arn`` (RDS-managed, rotated; None when ``password`` is given), ``db_name``, ``username``,
    ``security_group_id`` and ``client_security_group_id`` (attach it to whatever must connect)."""

    address: pulumi.Output[str]
    port: int
    endpoint: pulumi.Output[str]
    identifier: pulumi.Output[str]
    arn: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    master_user_secret_arn: pulumi.Output[Optional[str]]
    db_name: str
    username: str
    security_group_id: pulumi.Output[str]
    client_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("slipway:aws:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        client_sg = aws.ec2.SecurityGroup(
            f"{name}-client-sg",
            vpc_id=args.vpc_id,
            description="Members may connect to the app database",
            tags={**tags, "Name": f"{name}-client"},
            opts=child,
        )
        db_sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="App database: PostgreSQL from its client group only",
            tags={**tags, "Name": f"{name}-db"},
            opts=child,
        )
        tcp_between(
            source=client_sg.id,
            target=db_sg.id,
            port=PORT,
            egress=(f"{name}-client-to-db", "PostgreSQL to the database"),
            ingress=(f"{name}-from-clients", "PostgreSQL from clients"),
            opts=child,
        )
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            description="Private subnets of the app database",
            tags=tags,
            opts=child,
        )
        params = aws.rds.ParameterGroup(
            f"{name}-params",
            family=parameter_family(args.engine_version),
            description="slipway: TLS-only connections, slow-query logging",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_min_duration_statement", value="1000"),
            ],
            tags=tags,
            opts=child,
        )
        identifier = args.identifier or stack_scoped(name)
        monitoring_role = self._monitoring_role(name, args, child) if args.monitoring_interval_seconds else None

        def final_snapshot_identifier(
            name: str, identifier: str, args: DatabaseArgs, restore: Mapping[str, Any]
        ) -> Optional[pulumi.Output[str]]:
            """``<identifier>-final-<8 hex>``, new for every instance that replaces another: a fixed name makes the
            second deletion or replacement fail with DBSnapshotAlreadyExists (terraform-aws-modules adds a random
            suffix for the same reason). The suffix is regenerated whenever an input that replaces the instance
            changes (its keepers)."""
            if not args.final_snapshot:
                return None
            suffix = random.RandomId(
                f"{name}-final-snapshot-suffix",
                byte_length=4,
                keepers={
                    "identifier": identifier,
                    "db_name": args.db_name,
                    "username": args.username,
                    "restore": ",".join(sorted(restore)),
                },
                opts=child,
            )
            return pulumi.Output.concat(identifier, "-final-", suffix.hex)

        def rds_instance(name: str, identifier: str, **restore: Any) -> aws.rds.Instance:
            """The instance and its export log groups; ``restore`` adds the restore arguments, nothing else differs."""
            # RDS creates its export log groups itself, never expiring; created first, ours carry a retention.
            log_groups = [
                aws.cloudwatch.LogGroup(
                    f"{name}-{kind}-logs",
                    name=f"/aws/rds/instance/{identifier}/{kind}",
                    retention_in_days=args.log_retention_days,
                    tags=tags,
                    opts=child,
                )
                for kind in LOG_EXPORTS
            ]
            resource = aws.rds.Instance(
                f"{name}-instance",
                identifier=identifier,
                engine="postgres",
                engine_version=args.engine_version,
                instance_class=args.instance_class,
                allocated_storage=args.allocated_storage_gb,
                max_allocated_storage=args.max_allocated_storage_gb,
                storage_type="gp3",
                storage_encrypted=True,
                db_name=args.db_name,
                username=args.username,
                password=pulumi.Output.secret(args.password) if args.password is not None else None,
                manage_master_user_password=True if args.password is None else None,
                iam_database_authentication_enabled=args.iam_authentication,
                monitoring_interval=args.monitoring_interval_seconds,
                monitoring_role_arn=monitoring_role.arn if monitoring_role else None,
                port=PORT,
                db_subnet_group_name=subnets.name,
                parameter_group_name=params.name,
                vpc_security_group_ids=[db_sg.id],
                publicly_accessible=False,
                multi_az=args.multi_az,
                backup_retention_period=args.backup_retention_days,
                backup_window=args.backup_window,
                maintenance_window=args.maintenance_window,
                copy_tags_to_snapshot=True,
                delete_automated_backups=not args.final_snapshot,
                deletion_protection=args.deletion_protection,
                skip_final_snapshot=not args.final_snapshot,
                final_snapshot_identifier=final_snapshot_identifier(name, identifier, args, restore),
                auto_minor_version_upgrade=True,
                allow_major_version_upgrade=False,
                apply_immediately=args.apply_immediately,
                performance_insights_enabled=args.performance_insights,
                performance_insights_retention_period=7 if args.performance_insights else None,
                enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
                ca_cert_identifier="rds-ca-rsa2048-g1",
                **restore,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, protect=args.deletion_protection, depends_on=log_groups),
            )
            return resource

        if args.restore is None:
            instance = rds_instance(name, identifier)
        else:
            if args.restore.keep_source:  # the original, unchanged and still protected, next to the restored one
                rds_instance(name, identifier)
            # A new Pulumi resource with a new identifier: replacing the protected original in place is refused.
            instance = rds_instance(
                f"{name}-{args.restore.suffix}",
                f"{identifier}-{args.restore.suffix}",
                **restore_arguments(args.restore, identifier),
            )
        self.instance = instance  # the child, for whoever needs it (read, depend on, alias)
        self.address = instance.address
        self.port = PORT
        self.endpoint = instance.endpoint
        self.identifier = instance.identifier
        self.arn = instance.arn
        self.db_name = args.db_name
        self.username = args.username
        self.resource_id = instance.resource_id
        self.master_user_secret_arn = instance.master_user_secrets.apply(
            lambda secrets: secrets[0].secret_arn if secrets else None
        )
        self.security_group_id = db_sg.id
        self.client_security_group_id = client_sg.id
        self.register_outputs(
            {
                "address": self.address,
                "endpoint": self.endpoint,
                "identifier": self.identifier,
                "arn": self.arn,
                "resource_id": self.resource_id,
                "master_user_secret_arn": self.master_user_secret_arn,
                "security_group_id": self.security_group_id,
                "client_security_group_id": self.client_security_group_id,
            }
        )

    def db_user_arn(self, user: str) -> pulumi.Output[str]:
        """The ``rds-db:connect`` resource of ``user`` on this instance, for a task role's policy."""
        return pulumi.Output.all(self.arn, self.resource_id).apply(
            lambda parts: "arn:aws:rds-db:{}:{}:dbuser:{}/{}".format(*parts[0].split(":")[3:5], parts[1], user)
        )

    def _monitoring_role(self, name: str, args: DatabaseArgs, child: pulumi.ResourceOptions) -> aws.iam.Role:
        """The role Enhanced Monitoring publishes OS metrics with (AWS's managed policy for exactly that)."""
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region

        role = aws.iam.Role(
            f"{name}-monitoring",
            # Only RDS acting for this account's instances in this region (AWS's confused-deputy guidance).
            assume_role_policy=pulumi.Output.all(account, region).apply(
                lambda parts: service_trust(
                    "monitoring.rds.amazonaws.com", parts[0], f"arn:aws:rds:{parts[1]}:{parts[0]}:db:*"
                )
            ),
            description="RDS Enhanced Monitoring of the app database",
            permissions_boundary=args.permissions_boundary,
            tags=dict(args.tags),
            opts=child,
        )

        # What AWS's managed AmazonRDSEnhancedMonitoringRole allows, inline and limited to this account and region
        # (RDS writes OS metrics to the RDSOSMetrics log group, which it creates with a 30-day retention).
        def monitoring_policy(parts: list[str]) -> str:
            group = f"arn:aws:logs:{parts[1]}:{parts[0]}:log-group:RDSOSMetrics"
            streams = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"]
            return json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "RdsOsMetricsLogGroup",
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
                            "Resource": group,
                        },
                        {
                            "Sid": "RdsOsMetricsLogStreams",
                            "Effect": "Allow",
                            "Action": streams,
                            "Resource": f"{group}:log-stream:*",
                        },
                    ],
                }
            )

        aws.iam.RolePolicy(
            f"{name}-monitoring",
            role=role.name,
            policy=pulumi.Output.all(account, region).apply(monitoring_policy),
            opts=child,
        )
        return role


MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
"""Enhanced Monitoring intervals RDS accepts (pulumi_aws ``monitoring_interval`` docs)."""


def restore_too_old(spec: Optional[RestoreSpec], retention_days: Any) -> Optional[str]:
    """Why ``spec`` cannot restore from this instance's own backups (older than their retention), or None. Shared by
    :class:`DatabaseArgs` and the stack key ``slipway:dbRestore``."""
    when = spec.restore_time if spec else None
    if spec is None or when is None or spec.source_identifier is not None or not isinstance(retention_days, int):
        return None
    oldest = dt.datetime.now(dt.UTC) - dt.timedelta(days=retention_days)
    if when >= oldest:
        return None
    return (
        f"is older than the {retention_days}-day backup retention (earliest {oldest:%Y-%m-%dT%H:%M:%SZ}); "
        "restore a snapshot instead"
    )


# -- the Args' rules: every bad field at once, before the component or any child exists --------------------------
def _database_args(args: DatabaseArgs) -> None:
    from .validation import INSTANCE_CLASS, Checks, plain

    c = Checks()
    c.major_version("engine_version", args.engine_version)
    c.matches("instance_class", args.instance_class, INSTANCE_CLASS, "an RDS instance class", "db.t4g.micro")
    c.int_range("allocated_storage_gb", args.allocated_storage_gb, 20, 65536, "GiB (gp3 needs at least 20)")
    c.int_range("max_allocated_storage_gb", args.max_allocated_storage_gb, 20, 65536, "GiB")
    if all(isinstance(v, int) for v in (args.allocated_storage_gb, args.max_allocated_storage_gb)):
        if args.max_allocated_storage_gb < args.allocated_storage_gb:
            c.bad(
                "max_allocated_storage_gb",
                args.max_allocated_storage_gb,
                f"the storage autoscaling ceiling must be >= allocated_storage_gb ({args.allocated_storage_gb})",
                ("max_allocated_storage_gb", args.allocated_storage_gb),
            )
    if plain(args.backup_retention_days) and not 1 <= args.backup_retention_days <= 35:
        c.bad(
            "backup_retention_days",
            args.backup_retention_days,
            "RDS allows 1 to 35 (0 disables backups and point-in-time recovery, which slipway never does)",
            ("backup_retention_days", 14),
        )
    c.rds_windows("backup_window", args.backup_window, "maintenance_window", args.maintenance_window)
    c.log_retention("log_retention_days", args.log_retention_days)
    from .database import MONITORING_INTERVALS, restore_too_old

    interval = args.monitoring_interval_seconds
    if plain(interval) and interval not in MONITORING_INTERVALS:
        c.bad(
            "monitoring_interval_seconds",
            interval,
            f"RDS allows {', '.join(map(str, MONITORING_INTERVALS))}",
            ("monitoring_interval_seconds", 60),
        )
    too_old = restore_too_old(args.restore, args.backup_retention_days)
    if too_old:
        c.bad("restore", args.restore.time if args.restore else None, f"restore time {too_old}")
    c.raise_for("DatabaseArgs")
