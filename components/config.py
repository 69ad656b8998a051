"""StackConfig: the one place stack configuration is read and validated.

Every key lives in the ``slipway`` namespace (``slipway:natStrategy``) except the AWS provider's own ``aws:region``
and ``aws:profile``. Values arrive from Pulumi as strings; they are parsed here and checked all at once with the
validators the components' Args use (:mod:`components.validation`), so a bad stack file fails with ONE error that
lists every bad key, its value as written, why, and a line to paste into ``Pulumi.<stack>.yaml``, before any resource
is registered. Keys nobody reads (``slipway:minTask``, ``minTasks`` without the namespace, ``app:minTasks``) are
refused too, with a did-you-mean.

Two environment profiles supply the defaults: ``dev`` (cheap and disposable, still TLS and a private database)
and ``prod`` (highly available and protected). Any key set in ``Pulumi.<stack>.yaml`` overrides its profile.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import yaml

from .validation import (
    ARCHITECTURES,
    CERT_ARN,
    DOMAIN,
    ECR_DIGEST_URI,
    EMAIL,
    FARGATE_SIZES,
    INSTANCE_CLASS,
    LOG_LEVELS,
    LOG_RETENTION_DAYS,
    NAT_STRATEGIES,
    REGION,
    UNKNOWN,
    ZONE_ID,
    Checks,
    Dialect,
    Problem,
    closest,
    fargate_table_text,
    normalized,
    plain,
    windows_disjoint,
)

__all__ = [
    "ARCHITECTURES",
    "FARGATE_SIZES",
    "KEY_DOCS",
    "KNOWN_KEYS",
    "LOG_RETENTION_DAYS",
    "NAT_STRATEGIES",
    "ConfigError",
    "StackConfig",
]

NAMESPACE = "slipway"
ENVIRONMENTS = ("dev", "prod")
# Load balancer and target group names (max 32) are "<appName>-<stack>-web-alb-" + 7 random characters.
MAX_PREFIX = 32 - len("-web-alb-") - 7
_NAME = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
MIN_APP_NAME = 3
# Namespaces whose keys are someone else's (providers, the engine): only a key that is one of ours, spelt
# differently, is refused there.
FOREIGN_NAMESPACES = ("aws", "pulumi", "docker", "random", "tls", "command")


def max_app_name(stack: str) -> int:
    """The longest appName that fits with this stack name: ``<appName>-<stack>`` may have MAX_PREFIX characters."""
    return MAX_PREFIX - 1 - len(stack)


class ConfigError(pulumi.RunError):
    """Raised with every invalid key at once. A RunError prints without a Python traceback in the CLI."""

    def __init__(self, problems: list[str], stack: str) -> None:
        self.problems = problems
        self.stack = stack
        lines = "\n".join(f"  - {p}" for p in problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(
            f"invalid configuration for stack '{stack}' ({count}); the fixes go in Pulumi.{stack}.yaml under "
            f"`config:` (or `pulumi config set KEY VALUE`):\n{lines}"
        )


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
    "appName": f"Name prefix of every resource: lowercase letters, digits and '-', starting with a letter; "
    f"{MIN_APP_NAME} characters up to {MAX_PREFIX - 1} minus the stack name's length ({max_app_name('dev')} for dev, "
    f"{max_app_name('prod')} for prod), because <appName>-<stack>-web-alb-<7 random> must fit AWS's 32-character "
    f"load balancer name.",
    "vpcCidr": "Private IPv4 block of the VPC, /16 to /20, host bits zero (each subnet is 1/16 of it).",
    "azCount": "Availability zones spanned (2-6).",
    "natStrategy": "none | single | per_az. none runs tasks in public subnets behind an ALB-only security group.",
    "architecture": "arm64 (Graviton, cheaper) or x86_64, for the image and the tasks.",
    "cpu": f"Fargate task CPU units: {', '.join(map(str, FARGATE_SIZES))}.",
    "memory": f"Fargate task memory in MiB, valid for the chosen cpu ({fargate_table_text()}).",
    "minTasks": "Autoscaling floor and initial task count (1-100; prod >= 2).",
    "maxTasks": "Autoscaling ceiling (1-100, >= minTasks).",
    "fargateSpot": "Run the service on Fargate Spot (interruptible, ~70% cheaper). Refused in prod.",
    "containerPort": "Port the app listens on (1024-65535).",
    "healthCheckPath": "Liveness path used by the target group and the container health check.",
    "healthCheckGracePeriodSeconds": "Seconds ECS ignores failing load-balancer health checks of a new task (0-600).",
    "deregistrationDelaySeconds": "Connection draining before a target leaves the load balancer, 0-3600 (AWS default "
    "300).",
    "cpuTargetPercent": "Target-tracking CPU utilisation for autoscaling (10-90).",
    "requestsPerTarget": "Target-tracking ALB requests per task per minute (10-100000).",
    "tlsPolicy": "HTTPS listener security policy; must be a TLS 1.3 policy.",
    "dbInstanceClass": "RDS instance class.",
    "dbEngineVersion": "PostgreSQL MAJOR version, a whole number such as 17 (RDS picks and upgrades the minor).",
    "dbAllocatedStorageGb": "Initial gp3 storage in GiB (>= 20).",
    "dbMaxAllocatedStorageGb": "Storage autoscaling ceiling in GiB (>= dbAllocatedStorageGb).",
    "dbMultiAz": "Synchronous standby in a second AZ. Required in prod.",
    "backupRetentionDays": "Automated backup and point-in-time-recovery retention (1-35; prod >= 14).",
    "backupWindow": "Daily backup window, UTC, hh24:mi-hh24:mi, at least 30 minutes.",
    "maintenanceWindow": "Weekly maintenance window, UTC, ddd:hh24:mi-ddd:hh24:mi, at least 30 minutes; must not "
    "overlap backups.",
    "deletionProtection": "RDS and ALB deletion protection plus Pulumi protect on the database. Required in prod.",
    "logRetentionDays": "CloudWatch log retention; a CloudWatch-allowed value (prod >= 90).",
    "albAccessLogs": "Write ALB access logs to an encrypted S3 bucket.",
    "logLevel": "App log level: DEBUG, INFO, WARNING or ERROR.",
    "webConcurrency": "Gunicorn worker processes per task (1-32). webConcurrency x 10 pooled connections x maxTasks x "
    "2 (rollout) must fit the database class's max_connections.",
    "domain": "DNS name to serve (with hostedZoneId: DNS-validated ACM certificate and alias record).",
    "hostedZoneId": "Route 53 hosted zone of domain.",
    "certificateArn": "Existing ACM certificate in the stack's region, instead of a DNS-validated one (a domain still "
    "needs hostedZoneId for its alias record).",
    "alarmEmail": "E-mail subscribed to the alarm topic (confirm the subscription mail).",
    "imageUri": "Deploy this image digest (repo@sha256:...) instead of building app/; used to promote dev to prod.",
    "dbRestore": "Serve from a new database restored from backups: {time: <RFC 3339 UTC> | latest} (point in time; "
    "optional sourceIdentifier: another instance or a retained automated-backups ARN) or {snapshot: <identifier or "
    "ARN>}; keepSource: false when the original instance is gone. The original stays, protected; remove the key to "
    "serve from it again (docs/recovery.md).",
}
# Keys whose value is a YAML mapping. Pulumi's project schema has no object type (its configTypeDeclaration allows
# string, integer, boolean and array), so these are declared in the README table only and validated here.
OBJECT_KEYS = ("dbRestore",)
RESTORE_FIELDS = {
    "time": "time",
    "snapshot": "snapshot",
    "sourceIdentifier": "source_identifier",
    "keepSource": "keep_source",
}

# Keys with no default: optional (None when unset).
OPTIONAL_KEYS = ("domain", "hostedZoneId", "certificateArn", "alarmEmail", "imageUri", "dbRestore")
KNOWN_KEYS = frozenset(PROFILES["dev"]) | frozenset(OPTIONAL_KEYS) | {"environment"}


def key_type(key: str) -> str:
    """The Pulumi.yaml schema type of a key: what its profile default looks like (``object`` for a mapping)."""
    if key in OBJECT_KEYS:
        return "object"
    sample = PROFILES["dev"].get(key)
    if sample in ("true", "false"):
        return "boolean"
    if sample is not None and sample.isdigit():
        return "integer"
    return "string"


# Integer keys with a plain range (cpu, memory and logRetentionDays have their own checks).
INT_RANGES: dict[str, tuple[int, int]] = {
    "azCount": (2, 6),
    "minTasks": (1, 100),
    "maxTasks": (1, 100),
    "containerPort": (1024, 65535),
    "healthCheckGracePeriodSeconds": (0, 600),
    "deregistrationDelaySeconds": (0, 3600),
    "cpuTargetPercent": (10, 90),
    "requestsPerTarget": (10, 100000),
    "dbAllocatedStorageGb": (20, 65536),
    "dbMaxAllocatedStorageGb": (20, 65536),
    "backupRetentionDays": (1, 35),
    "webConcurrency": (1, 32),
}
# Valid stand-ins for optional keys whose value is a `secure:` ciphertext the offline engine cannot decrypt.
_PLACEHOLDERS = {
    "domain": "secure-placeholder.example.com",
    "hostedZoneId": "ZSECUREPLACEHOLDER0",
    "certificateArn": "arn:aws:acm:{region}:123456789012:certificate/00000000-0000-4000-8000-000000000000",
    "alarmEmail": "secure-placeholder@example.com",
    "imageUri": "123456789012.dkr.ecr.{region}.amazonaws.com/secure-placeholder@sha256:" + "0" * 64,
    "dbRestore": '{"time": "latest"}',
}


def secure_placeholder(key: str, environment: Optional[str], region: Optional[str]) -> Optional[str]:
    """A value that passes ``key``'s own checks, standing in offline for a ``secure:`` value (None: not our key)."""
    name = key.split(":", 1)[1] if key.startswith(f"{NAMESPACE}:") else None
    if name not in KNOWN_KEYS:
        return None
    env = environment if environment in ENVIRONMENTS else "dev"
    if name == "environment":
        return env
    if name in PROFILES[env]:
        return PROFILES[env][name]
    return _PLACEHOLDERS[name].replace("{region}", region or "us-east-1")


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
    db_restore: Optional[Any] = None
    """``slipway:dbRestore`` as a :class:`components.database.RestoreSpec`, or None."""
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
    def permissions_boundary_policy(self) -> str:
        """The managed policy bounding every role the stack creates; its deploy role may create roles only with it."""
        from .iam import BOUNDARY_POLICY_NAME

        return BOUNDARY_POLICY_NAME.format(prefix=self.prefix)

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
        """Read the current stack's config and validate it: every ``slipway:`` key, and every other key that looks
        like one of ours."""
        from pulumi.runtime.config import CONFIG, get_config, get_config_env

        everything = {key: get_config(key) for key in {*CONFIG.get(), *get_config_env()}}
        prefix = f"{NAMESPACE}:"
        ours = {k[len(prefix) :]: v for k, v in everything.items() if k.startswith(prefix) and v is not None}
        others = {k: v for k, v in everything.items() if not k.startswith(prefix) and v is not None}
        cfg = cls.from_mapping(pulumi.get_stack(), ours, region=everything.get("aws:region"), other_keys=others)
        return dataclasses.replace(cfg, aws_profile=everything.get("aws:profile") or None)

    @classmethod
    def from_mapping(
        cls,
        stack: str,
        values: Mapping[str, Any],
        region: Optional[str],
        other_keys: Optional[Mapping[str, Any]] = None,
    ) -> StackConfig:
        """Validate raw (string) config values of the ``slipway`` namespace (keys without the prefix) for ``stack``;
        ``other_keys`` are the stack's keys outside it, full names. Raise :class:`ConfigError` listing every problem."""
        return _Parser(stack, values, region, other_keys or {}).build()


# The sample app's SQLAlchemy pool per worker process: pool_size 5 + max_overflow 5 (app/slipway_app/db.py; a test
# keeps the two equal). RDS reserves 3 connections for rdsadmin/superusers.
APP_DB_CONNECTIONS_PER_WORKER = 10
RDS_RESERVED_CONNECTIONS = 3


def peak_db_connections(cfg: StackConfig) -> int:
    """Connections the service may hold at once: every worker's full pool on maxTasks x 2 tasks (a rollout runs old
    and new side by side at 200 %), plus the migration task."""
    return _peak(cfg.web_concurrency, cfg.max_tasks)


def db_connection_limit(instance_class: str) -> int:
    from .observability import default_max_connections

    return default_max_connections(instance_class) - RDS_RESERVED_CONNECTIONS


MISSING: Any = object()
"""The value of a key that is not set at all."""


def config_string(value: Any) -> str:
    """A YAML value as Pulumi hands it to the program: booleans lowercase, objects as JSON, the rest as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def yaml_value(value: Any) -> str:
    """``value`` as one writes it in a stack file: ``false``, ``256``, ``lots``; quoted only when YAML needs it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    text = str(value)
    try:
        parsed = yaml.safe_load(f"k: {text}")
    except yaml.YAMLError:
        parsed = None
    if text and text == text.strip() and isinstance(parsed, dict) and config_string(parsed.get("k")) == text:
        return text
    return yaml.safe_dump(text, default_style="'").strip().removesuffix("\n...")


class ConfigDialect(Dialect):
    """Problems as stack-file lines: the line as written, why, and a line to paste instead."""

    def __init__(self, verbatim: frozenset[str] | set[str] = frozenset()) -> None:
        self.verbatim = verbatim
        """Keys shown as written (outside the namespace, or without any)."""

    def key(self, field: str) -> str:
        return field if ":" in field or field in self.verbatim else f"{NAMESPACE}:{field}"

    def value(self, value: Any) -> str:
        return yaml_value(value)

    def setting(self, field: str, value: Any) -> str:
        return f"{self.key(field)}: {self.value(value)}"

    def render(self, problem: Problem) -> str:
        if problem.value is MISSING:
            head = f"{self.key(problem.field)} is not set"
        else:
            head = self.setting(problem.field, problem.value)
        lines = [head, f"    {problem.reason}"]
        for i, fix in enumerate(problem.fixes):
            settings = fix if isinstance(fix, list) else [fix]
            for j, setting in enumerate(settings):
                text = setting if isinstance(setting, str) else self.setting(*setting)
                label = ("fix:" if i == 0 else "or: ") if j == 0 else "    "
                lines.append(f"    {label} {text}")
        return "\n".join(lines)


class _Parser:
    """Collects every problem instead of stopping at the first."""

    def __init__(
        self, stack: str, values: Mapping[str, Any], region: Optional[str], other_keys: Mapping[str, Any]
    ) -> None:
        self.stack = stack
        self.raw = {k: config_string(v) for k, v in values.items()}
        self.others = {k: config_string(v) for k, v in other_keys.items()}
        self.region = region
        self.c = Checks()
        self.misspelt: dict[str, str] = {}

    # -- the parse -----------------------------------------------------------------------------------------
    def build(self) -> StackConfig:
        self.unknown_keys()
        profile = self.environment()
        self.blank_values(profile)
        merged = {**PROFILES[profile], **{k: v for k, v in self.raw.items() if k in KNOWN_KEYS}}
        v = self.parse(merged, profile)
        if not self.region:
            self.c.bad("aws:region", MISSING, "the AWS region of the stack's resources", ("aws:region", "us-east-1"))
        elif not REGION.match(self.region):
            self.c.bad("aws:region", self.region, "must be an AWS region name", ("aws:region", "us-east-1"))
        self.cross_checks(v, profile)
        if self.c.problems:
            dialect = ConfigDialect(verbatim=set(self.others))
            raise ConfigError([dialect.render(p) for p in self.c.problems], self.stack)
        return StackConfig(
            stack=self.stack,
            environment=profile,
            region=self.region or "",
            aws_profile=None,
            **{_FIELDS[k]: v[k] for k in v},
        )

    def unknown_keys(self) -> None:
        for key in sorted(set(self.raw) - KNOWN_KEYS):
            self.misplaced(key, key, self.raw[key], f"slipway reads no key named {key}")
        for full, value in sorted(self.others.items()):
            namespace, _, name = full.rpartition(":")
            if not namespace:
                self.misplaced(full, name, value, "has no namespace, so nothing reads it")
            elif namespace not in FOREIGN_NAMESPACES or any(normalized(name) == normalized(k) for k in KNOWN_KEYS):
                self.misplaced(full, name, value, f"is in the {namespace} namespace, which slipway does not read", True)

    def misplaced(self, field: str, name: str, value: str, why: str, foreign: bool = False) -> None:
        guess = closest(name, KNOWN_KEYS)
        if guess is None:
            if not foreign:  # a key in someone else's namespace that looks like none of ours is theirs
                self.c.bad(
                    field, value, f"{why}; slipway's keys are listed in README.md (Configuration)", "delete this line"
                )
            return
        self.misspelt[guess] = value
        hint = " (keys are camelCase)" if normalized(guess) == normalized(name) and guess != name else ""
        if guess in self.raw:
            self.c.bad(
                field, value, f"{why}; did you mean {NAMESPACE}:{guess}? It is set already{hint}", "delete this line"
            )
        else:
            self.c.bad(field, value, f"{why}; did you mean {NAMESPACE}:{guess}?{hint}", (f"{NAMESPACE}:{guess}", value))

    def environment(self) -> str:
        """The profile to apply; a missing or misspelt environment is a problem, and the closest profile is used
        so the remaining keys are still checked."""
        fallback = self.stack if self.stack in ENVIRONMENTS else "dev"
        env = self.raw.get("environment")
        if env is None:
            misspelt = self.misspelt.get("environment")
            if misspelt is None:
                self.c.bad(
                    "environment",
                    MISSING,
                    "picks the profile whose defaults apply: dev or prod",
                    ("environment", fallback),
                )
            elif misspelt in ENVIRONMENTS:
                return misspelt
            return fallback
        if env.strip() and not self.c.one_of("environment", env, ENVIRONMENTS):
            guess = closest(env, ENVIRONMENTS)
            return guess if guess is not None else fallback
        return env if env in ENVIRONMENTS else fallback

    def blank_values(self, profile: str) -> None:
        for key in sorted(k for k in self.raw if k in KNOWN_KEYS):
            if self.raw[key].strip():
                continue
            default = PROFILES[profile].get(key)
            if default is None and key == "environment":
                default = profile
            if default is not None:
                why = f"is blank: Pulumi passes an empty value, not the default ({yaml_value(default)})"
                self.c.bad(key, self.raw[key], why, (key, _typed(key, default)), "delete this line for the default")
            else:
                self.c.bad(key, self.raw[key], "is blank; delete this line to leave it unset", "delete this line")
            del self.raw[key]

    def parse(self, merged: Mapping[str, str], profile: str) -> dict[str, Any]:
        """Typed values by key; a value that cannot be parsed becomes MISSING (its problem is recorded, and checks
        that involve it are skipped)."""
        c, defaults = self.c, PROFILES[profile]
        v: dict[str, Any] = {}
        for key, raw in merged.items():
            kind = key_type(key)
            if key == "environment":
                continue
            if kind == "integer" and key != "dbEngineVersion":
                if re.fullmatch(r"-?\d+", raw.strip()):
                    v[key] = int(raw)
                else:
                    c.bad(key, raw, f"must be a whole number{_expected(key)}", (key, int(defaults[key])))
                    v[key] = MISSING
            elif kind == "boolean":
                if raw in ("true", "false"):
                    v[key] = raw == "true"
                else:
                    lower = raw.lower()
                    guess = lower in ("true", "yes", "on", "1") if lower in _BOOLISH else defaults[key] == "true"
                    hint = " (lowercase)" if lower in ("true", "false") else ""
                    c.bad(key, raw, f"must be true or false{hint}", (key, guess))
                    v[key] = MISSING
            else:
                v[key] = raw
        for key in OPTIONAL_KEYS:
            v.setdefault(key, None)
        return v

    def cross_checks(self, v: dict[str, Any], profile: str) -> None:
        c = self.c
        known: dict[str, Any] = {k: (x if x is not MISSING else UNKNOWN) for k, x in v.items()}
        for key, (lo, hi) in INT_RANGES.items():
            c.int_range(key, known[key], lo, hi)
        c.fargate_size("cpu", known["cpu"], "memory", known["memory"])
        c.log_retention("logRetentionDays", known["logRetentionDays"])
        c.vpc_cidr("vpcCidr", known["vpcCidr"])
        c.one_of("natStrategy", known["natStrategy"], NAT_STRATEGIES)
        c.one_of("architecture", known["architecture"], ARCHITECTURES)
        c.one_of("logLevel", known["logLevel"], LOG_LEVELS)
        c.url_path("healthCheckPath", known["healthCheckPath"])
        c.tls_policy("tlsPolicy", known["tlsPolicy"])
        c.matches("dbInstanceClass", known["dbInstanceClass"], INSTANCE_CLASS, "an RDS class", "db.t4g.micro")
        c.major_version("dbEngineVersion", known["dbEngineVersion"])
        c.rds_windows("backupWindow", known["backupWindow"], "maintenanceWindow", known["maintenanceWindow"])
        c.matches("domain", known["domain"], DOMAIN, "a lowercase DNS name", "app.example.com")
        c.matches("hostedZoneId", known["hostedZoneId"], ZONE_ID, "a Route 53 zone id", "Z0123456789EXAMPLE0AB")
        c.matches(
            "certificateArn",
            known["certificateArn"],
            CERT_ARN,
            "an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)",
            f"arn:aws:acm:{self.region or 'us-east-1'}:123456789012:certificate/0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
        )
        c.matches("alarmEmail", known["alarmEmail"], EMAIL, "an e-mail address", "oncall@example.com")
        v["dbRestore"] = self.db_restore(known["dbRestore"], known["backupRetentionDays"])
        c.matches(
            "imageUri",
            known["imageUri"],
            ECR_DIGEST_URI,
            "an ECR image pinned by digest: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO@sha256:<64 hex>",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-dev@sha256:" + "0" * 64,
        )
        self.app_name(known["appName"])
        c.not_above("minTasks", known["minTasks"], "maxTasks", known["maxTasks"])
        if _ints(known["dbAllocatedStorageGb"], known["dbMaxAllocatedStorageGb"]):
            if known["dbMaxAllocatedStorageGb"] < known["dbAllocatedStorageGb"]:
                c.bad(
                    "dbMaxAllocatedStorageGb",
                    known["dbMaxAllocatedStorageGb"],
                    "the storage autoscaling ceiling must be >= dbAllocatedStorageGb "
                    f"({known['dbAllocatedStorageGb']})",
                    ("dbMaxAllocatedStorageGb", known["dbAllocatedStorageGb"]),
                )
        domain, zone, cert = known["domain"], known["hostedZoneId"], known["certificateArn"]
        # the same rule as WebServiceArgs: the alias record needs the zone, even when certificateArn supplies the
        # certificate (without a domain the url is the load balancer's own name)
        c.domain_needs_zone("domain", domain, "hostedZoneId", zone, "delete the slipway:domain line")
        if zone and not domain:
            c.bad(
                "hostedZoneId",
                zone,
                "the zone is only used to validate and alias domain, which is not set",
                ("domain", "app.example.com"),
            )
        if cert and self.region and CERT_ARN.match(cert) and f":acm:{self.region}:" not in cert:
            c.bad(
                "certificateArn",
                cert,
                f"an ALB needs a certificate in its own region ({self.region})",
                ("certificateArn", re.sub(r":acm:[a-z0-9-]+:", f":acm:{self.region}:", cert)),
            )
        self.connections(known)
        if profile == "prod":
            self.prod_checks(known)

    def db_restore(self, raw: Any, retention: Any) -> Any:
        """``slipway:dbRestore`` -> RestoreSpec; every problem recorded with a line to paste instead."""
        if raw is None or raw is UNKNOWN:
            return None
        from .database import RestoreSpec, restore_too_old

        example = ("dbRestore", {"time": "latest"})
        try:
            value = json.loads(raw) if isinstance(raw, str) and raw.lstrip().startswith("{") else raw
        except ValueError:
            value = raw
        if not isinstance(value, dict):
            self.c.bad("dbRestore", raw, "must be a mapping: {time: ...} or {snapshot: ...}", example)
            return None
        unknown = sorted(set(value) - set(RESTORE_FIELDS))
        if unknown:
            self.c.bad(
                "dbRestore",
                value,
                f"has no field {', '.join(unknown)}; use {', '.join(RESTORE_FIELDS)}",
                ("dbRestore", {k: v for k, v in value.items() if k in RESTORE_FIELDS} or example[1]),
            )
            return None
        try:
            spec = RestoreSpec(**{RESTORE_FIELDS[k]: v for k, v in value.items()})
        except (TypeError, ValueError) as err:
            reason = str(err).removeprefix("restore: ")
            self.c.bad("dbRestore", value, reason, example)
            return None
        too_old = restore_too_old(spec, retention)
        if too_old:
            self.c.bad(
                "dbRestore",
                value,
                too_old,
                ("dbRestore", {"snapshot": "<identifier from aws rds describe-db-snapshots>"}),
            )
            return None
        return spec

    def app_name(self, name: Any) -> None:
        if not plain(name):
            return
        limit = max_app_name(self.stack)
        fixed = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")
        fixed = re.sub(r"^[^a-z]+", "", fixed)[: max(limit, MIN_APP_NAME)].rstrip("-") or "app"
        if not _NAME.match(name) or len(name) < MIN_APP_NAME:
            self.c.bad(
                "appName",
                name,
                f"must be {MIN_APP_NAME} or more lowercase letters, digits and '-', starting with a letter and not "
                f"ending with '-'",
                ("appName", fixed),
            )
        elif len(name) > limit:
            if limit < MIN_APP_NAME:
                why = (
                    f"no appName fits with stack name '{self.stack}' ({len(self.stack)} characters): "
                    f"<appName>-<stack> may have at most {MAX_PREFIX} characters; use a shorter stack name"
                )
                self.c.bad("appName", name, why)
                return
            why = (
                f"is {len(name)} characters; with stack '{self.stack}' appName may have at most {limit} "
                f"({MAX_PREFIX} - 1 - {len(self.stack)}), because <appName>-<stack>-web-alb-<7 random> is the load "
                f"balancer's name and AWS caps load balancer and target group names at 32"
            )
            self.c.bad("appName", name, why, ("appName", fixed))

    def connections(self, v: Mapping[str, Any]) -> None:
        workers, tasks, cls = v["webConcurrency"], v["maxTasks"], v["dbInstanceClass"]
        if not (_ints(workers, tasks) and plain(cls) and INSTANCE_CLASS.match(cls)):
            return
        peak = _peak(workers, tasks)
        limit = db_connection_limit(cls)
        if peak <= limit:
            return
        fit = [w for w in range(workers - 1, 0, -1) if _peak(w, tasks) <= limit]
        self.c.bad(
            "webConcurrency",
            workers,
            f"at peak (maxTasks {tasks}, doubled during a rollout) the app may open {peak} database connections; "
            f"{cls} allows about {limit}: lower webConcurrency or maxTasks, or raise dbInstanceClass",
            *([("webConcurrency", fit[0])] if fit else []),
            ("dbInstanceClass", "db.t4g.medium" if cls != "db.t4g.medium" else "db.t4g.large"),
        )

    def prod_checks(self, v: Mapping[str, Any]) -> None:
        c = self.c
        rules: list[tuple[bool, str, Any, str]] = [
            (v["deletionProtection"] is False, "deletionProtection", True, "prod requires deletion protection"),
            (
                _ints(v["backupRetentionDays"]) and v["backupRetentionDays"] < 14,
                "backupRetentionDays",
                14,
                "prod keeps backups at least 14 days (up to 35)",
            ),
            (
                _ints(v["logRetentionDays"]) and v["logRetentionDays"] < 90,
                "logRetentionDays",
                90,
                "prod keeps logs at least 90 days",
            ),
            (v["dbMultiAz"] is False, "dbMultiAz", True, "prod requires a Multi-AZ database"),
            (v["natStrategy"] == "none", "natStrategy", "per_az", "prod runs tasks in private subnets behind NAT"),
            (
                _ints(v["minTasks"]) and v["minTasks"] < 2,
                "minTasks",
                2,
                "prod needs at least 2 tasks to survive an AZ or task failure",
            ),
            (v["fargateSpot"] is True, "fargateSpot", False, "prod must not run on interruptible Fargate Spot"),
        ]
        for bad, key, fix, why in rules:
            if bad:
                c.bad(key, v[key], why, (key, fix))
        if not v["domain"] and not v["certificateArn"]:
            c.bad(
                "domain",
                MISSING,
                "prod needs a trusted certificate: set domain and hostedZoneId, or certificateArn (self-signed is "
                "dev only)",
                [("domain", "app.example.com"), ("hostedZoneId", "Z0123456789EXAMPLE0AB")],
                ("certificateArn", f"arn:aws:acm:{self.region or 'us-east-1'}:123456789012:certificate/ID"),
            )


_BOOLISH = ("true", "false", "yes", "no", "on", "off", "1", "0")


def _expected(key: str) -> str:
    if key in INT_RANGES:
        return " from {} to {}".format(*INT_RANGES[key])
    if key == "cpu":
        return f", a Fargate CPU size: {', '.join(map(str, FARGATE_SIZES))}"
    if key == "memory":
        return " of MiB that Fargate allows with the cpu"
    if key == "logRetentionDays":
        return ", one of CloudWatch's retention values"
    return ""


def _ints(*values: Any) -> bool:
    return all(isinstance(x, int) and not isinstance(x, bool) for x in values)


def _peak(workers: int, tasks: int) -> int:
    return workers * APP_DB_CONNECTIONS_PER_WORKER * tasks * 2 + 1


def _typed(key: str, raw: str) -> Any:
    kind = key_type(key)
    if kind == "boolean":
        return raw == "true"
    if kind == "integer" and key != "dbEngineVersion":
        return int(raw)
    return raw


def _snake(key: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)


# StackConfig field of each key (appName -> app_name); the one irregular spelling is spelled out.
_FIELDS = {key: _snake(key) for key in KNOWN_KEYS if key != "environment"}
assert set(_FIELDS.values()) <= {f.name for f in dataclasses.fields(StackConfig)}, "a key without a StackConfig field"
_windows_disjoint = windows_disjoint
