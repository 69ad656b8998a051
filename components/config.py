"""StackConfig: the one place stack configuration is read and validated.

Every key lives in the ``slipway`` namespace (``slipway:natStrategy``) except the AWS region, which is the
provider's own ``aws:region``. Values arrive from Pulumi as strings; they are parsed here and checked all at
once, so a bad stack file fails with ONE error that lists every bad key, its value and how to fix it, before any
resource is registered.

Two environment profiles supply the defaults: ``dev`` (cheap and disposable, still TLS and a private database)
and ``prod`` (highly available and protected). Any key set in ``Pulumi.<stack>.yaml`` overrides its profile.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import pulumi

NAMESPACE = "slipway"

# CloudWatch Logs accepts only these retention values (PutRetentionPolicy API reference).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# Fargate task sizes: cpu units -> allowed memory (MiB).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}
NAT_STRATEGIES = ("none", "single", "per_az")
ARCHITECTURES = ("arm64", "x86_64")
ENVIRONMENTS = ("dev", "prod")
_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_MAINT_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-"
    r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
)
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_CERT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
_DIGEST_URI = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$")
# Load balancer and target group names (max 32) are "<appName>-<stack>-web-alb-" + 7 random characters.
MAX_PREFIX = 32 - len("-web-alb-") - 7
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


class ConfigError(pulumi.RunError):
    """Raised with every invalid key at once. A RunError prints without a Python traceback in the CLI."""

    def __init__(self, problems: list[str], stack: str) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration for stack '{stack}' ({len(problems)} problem(s)):\n{lines}")


# Per-environment defaults (string values, exactly as they would appear in a stack file).
PROFILES: dict[str, dict[str, str]] = {
    "dev": {
        "appName": "slipway",
        "vpcCidr": "10.20.0.0/16",
        "azCount": "2",
        "natStrategy": "none",
        "architecture": "arm64",
        "cpu": "256",
        "memory": "512",
        "minTasks": "1",
        "maxTasks": "2",
        "fargateSpot": "true",
        "containerPort": "8000",
        "healthCheckPath": "/healthz",
        "healthCheckGracePeriodSeconds": "30",
        "deregistrationDelaySeconds": "15",
        "cpuTargetPercent": "60",
        "requestsPerTarget": "500",
        "tlsPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "dbInstanceClass": "db.t4g.micro",
        "dbEngineVersion": "17",
        "dbAllocatedStorageGb": "20",
        "dbMaxAllocatedStorageGb": "50",
        "dbMultiAz": "false",
        "backupRetentionDays": "7",
        "backupWindow": "03:00-04:00",
        "maintenanceWindow": "sun:04:30-sun:05:30",
        "deletionProtection": "false",
        "logRetentionDays": "14",
        "albAccessLogs": "false",
        "logLevel": "INFO",
        "webConcurrency": "2",
    },
    "prod": {
        "appName": "slipway",
        "vpcCidr": "10.30.0.0/16",
        "azCount": "3",
        "natStrategy": "per_az",
        "architecture": "arm64",
        "cpu": "512",
        "memory": "1024",
        "minTasks": "2",
        "maxTasks": "6",
        "fargateSpot": "false",
        "containerPort": "8000",
        "healthCheckPath": "/healthz",
        "healthCheckGracePeriodSeconds": "30",
        "deregistrationDelaySeconds": "15",
        "cpuTargetPercent": "60",
        "requestsPerTarget": "500",
        "tlsPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "dbInstanceClass": "db.t4g.medium",
        "dbEngineVersion": "17",
        "dbAllocatedStorageGb": "50",
        "dbMaxAllocatedStorageGb": "500",
        "dbMultiAz": "true",
        "backupRetentionDays": "14",
        "backupWindow": "03:00-04:00",
        "maintenanceWindow": "sun:04:30-sun:05:30",
        "deletionProtection": "true",
        "logRetentionDays": "90",
        "albAccessLogs": "true",
        "logLevel": "INFO",
        "webConcurrency": "2",
    },
}

# What each key means (the README table and the Pulumi.yaml schema are generated from, and tested against, this).
KEY_DOCS: dict[str, str] = {
    "environment": "Profile: dev (cheap, disposable) or prod (highly available, protected). Required.",
    "appName": "Name prefix of every resource, 3-20 chars [a-z0-9-]; appName-stack at most 16 (ALB name limit).",
    "vpcCidr": "Private IPv4 block of the VPC, /16 to /20.",
    "azCount": "Availability zones spanned (2-6).",
    "natStrategy": "none | single | per_az. none runs tasks in public subnets behind an ALB-only security group.",
    "architecture": "arm64 (Graviton, cheaper) or x86_64, for the image and the tasks.",
    "cpu": "Fargate task CPU units (256, 512, 1024, 2048, 4096).",
    "memory": "Fargate task memory in MiB, valid for the chosen cpu.",
    "minTasks": "Autoscaling floor and initial task count.",
    "maxTasks": "Autoscaling ceiling.",
    "fargateSpot": "Run the service on Fargate Spot (interruptible, ~70% cheaper). Refused in prod.",
    "containerPort": "Port the app listens on.",
    "healthCheckPath": "Liveness path used by the target group and the container health check.",
    "healthCheckGracePeriodSeconds": "Seconds ECS ignores failing load-balancer health checks of a new task.",
    "deregistrationDelaySeconds": "Connection draining before a target leaves the load balancer (AWS default 300).",
    "cpuTargetPercent": "Target-tracking CPU utilisation for autoscaling (10-90).",
    "requestsPerTarget": "Target-tracking ALB requests per task per minute.",
    "tlsPolicy": "HTTPS listener security policy; must be a TLS 1.3 policy.",
    "dbInstanceClass": "RDS instance class.",
    "dbEngineVersion": "PostgreSQL major version (minor versions upgrade automatically).",
    "dbAllocatedStorageGb": "Initial gp3 storage in GiB (>= 20).",
    "dbMaxAllocatedStorageGb": "Storage autoscaling ceiling in GiB.",
    "dbMultiAz": "Synchronous standby in a second AZ. Required in prod.",
    "backupRetentionDays": "Automated backup and point-in-time-recovery retention (1-35; prod >= 14).",
    "backupWindow": "Daily backup window, UTC, hh24:mi-hh24:mi.",
    "maintenanceWindow": "Weekly maintenance window, UTC, ddd:hh24:mi-ddd:hh24:mi; must not overlap backups.",
    "deletionProtection": "RDS and ALB deletion protection plus Pulumi protect on the database. Required in prod.",
    "logRetentionDays": "CloudWatch log retention; a CloudWatch-allowed value (prod >= 90).",
    "albAccessLogs": "Write ALB access logs to an encrypted S3 bucket.",
    "logLevel": "App log level: DEBUG, INFO, WARNING or ERROR.",
    "webConcurrency": "Gunicorn worker processes per task. webConcurrency x 10 pooled connections x maxTasks x 2 "
    "(rollout) must fit the database class's max_connections.",
    "domain": "DNS name to serve (with hostedZoneId: DNS-validated ACM certificate and alias record).",
    "hostedZoneId": "Route 53 hosted zone of domain.",
    "certificateArn": "Existing ACM certificate in the stack's region (instead of domain + hostedZoneId).",
    "alarmEmail": "E-mail subscribed to the alarm topic (confirm the subscription mail).",
    "imageUri": "Deploy this image digest (repo@sha256:...) instead of building app/; used to promote dev to prod.",
}

# Keys with no default: optional (None when unset).
OPTIONAL_KEYS = ("domain", "hostedZoneId", "certificateArn", "alarmEmail", "imageUri")
KNOWN_KEYS = frozenset(PROFILES["dev"]) | frozenset(OPTIONAL_KEYS) | {"environment"}


@dataclass(frozen=True)
class StackConfig:
    """Typed, validated configuration of one stack. Build it with :meth:`load` or :meth:`from_mapping`."""

    stack: str
    environment: str
    region: str
    app_name: str
    vpc_cidr: str
    az_count: int
    nat_strategy: str
    architecture: str
    cpu: int
    memory: int
    min_tasks: int
    max_tasks: int
    fargate_spot: bool
    container_port: int
    health_check_path: str
    health_check_grace_period_seconds: int
    deregistration_delay_seconds: int
    cpu_target_percent: int
    requests_per_target: int
    tls_policy: str
    db_instance_class: str
    db_engine_version: str
    db_allocated_storage_gb: int
    db_max_allocated_storage_gb: int
    db_multi_az: bool
    backup_retention_days: int
    backup_window: str
    maintenance_window: str
    deletion_protection: bool
    log_retention_days: int
    alb_access_logs: bool
    log_level: str
    web_concurrency: int
    domain: Optional[str] = None
    hosted_zone_id: Optional[str] = None
    certificate_arn: Optional[str] = None
    alarm_email: Optional[str] = None
    image_uri: Optional[str] = None
    aws_profile: Optional[str] = None
    """``aws:profile`` (the provider's named profile), handed to the program's own AWS calls (image lookup, migration
    gate, rollout check) so they use the same account as the provider. Default None: the default credential chain."""

    @property
    def tags(self) -> dict[str, str]:
        """Tags every taggable resource carries (cost allocation and ownership)."""
        return {
            "app": self.app_name,
            "environment": self.environment,
            "stack": self.stack,
            "managed-by": "pulumi/slipway",
        }

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def prefix(self) -> str:
        """Resource name prefix, e.g. ``slipway-dev``."""
        return f"{self.app_name}-{self.stack}"

    @property
    def image_repository_arn(self) -> Optional[str]:
        """ECR repository ARN of a promoted ``image_uri`` (its execution role must be allowed to pull from it)."""
        if not self.image_uri:
            return None
        host, path = self.image_uri.split("@", 1)[0].split("/", 1)
        account, _, _, region = host.split(".")[:4]
        return f"arn:aws:ecr:{region}:{account}:repository/{path}"

    @property
    def tls_mode(self) -> str:
        """``domain`` (ACM + Route 53), ``certificate`` (existing ARN) or ``self_signed`` (dev only)."""
        if self.certificate_arn:
            return "certificate"
        if self.domain:
            return "domain"
        return "self_signed"

    @classmethod
    def load(cls) -> StackConfig:
        """Read the current stack's config through ``pulumi.Config`` and validate it."""
        ns = pulumi.Config(NAMESPACE)
        values = {key: ns.get(key) for key in KNOWN_KEYS}
        present = {k: v for k, v in values.items() if v is not None}
        aws_config = pulumi.Config("aws")
        cfg = cls.from_mapping(pulumi.get_stack(), present, region=aws_config.get("region"))
        return dataclasses.replace(cfg, aws_profile=aws_config.get("profile") or None)

    @classmethod
    def from_mapping(cls, stack: str, values: Mapping[str, Any], region: Optional[str]) -> StackConfig:
        """Validate raw (string) config values for ``stack``; raise :class:`ConfigError` listing every problem."""
        return _Parser(stack, values, region).build()


# The sample app's SQLAlchemy pool per worker process: pool_size 5 + max_overflow 5 (app/slipway_app/db.py; a test
# keeps the two equal). RDS reserves 3 connections for rdsadmin/superusers.
APP_DB_CONNECTIONS_PER_WORKER = 10
RDS_RESERVED_CONNECTIONS = 3


def peak_db_connections(cfg: StackConfig) -> int:
    """Connections the service may hold at once: every worker's full pool on maxTasks x 2 tasks (a rollout runs old
    and new side by side at 200 %), plus the migration task."""
    return cfg.web_concurrency * APP_DB_CONNECTIONS_PER_WORKER * cfg.max_tasks * 2 + 1


def db_connection_limit(instance_class: str) -> int:
    from .observability import default_max_connections

    return default_max_connections(instance_class) - RDS_RESERVED_CONNECTIONS


class _Parser:
    """Collects every problem instead of stopping at the first."""

    def __init__(self, stack: str, values: Mapping[str, Any], region: Optional[str]) -> None:
        self.stack = stack
        self.raw = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in values.items()}
        self.region = region
        self.problems: list[str] = []

    # -- helpers -------------------------------------------------------------------------------------------
    def bad(self, key: str, value: Any, fix: str) -> None:
        self.problems.append(f"{NAMESPACE}:{key} = {value!r}: {fix}")

    def text(self, key: str) -> Optional[str]:
        value = self.raw.get(key)
        return value.strip() if value is not None and value.strip() else None

    def integer(self, key: str, lo: int, hi: int) -> int:
        value = self.raw[key]
        try:
            number = int(value)
        except ValueError:
            self.bad(key, value, f"must be a whole number between {lo} and {hi}")
            return lo
        if not lo <= number <= hi:
            self.bad(key, value, f"must be between {lo} and {hi}")
        return number

    def boolean(self, key: str) -> bool:
        value = self.raw[key].lower()
        if value not in ("true", "false"):
            self.bad(key, self.raw[key], "must be true or false")
        return value == "true"

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.raw[key]
        if value not in options:
            self.bad(key, value, f"must be one of: {', '.join(options)}")
        return value

    def pattern(self, key: str, regex: re.Pattern[str], fix: str) -> Optional[str]:
        value = self.text(key)
        if value is not None and not regex.match(value):
            self.bad(key, value, fix)
        return value

    # -- the parse -----------------------------------------------------------------------------------------
    def build(self) -> StackConfig:
        env = self.raw.get("environment")
        if env not in ENVIRONMENTS:
            self.bad("environment", env, "set slipway:environment to dev or prod in Pulumi.<stack>.yaml")
            raise ConfigError(self.problems, self.stack)
        unknown = sorted(set(self.raw) - KNOWN_KEYS)
        for key in unknown:
            self.bad(key, self.raw[key], "unknown key; see the config table in README.md (keys are camelCase)")
        self.raw = {**PROFILES[env], **self.raw}
        if not self.region or not _REGION.match(self.region):
            self.problems.append(f"aws:region = {self.region!r}: set it with `pulumi config set aws:region us-east-1`")
        cfg = self.parse(env)
        self.cross_checks(cfg)
        if self.problems:
            raise ConfigError(self.problems, self.stack)
        return cfg

    def parse(self, env: str) -> StackConfig:
        i, b, c = self.integer, self.boolean, self.choice
        cpu = i("cpu", 256, 4096)
        if cpu not in FARGATE_SIZES:
            self.bad("cpu", cpu, f"must be a Fargate CPU size: {', '.join(map(str, FARGATE_SIZES))}")
        memory = i("memory", 512, 30720)
        if cpu in FARGATE_SIZES and memory not in FARGATE_SIZES[cpu]:
            allowed = FARGATE_SIZES[cpu]
            self.bad(
                "memory",
                memory,
                f"with cpu={cpu} Fargate allows {allowed[0]}..{allowed[-1]} MiB in steps "
                f"of 1024 (or 512/1024/2048 for cpu=256)",
            )
        log_days = i("logRetentionDays", 1, 3653)
        if log_days not in LOG_RETENTION_DAYS:
            self.bad(
                "logRetentionDays",
                log_days,
                f"CloudWatch only accepts {', '.join(map(str, LOG_RETENTION_DAYS[:12]))}, ... days",
            )
        path = self.raw["healthCheckPath"]
        if not path.startswith("/") or " " in path:
            self.bad("healthCheckPath", path, "must be an absolute URL path such as /healthz")
        level = self.raw["logLevel"].upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            self.bad("logLevel", self.raw["logLevel"], "must be one of DEBUG, INFO, WARNING, ERROR")
        return StackConfig(
            stack=self.stack,
            environment=env,
            region=self.region or "",
            app_name=self.pattern(
                "appName", _NAME, "3-20 chars: lowercase letters, digits and '-', starting with a letter"
            )
            or "slipway",
            vpc_cidr=self.cidr("vpcCidr"),
            az_count=i("azCount", 2, 6),
            nat_strategy=c("natStrategy", NAT_STRATEGIES),
            architecture=c("architecture", ARCHITECTURES),
            cpu=cpu,
            memory=memory,
            min_tasks=i("minTasks", 1, 100),
            max_tasks=i("maxTasks", 1, 100),
            fargate_spot=b("fargateSpot"),
            container_port=i("containerPort", 1024, 65535),
            health_check_path=path,
            health_check_grace_period_seconds=i("healthCheckGracePeriodSeconds", 0, 600),
            deregistration_delay_seconds=i("deregistrationDelaySeconds", 0, 3600),
            cpu_target_percent=i("cpuTargetPercent", 10, 90),
            requests_per_target=i("requestsPerTarget", 10, 100000),
            tls_policy=self.pattern(
                "tlsPolicy",
                re.compile(r"^ELBSecurityPolicy-TLS13-"),
                "use a TLS 1.3 policy such as ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
            )
            or "",
            db_instance_class=self.pattern(
                "dbInstanceClass",
                re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$"),
                "must be an RDS class such as db.t4g.micro",
            )
            or "",
            db_engine_version=self.pattern(
                "dbEngineVersion",
                re.compile(r"^1[4-9](\.\d+)?$"),
                "must be a supported PostgreSQL major (14-19), e.g. 17",
            )
            or "",
            db_allocated_storage_gb=i("dbAllocatedStorageGb", 20, 65536),
            db_max_allocated_storage_gb=i("dbMaxAllocatedStorageGb", 20, 65536),
            db_multi_az=b("dbMultiAz"),
            backup_retention_days=i("backupRetentionDays", 1, 35),
            backup_window=self.pattern("backupWindow", _WINDOW, "must be hh24:mi-hh24:mi in UTC, e.g. 03:00-04:00")
            or "",
            maintenance_window=self.pattern(
                "maintenanceWindow", _MAINT_WINDOW, "must be ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:04:30-sun:05:30"
            )
            or "",
            deletion_protection=b("deletionProtection"),
            log_retention_days=log_days,
            alb_access_logs=b("albAccessLogs"),
            log_level=level,
            web_concurrency=i("webConcurrency", 1, 32),
            domain=self.pattern("domain", _DOMAIN, "must be a lowercase DNS name such as app.example.com"),
            hosted_zone_id=self.pattern(
                "hostedZoneId", _ZONE_ID, "must be a Route 53 zone id such as Z0123456789ABCDEFGHIJ"
            ),
            certificate_arn=self.pattern(
                "certificateArn",
                _CERT_ARN,
                "must be an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)",
            ),
            alarm_email=self.pattern("alarmEmail", _EMAIL, "must be an e-mail address"),
            image_uri=self.pattern(
                "imageUri", _DIGEST_URI, "must pin a digest: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO@sha256:<64 hex>"
            ),
        )

    def cidr(self, key: str) -> str:
        value = self.raw[key]
        try:
            net = ipaddress.ip_network(value, strict=True)
        except ValueError:
            self.bad(key, value, "must be an IPv4 CIDR block such as 10.20.0.0/16")
            return value
        if net.version != 4 or not 16 <= net.prefixlen <= 20 or not net.is_private:
            self.bad(
                key, value, "must be a private IPv4 block from /16 to /20 (subnets are 1/16 of it), e.g. 10.20.0.0/16"
            )
        return value

    def cross_checks(self, cfg: StackConfig) -> None:
        checks: list[tuple[bool, str, Any, str]] = [
            (
                cfg.min_tasks <= cfg.max_tasks,
                "minTasks",
                cfg.min_tasks,
                f"must not exceed maxTasks ({cfg.max_tasks}); raise slipway:maxTasks or lower slipway:minTasks",
            ),
            (
                cfg.db_max_allocated_storage_gb >= cfg.db_allocated_storage_gb,
                "dbMaxAllocatedStorageGb",
                cfg.db_max_allocated_storage_gb,
                f"storage autoscaling ceiling must be >= dbAllocatedStorageGb ({cfg.db_allocated_storage_gb})",
            ),
            (
                not (cfg.domain and not cfg.hosted_zone_id and not cfg.certificate_arn),
                "domain",
                cfg.domain,
                "a domain needs slipway:hostedZoneId (DNS-validated ACM certificate) or slipway:certificateArn",
            ),
            (
                not (cfg.hosted_zone_id and not cfg.domain),
                "hostedZoneId",
                cfg.hosted_zone_id,
                "set slipway:domain too: the zone is only used to validate and alias that domain",
            ),
            (
                not (cfg.certificate_arn and cfg.region and f":acm:{cfg.region}:" not in cfg.certificate_arn),
                "certificateArn",
                cfg.certificate_arn,
                f"an ALB needs a certificate in its own region ({cfg.region})",
            ),
            (
                _windows_disjoint(cfg.backup_window, cfg.maintenance_window),
                "maintenanceWindow",
                cfg.maintenance_window,
                f"must not overlap backupWindow ({cfg.backup_window})",
            ),
            (
                peak_db_connections(cfg) <= db_connection_limit(cfg.db_instance_class),
                "webConcurrency",
                cfg.web_concurrency,
                f"at peak (maxTasks={cfg.max_tasks}, doubled during a rollout) the app may open "
                f"{peak_db_connections(cfg)} database connections; {cfg.db_instance_class} allows about "
                f"{db_connection_limit(cfg.db_instance_class)}: lower slipway:webConcurrency or slipway:maxTasks, or "
                f"raise slipway:dbInstanceClass",
            ),
            (
                len(cfg.prefix) <= MAX_PREFIX,
                "appName",
                cfg.app_name,
                f"'{cfg.prefix}' (appName-stack) is {len(cfg.prefix)} chars; AWS caps load balancer and target group "
                f"names at 32, which leaves {MAX_PREFIX} for appName-stack: shorten slipway:appName",
            ),
        ]
        if cfg.is_prod:
            checks += [
                (
                    cfg.deletion_protection,
                    "deletionProtection",
                    cfg.deletion_protection,
                    "prod requires deletion_protection=true; set slipway:deletionProtection: 'true' "
                    "in Pulumi.prod.yaml",
                ),
                (
                    cfg.backup_retention_days >= 14,
                    "backupRetentionDays",
                    cfg.backup_retention_days,
                    "prod keeps backups at least 14 days; set slipway:backupRetentionDays between 14 and 35",
                ),
                (
                    cfg.log_retention_days >= 90,
                    "logRetentionDays",
                    cfg.log_retention_days,
                    "prod keeps logs at least 90 days; set slipway:logRetentionDays to 90 or more",
                ),
                (
                    cfg.db_multi_az,
                    "dbMultiAz",
                    cfg.db_multi_az,
                    "prod requires a Multi-AZ database; set slipway:dbMultiAz: 'true'",
                ),
                (
                    cfg.nat_strategy != "none",
                    "natStrategy",
                    cfg.nat_strategy,
                    "prod runs tasks in private subnets; set slipway:natStrategy to per_az (or single)",
                ),
                (
                    cfg.min_tasks >= 2,
                    "minTasks",
                    cfg.min_tasks,
                    "prod needs at least 2 tasks to survive an AZ or task failure; set slipway:minTasks >= 2",
                ),
                (
                    cfg.tls_mode != "self_signed",
                    "domain",
                    cfg.domain,
                    "prod needs a trusted certificate: set slipway:domain + slipway:hostedZoneId, "
                    "or slipway:certificateArn",
                ),
                (
                    not cfg.fargate_spot,
                    "fargateSpot",
                    cfg.fargate_spot,
                    "prod must not run on interruptible Fargate Spot; set slipway:fargateSpot: 'false'",
                ),
            ]
        for ok, key, value, fix in checks:
            if not ok:
                self.bad(key, value, fix)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _windows_disjoint(backup: str, maintenance: str) -> bool:
    """True when the daily backup window never overlaps the weekly maintenance window (both UTC)."""
    if not (_WINDOW.match(backup) and _MAINT_WINDOW.match(maintenance)):
        return True  # format errors are reported on their own keys
    b_start, b_end = (_minutes(x) for x in backup.split("-"))
    m_start, m_end = (_minutes(x.split(":", 1)[1]) for x in maintenance.split("-"))

    def spans(start: int, end: int) -> list[tuple[int, int]]:
        return [(start, end)] if start < end else [(start, 1440), (0, end)]

    return not any(a < d and c < b for a, b in spans(b_start, b_end) for c, d in spans(m_start, m_end))
