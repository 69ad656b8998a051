"""WebAppArgs: WebApp's arguments, which are also the stack file's keys, and the rules they must follow.

Each field declared with :func:`components.knobs.knob` is a stack-file key (its name in camelCase), with its default
per profile and its range beside it; :meth:`WebAppArgs.from_config` reads them from the stack's configuration, and
every rule below runs for both, naming fields the way the user wrote them: ``cpu=`` in Python,
``<project>:cpu`` in ``Pulumi.<stack>.yaml``.
"""

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi

from .cluster import EcsCluster
from .database import RestoreSpec
from .docs import document_fields
from .ecr_scan import SEVERITIES
from .knobs import PROFILES, check_knobs, knob, knobs, resolve
from .network import Network
from .validation import (
    ARCHITECTURES,
    CERT_ARN,
    CONTAINER_INSIGHTS,
    DIGEST_REF,
    DOMAIN,
    ECR_DIGEST_URI,
    EMAIL,
    ENV_NAME,
    INSTANCE_CLASS,
    LOG_LEVELS,
    NAT_STRATEGIES,
    ArgsError,
    Checks,
    Problem,
    closest,
    env_names,
    pin_by_digest,
    plain,
    zone_fix,
)

# Environment variables and secrets WebApp sets in the containers itself (and the field that sets each).
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
# Load balancer and target group names (max 32) are "<prefix>-web-alb-" + 7 random characters.
MAX_PREFIX = 32 - len("-web-alb-") - 7
MIN_APP_NAME = 3
_APP_NAME = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
# The sample app's SQLAlchemy pool per worker process: pool_size 5 + max_overflow 5 (app/slipway_app/db.py; a test
# keeps the two equal). RDS reserves 3 connections for rdsadmin/superusers.
APP_DB_CONNECTIONS_PER_WORKER = 10
RDS_RESERVED_CONNECTIONS = 3
_PG_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def max_app_name(stack: str) -> int:
    """The longest app_name that fits with this stack name: ``<app_name>-<stack>`` may have MAX_PREFIX characters."""
    return MAX_PREFIX - 1 - len(stack)


@document_fields
@dataclass(frozen=True)
class WebAppArgs:
    build_context: Optional[str] = None
    """Directory with the app's Dockerfile, relative to the project: built for ``architecture``, pushed to the app's
    ECR repository and deployed by digest. Default None; exactly one of ``build_context`` and ``image_uri``."""
    image_uri: Optional[str] = knob()
    """Deploy this image, pinned by digest (``repo@sha256:...``; an ECR one as
    ``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO@sha256:<64 hex>``), instead of building; used to promote dev's image
    to prod."""
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
    """``dev`` (cheap, disposable) or ``prod`` (highly available, protected): supplies every field left None. Stack key
    ``environment`` (required there). Default ``prod``."""
    app_name: Optional[str] = knob()
    """Name of the app in every physical name, ``<app_name>-<stack>``: lowercase letters, digits and '-', starting
    with a letter, at least 3 characters and at most 15 minus the stack name's length (AWS caps load balancer names
    at 32: ``<app_name>-<stack>-web-alb-<7 random>``)."""
    name_prefix: Optional[str] = None
    """Prefix of every child's name and of the physical names AWS sees. Default None: ``<app_name>-<stack>``, with
    the WebApp's own name when ``app_name`` is None."""
    region: Optional[str] = knob(key="aws:region")
    """AWS region (one botocore's partition data lists), for the log driver and the program's own AWS calls. None:
    the AWS provider's (the stack's ``aws:region``, else ``AWS_REGION``)."""
    aws_profile: Optional[str] = knob(key="aws:profile")
    """Named AWS profile of the image lookup, migration gate and rollout check (the stack's ``aws:profile``). None:
    the default credential chain."""
    network: Optional[Network] = None
    """An existing :class:`Network` to run in. Default None: a new one from ``vpc_cidr``, ``az_count``,
    ``nat_strategy``."""
    vpc_cidr: Optional[str] = knob(dev="10.20.0.0/16", prod="10.30.0.0/16")
    """Private IPv4 block of the new VPC, /16 to /20, host bits zero (each subnet is 1/16 of it)."""
    az_count: Optional[int] = knob(dev=2, prod=3, lo=2, hi=6)
    """Availability zones the new VPC spans."""
    nat_strategy: Optional[str] = knob(dev="none", prod="per_az", choices=NAT_STRATEGIES)
    """``none``, ``single`` or ``per_az``; ``none`` runs tasks in public subnets behind an ALB-only security group."""
    cluster: Optional[EcsCluster] = None
    """An existing :class:`EcsCluster`. Default None: a new one."""
    architecture: Optional[str] = knob(
        "arm64",
        choices=ARCHITECTURES,
        aliases={"amd64": "x86_64", "x86-64": "x86_64", "x64": "x86_64", "aarch64": "arm64"},
    )
    """``arm64`` (Graviton, cheaper) or ``x86_64``, of the image and the tasks."""
    cpu: Optional[int] = knob(dev=256, prod=512)
    """Fargate task CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384."""
    memory: Optional[int] = knob(dev=512, prod=1024)
    """Fargate task memory in MiB, one Fargate allows with ``cpu`` (cpu 256: 512, 1024 or 2048; cpu 512: 1024 to
    4096 in steps of 1024; ... cpu 16384: 32768 to 122880 in steps of 8192)."""
    min_tasks: Optional[int] = knob(dev=1, prod=2, lo=1, hi=100)
    """Autoscaling floor and initial task count (prod >= 2)."""
    max_tasks: Optional[int] = knob(dev=2, prod=6, lo=1, hi=100)
    """Autoscaling ceiling (>= ``min_tasks``)."""
    fargate_spot: Optional[bool] = knob(dev=True, prod=False)
    """Run on Fargate Spot (interruptible, ~70% cheaper). Refused in prod."""
    container_insights: Optional[str] = knob(dev="disabled", prod="enabled", choices=CONTAINER_INSIGHTS)
    """CloudWatch Container Insights on the cluster: ``enabled``, ``enhanced`` (more metrics, more cost) or
    ``disabled`` (the values of ECS's ``ClusterSetting``, botocore's ``ecs`` model). Off in dev, like the peers'
    defaults (AWS CDK's ``ClusterProps.containerInsightsV2``: ``ContainerInsights.DISABLED``; AWS Copilot's
    environment manifest: ``observability.container_insights`` is opt-in); on in prod (FSBP ECS.12). Without it
    the running-tasks alarm watches the load balancer's healthy targets instead of ECS's task counts."""
    awake_hours: Optional[str] = knob()
    """Let the stack sleep outside these hours, ``<days> <HH:MM>-<HH:MM>`` in ``awake_timezone``
    (``MON-FRI 07:00-20:00``): the database starts at the window's start and stops at its end, the web service
    scales to 0 at the end and back to ``min_tasks``/``max_tasks`` 15 minutes after the start
    (``components/sleep.py``). Refused in prod. Default None: always on."""
    awake_timezone: Optional[str] = knob("UTC")
    """IANA time zone of ``awake_hours``, e.g. Europe/Berlin. Default ``UTC``."""
    container_port: Optional[int] = knob(8000, lo=1024, hi=65535)
    """Port the app listens on; also passed to it as ``PORT``."""
    health_check_path: Optional[str] = knob("/healthz")
    """Path the load balancer checks (HTTP 200 without touching the database)."""
    container_health_check: Optional[Sequence[str]] = None
    """Container health check command (ECS ``CMD``/``CMD-SHELL`` form), run inside the image. Default None: none; the
    load balancer's check on ``health_check_path`` decides, so the image needs no shell, curl or Python."""
    health_check_grace_period_seconds: Optional[int] = knob(30, lo=0, hi=600)
    """Seconds ECS ignores failing load-balancer health checks of a new task."""
    health_check_interval_seconds: Optional[int] = knob(10, lo=6, hi=300)
    """Seconds between the load balancer's health checks of a task (AWS allows 5-300, botocore's elbv2 model; kept
    above the check's 5 s timeout)."""
    deregistration_delay_seconds: Optional[int] = knob(15, lo=0, hi=3600)
    """Connection draining before a target leaves the load balancer (AWS's default: 300)."""
    cpu_target_percent: Optional[int] = knob(60, lo=10, hi=90)
    """Target-tracking CPU utilisation for autoscaling."""
    requests_per_target: Optional[int] = knob(500, lo=10, hi=100000)
    """Target-tracking load-balancer requests per task per minute."""
    tls_policy: Optional[str] = knob("ELBSecurityPolicy-TLS13-1-2-Res-2021-06")
    """HTTPS listener security policy; must be a TLS 1.3 one (``ELBSecurityPolicy-TLS13-...``)."""
    log_level: Optional[str] = knob(choices=LOG_LEVELS)
    """The app's log level, passed as ``LOG_LEVEL``: DEBUG, INFO, WARNING or ERROR. None: not set."""
    web_concurrency: Optional[int] = knob(lo=1, hi=32)
    """Worker processes per task, passed as ``WEB_CONCURRENCY`` (gunicorn reads it). With it, web_concurrency x 10
    pooled connections (the sample app's pool) x max_tasks x 2 (a rollout) must fit the database class's
    max_connections. None: not set."""
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """More plain environment variables for the app and its migration, name -> text. Default none (``PORT`` and
    ``DB_*`` are always set, and may not be given here)."""
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
    db_restore: Optional[RestoreSpec] = knob(mapping=True)
    """Serve from a new database restored from backups: in the stack file ``{time: <RFC 3339 UTC> | latest}``
    (point in time; optional sourceIdentifier: another instance or a retained automated-backups ARN) or
    ``{snapshot: <identifier or ARN>}`` or ``{recoveryPoint: <AWS Backup RDS recovery point ARN>}``; keepSource: false
    when the original instance is gone. The original stays,
    protected; remove it to serve from the original again (docs/recovery.md)."""
    db_backup_copy_region: Optional[str] = None
    """Replicate the database's automated backups (point-in-time restorable) to this second region with a KMS key of
    its own. Default None: ``us-west-2`` (``us-east-1`` when the stack runs there) for the prod profile, no copy in
    dev."""
    db_instance_class: Optional[str] = knob(dev="db.t4g.micro", prod="db.t4g.medium")
    """RDS instance class."""
    db_engine_version: Optional[str] = knob("17")
    """PostgreSQL MAJOR version, a whole number such as 17 (RDS picks and upgrades the minor)."""
    db_allocated_storage_gb: Optional[int] = knob(dev=20, prod=50, lo=20, hi=65536)
    """Initial gp3 storage in GiB."""
    db_max_allocated_storage_gb: Optional[int] = knob(dev=50, prod=500, lo=20, hi=65536)
    """Storage autoscaling ceiling in GiB (>= ``db_allocated_storage_gb``)."""
    db_multi_az: Optional[bool] = knob(dev=False, prod=True)
    """Synchronous standby in a second AZ. Required in prod."""
    backup_retention_days: Optional[int] = knob(dev=7, prod=14, lo=1, hi=35)
    """Automated backup and point-in-time-recovery retention (prod >= 14)."""
    backup_window: Optional[str] = knob("03:00-04:00")
    """Daily backup window, UTC, hh24:mi-hh24:mi, at least 30 minutes."""
    maintenance_window: Optional[str] = knob("sun:04:30-sun:05:30")
    """Weekly maintenance window, UTC, ddd:hh24:mi-ddd:hh24:mi, at least 30 minutes; must not overlap backups."""
    migration_command: Optional[Sequence[str]] = ("app", "migrate")
    """Command of the one-off migration task that gates every rollout. Default ``app migrate``; None: no gate."""
    deletion_protection: Optional[bool] = knob(dev=False, prod=True)
    """RDS and load-balancer deletion protection plus Pulumi protect on the database. Required in prod."""
    log_retention_days: Optional[int] = knob(dev=14, prod=90)
    """CloudWatch log retention (app, database and VPC flow logs); a value CloudWatch allows (prod >= 90)."""
    domain: Optional[str] = knob()
    """DNS name to serve; with ``hosted_zone_id``: a DNS-validated certificate and an alias record."""
    hosted_zone_id: Optional[str] = knob()
    """Route 53 hosted zone of ``domain``."""
    certificate_arn: Optional[str] = knob()
    """Existing ACM certificate in the stack's region instead of a DNS-validated one (a ``domain`` still needs
    ``hosted_zone_id`` for its alias record); dev without either is self-signed."""
    access_logs: Optional[bool] = knob(dev=False, prod=True, key="albAccessLogs")
    """Write load-balancer access logs to an encrypted S3 bucket."""
    observability: bool = True
    """Alarms (to an SNS topic) and a dashboard; needs ``database``. Default True."""
    alarm_email: Optional[str] = knob()
    """E-mail subscribed to the alarm topic (confirm the subscription mail)."""
    rollout_check: bool = True
    """Fail ``pulumi up`` when ECS rolls the new deployment back. Default True."""
    execute_command: Optional[bool] = knob(dev=True, prod=False)
    """ECS Exec into the web service's tasks (``slipway exec``): the service allows it and the task role may open
    the SSM Session Manager channels and write each session's audit log to the app's log group. Default None: the
    profile's (dev True, prod False: a shell in production is an explicit choice)."""
    previews: Optional[bool] = knob(dev=True, prod=False)
    """Pull-request previews (``pr-<n>`` stacks, docs/previews.md) share this stack: export ``preview`` and own the
    ``<prefix>-preview-db`` state machine, the only way a preview gets its database (``components/preview_db.py``);
    needs ``database`` and the migration. Default None: the profile's (dev True, prod False)."""
    image_scan: Optional[str] = knob("basic", choices=("basic", "enhanced", "off"))
    """Scan gate (``components/scan_gate.py``): before the migration and the rollout, wait for the registry's scan of
    the image digest and fail ``pulumi up`` on findings at or above ``scan_fail_severity``. ``basic`` (ECR),
    ``enhanced`` (Amazon Inspector; the registry must be configured for it) or ``off``: no gate. Default ``basic``;
    only for an image in ECR (built, promoted, or an ECR ``image_uri``)."""
    scan_fail_severity: Optional[str] = knob(dev="CRITICAL", prod="HIGH", choices=SEVERITIES)
    """Lowest severity that fails the update. Default None: the profile's (dev CRITICAL, prod HIGH)."""
    scan_warn_severity: Optional[str] = knob(dev="HIGH", prod="MEDIUM", choices=SEVERITIES)
    """Lowest severity listed as a warning. Default None: the profile's (dev HIGH, prod MEDIUM)."""
    scan_allowlist: Optional[str] = knob(".trivyignore.yaml")
    """YAML file of waivers (id, statement, expired_at), relative to the project directory; an expired waiver fails
    the update. Default ``.trivyignore.yaml``, Trivy's own ignore file, so CI and the gate share it (no waivers when
    it does not exist)."""
    scan_timeout_seconds: Optional[int] = knob(600, lo=60, hi=3600)
    """Seconds the gate waits for the scan, 60-3600. Default 600."""
    backup_vault: Optional[bool] = knob(dev=True, prod=True)
    """AWS Backup of the database into a vault with Vault Lock, copied to ``db_backup_copy_region`` when there is one
    (``components/backup_vault.py``). Default None: the profile's (on in dev and prod)."""
    backup_vault_retention_days: Optional[int] = knob(dev=7, prod=35, lo=1, hi=365)
    """Days each vault recovery point (and its copies) is kept; also the lock's minimum retention. Default None: the
    profile's (dev 7, prod 35)."""
    backup_lock_mode: Optional[str] = knob(dev="governance", prod="compliance", choices=("compliance", "governance"))
    """``compliance`` (immutable after the cooling-off period: no one, root included, can delete a recovery point
    early or remove the lock) or ``governance`` (the lock can be removed by whoever may). Default None: the
    profile's (dev governance, prod compliance)."""
    backup_lock_cooling_off_days: Optional[int] = knob(3, lo=3, hi=36500)
    """Compliance mode: days the lock can still be changed or removed after it is set, 3-36500 (AWS's minimum is 3).
    Default 3."""
    backup_copy_vault_arn: Optional[str] = knob()
    """ARN of a vault in a separate backup account that also receives every recovery point (accounts per
    environment); that vault's policy must allow this account's ``backup:CopyIntoBackupVault``. Default None."""
    tags: Optional[Mapping[str, str]] = None
    """Tags of every resource, name -> text. Default None: ``app``, ``environment``, ``stack`` and ``managed-by``."""
    moved_from_stack_root: bool = False
    """The children were declared at the top of the stack by an earlier program (slipway before 0.1): alias them
    there so ``pulumi up`` adopts them instead of replacing them. Default False."""

    def __post_init__(self) -> None:
        """Check every field at once, in WebAppArgs' own field names, before any child exists."""
        problems = check(type(self), _values(self), stack=pulumi.get_stack())
        if problems:
            raise ArgsError("WebAppArgs", problems)

    def resolved(self) -> "WebAppArgs":
        """A copy with every field left None set to the profile's value."""
        return dataclasses.replace(self, **resolve(type(self), _values(self), self.profile))

    @classmethod
    def from_config(
        cls, config: Optional[pulumi.Config] = None, own_keys: Sequence[str] = (), **program: Any
    ) -> "WebAppArgs":
        """The stack's configuration as WebAppArgs: every knob's key in the ``config``'s namespace (default: the
        project's), ``environment`` for ``profile``, ``aws:region`` and ``aws:profile``. ``program`` sets fields
        the stack file cannot (``env=``, ``network=``) and defaults it may override (``build_context="app"``, dropped
        when the stack sets ``imageUri``). ``own_keys``: keys of the namespace the program reads itself (not refused
        as unknown). Every problem is reported at once as lines of the stack file, each with a line to paste instead
        (:class:`components.config.ConfigError`)."""
        from .config import read_stack_config

        namespace = config.name if config is not None else pulumi.get_project()
        return read_stack_config(cls, namespace, program, own_keys)


def _values(args: Any) -> dict[str, Any]:
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(args)}


def _guard_keywords(cls: type) -> None:
    """An unknown keyword is an ArgsError with a did-you-mean, not a bare TypeError."""
    init = cls.__init__  # type: ignore[misc]
    names = [f.name for f in dataclasses.fields(cls)]

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        problems = []
        for key in (k for k in kwargs if k not in names):
            guess = closest(key, names)
            reason = f"{cls.__name__} has no field {key}" + (f"; did you mean {guess}?" if guess else "")
            problems.append(Problem(key, kwargs[key], reason, ((guess, kwargs[key]),) if guess else ()))
        if len(args) > len(names):
            problems.append(Problem("*args", args, f"{cls.__name__} takes {len(names)} fields; pass them by keyword"))
        if problems:
            raise ArgsError(cls.__name__, problems)
        init(self, *args, **kwargs)

    cls.__init__ = __init__  # type: ignore[misc]


_guard_keywords(WebAppArgs)


def check(cls: type, values: Mapping[str, Any], stack: str, n: Optional[Callable[[str], str]] = None) -> list[Problem]:
    """Every problem of ``values`` (WebAppArgs fields, None: the profile's value), named by ``n`` (default: the
    field names themselves)."""
    name = n or (lambda f: f)
    c = Checks()
    profile = values.get("profile")
    if not c.one_of(name("profile"), profile, PROFILES):
        profile = closest(str(profile), PROFILES) or "prod"
    v = resolve(cls, values, str(profile))
    check_knobs(cls, v, c, name)
    _image(v, c, name)
    _sizes(v, c, name)
    _network_and_service(v, c, name, stack)
    _database(v, c, name)
    _tls(v, c, name)
    _containers(v, c, name)
    _scan_allowlist(v, c, name)
    _sleep(v, c, name)
    if profile == "prod":
        _prod(v, c, name)
    return c.problems


def _image(v: Mapping[str, Any], c: Checks, n: Callable[[str], str]) -> None:
    if (v["build_context"] is None) == (v["image_uri"] is None):
        both = v["build_context"] is not None
        c.bad(
            n("build_context") if both else n("image_uri"),
            v["build_context"] if both else None,
            f"give exactly one of {n('build_context')} and {n('image_uri')}",
            (n("build_context"), None) if both else (n("build_context"), "app"),
        )
    image = v["image_uri"]
    if isinstance(image, str):
        ecr = ".dkr.ecr." in image
        if not (ECR_DIGEST_URI if ecr else DIGEST_REF).match(image):
            what = "an ECR image pinned by digest: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO@sha256:<64 hex>"
            c.bad(
                n("image_uri"),
                image,
                f"must be {what if ecr else 'an image pinned by digest (repo@sha256:...)'}",
                pin_by_digest(image),
            )
    elif image is not None and plain(image):
        c.bad(n("image_uri"), image, "must be text: an image pinned by digest")


def _sizes(v: Mapping[str, Any], c: Checks, n: Callable[[str], str]) -> None:
    c.fargate_size(n("cpu"), v["cpu"], n("memory"), v["memory"])
    c.log_retention(n("log_retention_days"), v["log_retention_days"])
    c.not_above(n("min_tasks"), v["min_tasks"], n("max_tasks"), v["max_tasks"])


def _network_and_service(v: Mapping[str, Any], c: Checks, n: Callable[[str], str], stack: str) -> None:
    c.vpc_cidr(n("vpc_cidr"), v["vpc_cidr"])
    c.region(n("region"), v["region"])
    c.region(n("db_backup_copy_region"), v["db_backup_copy_region"])
    c.url_path(n("health_check_path"), v["health_check_path"])
    c.tls_policy(n("tls_policy"), v["tls_policy"])
    c.matches(n("alarm_email"), v["alarm_email"], EMAIL, "an e-mail address", "oncall@example.com")
    _app_name(v["app_name"], c, n, stack)
    prefix = v["name_prefix"]
    if prefix is not None and plain(prefix) and not (isinstance(prefix, str) and _APP_NAME.match(prefix)):
        c.bad(n("name_prefix"), prefix, "must be lowercase letters, digits and '-', starting with a letter")


def _app_name(name: Any, c: Checks, n: Callable[[str], str], stack: str) -> None:
    if name is None or not plain(name):
        return
    if not isinstance(name, str):
        c.bad(n("app_name"), name, "must be text", (n("app_name"), "app"))
        return
    limit = max_app_name(stack)
    fixed = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")
    fixed = re.sub(r"^[^a-z]+", "", fixed)[: max(limit, MIN_APP_NAME)].rstrip("-") or "app"
    fixed = fixed if len(fixed) >= MIN_APP_NAME else (fixed + "app")[: max(limit, MIN_APP_NAME)]
    if not _APP_NAME.match(name) or len(name) < MIN_APP_NAME:
        c.bad(
            n("app_name"),
            name,
            f"must be {MIN_APP_NAME} or more lowercase letters, digits and '-', starting with a letter and not "
            f"ending with '-'",
            (n("app_name"), fixed),
        )
    elif len(name) > limit:
        if limit < MIN_APP_NAME:
            c.bad(
                n("app_name"),
                name,
                f"no {n('app_name')} fits with stack name '{stack}' ({len(stack)} characters): <app>-<stack> may "
                f"have at most {MAX_PREFIX} characters; use a shorter stack name",
            )
            return
        c.bad(
            n("app_name"),
            name,
            f"is {len(name)} characters; with stack '{stack}' {n('app_name')} may have at most {limit} "
            f"({MAX_PREFIX} - 1 - {len(stack)}), because <{n('app_name')}>-<stack>-web-alb-<7 random> is the load "
            f"balancer's name and AWS caps load balancer and target group names at 32",
            (n("app_name"), fixed),
        )


def _database(v: Mapping[str, Any], c: Checks, n: Callable[[str], str]) -> None:
    c.matches(n("db_instance_class"), v["db_instance_class"], INSTANCE_CLASS, "an RDS class", "db.t4g.micro")
    c.major_version(n("db_engine_version"), v["db_engine_version"])
    c.rds_windows(n("backup_window"), v["backup_window"], n("maintenance_window"), v["maintenance_window"])
    low, high = v["db_allocated_storage_gb"], v["db_max_allocated_storage_gb"]
    if _ints(low, high) and high < low:
        c.bad(
            n("db_max_allocated_storage_gb"),
            high,
            f"the storage autoscaling ceiling must be >= {n('db_allocated_storage_gb')} ({low})",
            (n("db_max_allocated_storage_gb"), low),
        )
    restore = v["db_restore"]
    if restore is not None and plain(restore) and not isinstance(restore, RestoreSpec):
        c.bad(n("db_restore"), restore, "must be a RestoreSpec(time=...) or RestoreSpec(snapshot=...)")
    elif isinstance(restore, RestoreSpec):
        from .database import restore_too_old

        too_old = restore_too_old(restore, v["backup_retention_days"])
        if too_old:
            c.bad(
                n("db_restore"),
                restore,
                too_old,
                f"restore a snapshot instead: {n('db_restore')} {{snapshot: <identifier from aws rds "
                f"describe-db-snapshots>}}",
            )
    role = v["db_app_role"]
    if role is not None and plain(role) and not (isinstance(role, str) and _PG_ROLE.match(role)):
        c.bad(
            n("db_app_role"),
            role,
            "must be a PostgreSQL role name: lowercase letters, digits and _",
            (n("db_app_role"), "app_iam"),
        )
    _connections(v, c, n)


def _connections(v: Mapping[str, Any], c: Checks, n: Callable[[str], str]) -> None:
    workers, tasks, cls = v["web_concurrency"], v["max_tasks"], v["db_instance_class"]
    if not (v["database"] and _ints(workers, tasks) and isinstance(cls, str) and INSTANCE_CLASS.match(cls)):
        return
    peak = peak_db_connections(workers, tasks)
    limit = db_connection_limit(cls)
    if peak <= limit:
        return
    most = (limit - 1) // (APP_DB_CONNECTIONS_PER_WORKER * tasks * 2)  # the most workers that fit
    fit = [most] if most >= 1 else []
    c.bad(
        n("web_concurrency"),
        workers,
        f"at peak ({n('max_tasks')} {tasks}, doubled during a rollout) the app may open {peak} database connections; "
        f"{cls} allows about {limit}: lower {n('web_concurrency')} or {n('max_tasks')}, or raise "
        f"{n('db_instance_class')}",
        *([(n("web_concurrency"), fit[0])] if fit else []),
        (n("db_instance_class"), "db.t4g.medium" if cls != "db.t4g.medium" else "db.t4g.large"),
    )


def peak_db_connections(workers: int, tasks: int) -> int:
    """Connections the service may hold at once: every worker's full pool on max_tasks x 2 tasks (a rollout runs old
    and new side by side at 200 %), plus the migration task."""
    return workers * APP_DB_CONNECTIONS_PER_WORKER * tasks * 2 + 1


def db_connection_limit(instance_class: str) -> int:
    from .observability import default_max_connections

    return default_max_connections(instance_class) - RDS_RESERVED_CONNECTIONS


def _tls(v: Mapping[str, Any], c: Checks, n: Callable[[str], str]) -> None:
    domain, zone, cert, region = v["domain"], v["hosted_zone_id"], v["certificate_arn"], v["region"]
    c.matches(n("domain"), domain, DOMAIN, "a lowercase DNS name", "app.example.com")
    c.matches(
        n("hosted_zone_id"),
        zone,
        re.compile(r"^Z[A-Z0-9]{1,31}$"),
        "a Route 53 zone id",
        zone_fix(n("hosted_zone_id"), domain),
    )
    c.matches(
        n("certificate_arn"),
        cert,
        CERT_ARN,
        "an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)",
        f"use an ARN from `aws acm list-certificates --region {region or 'REGION'}`",
    )
    # the alias record needs the zone, even when certificate_arn supplies the certificate
    c.domain_needs_zone(n("domain"), domain, n("hosted_zone_id"), zone, (n("domain"), None))
    if zone and not domain and plain(zone):
        c.bad(
            n("hosted_zone_id"),
            zone,
            f"the zone is only used to validate and alias {n('domain')}, which is not set",
            (n("domain"), "app.example.com"),
            (n("hosted_zone_id"), None),
        )
    if isinstance(cert, str) and isinstance(region, str) and CERT_ARN.match(cert) and f":acm:{region}:" not in cert:
        c.bad(
            n("certificate_arn"),
            cert,
            f"an ALB needs a certificate in its own region ({region})",
            (n("certificate_arn"), re.sub(r":acm:[a-z0-9-]+:", f":acm:{region}:", cert)),
        )


def _containers(v: Mapping[str, Any], c: Checks, n: Callable[[str], str]) -> None:
    env, secrets, tags = v["env"], v["secrets"], v["tags"]
    reserved = dict.fromkeys(COMPONENT_ENV, "WebApp itself")
    reserved["PORT"] = f"WebApp from {n('container_port')}"
    if v["log_level"] is not None:
        reserved["LOG_LEVEL"] = f"WebApp from {n('log_level')}"
    if v["web_concurrency"] is not None:
        reserved["WEB_CONCURRENCY"] = f"WebApp from {n('web_concurrency')}"
    for field_name, mapping, what in (("env", env, "text or an Output"), ("secrets", secrets, "a secret ARN")):
        if not isinstance(mapping, Mapping):
            c.bad(
                n(field_name), mapping, "must be a mapping of environment variable name -> value", (n(field_name), {})
            )
            continue
        usable = {
            str(k): (str(x).lower() if isinstance(x, bool) else str(x)) if plain(x) else x
            for k, x in mapping.items()
            if isinstance(k, str) and ENV_NAME.fullmatch(k) and k.upper() not in reserved
        }
        for key, value in mapping.items():
            if not isinstance(key, str) or not ENV_NAME.fullmatch(key):
                why = f"{key!r} is not an environment variable name (letters, digits, _)"
            elif key.upper() in reserved:
                why = f"{key} is set by {reserved[key.upper()]}; this value would be overridden"
            elif plain(value) and not isinstance(value, str):
                why = f"the value of {key} must be {what} (ECS passes text)"
            else:
                continue
            c.bad(n(field_name), {key: value}, why, (n(field_name), usable))
    if tags is not None and plain(tags):
        if not isinstance(tags, Mapping):
            c.bad(n("tags"), tags, "must be a mapping of tag name -> text", (n("tags"), None))
        else:
            bad = {k: t for k, t in tags.items() if not isinstance(k, str) or not isinstance(t, str)}
            if bad:
                c.bad(
                    n("tags"),
                    bad,
                    "tag names and values must be text",
                    (n("tags"), {str(k): str(t) for k, t in tags.items()}),
                )
    if isinstance(env, Mapping) and isinstance(secrets, Mapping):
        taken = {**dict.fromkeys(env, "env"), **dict.fromkeys(secrets, "secrets"), **reserved}
        env_names(c, n("generated_secrets"), v["generated_secrets"], taken)
    for field_name in ("container_health_check", "migration_command"):
        command = v[field_name]
        if command is None or not plain(command):
            continue
        if not isinstance(command, (list, tuple)) or not command or not all(isinstance(x, str) for x in command):
            c.bad(
                n(field_name),
                command,
                "must be a non-empty list of text (the command and its arguments)",
                (n(field_name), command.split() if isinstance(command, str) and command.strip() else None),
            )


def _prod(v: Mapping[str, Any], c: Checks, n: Callable[[str], str]) -> None:
    rules: list[tuple[bool, str, Any, str]] = [
        (v["deletion_protection"] is False, "deletion_protection", True, "prod requires deletion protection"),
        (
            _ints(v["backup_retention_days"]) and v["backup_retention_days"] < 14,
            "backup_retention_days",
            14,
            "prod keeps backups at least 14 days (up to 35)",
        ),
        (
            _ints(v["log_retention_days"]) and v["log_retention_days"] < 90,
            "log_retention_days",
            90,
            "prod keeps logs at least 90 days",
        ),
        (v["db_multi_az"] is False, "db_multi_az", True, "prod requires a Multi-AZ database"),
        (v["nat_strategy"] == "none", "nat_strategy", "per_az", "prod runs tasks in private subnets behind NAT"),
        (
            _ints(v["min_tasks"]) and v["min_tasks"] < 2,
            "min_tasks",
            2,
            "prod needs at least 2 tasks to survive an AZ or task failure",
        ),
        (v["fargate_spot"] is True, "fargate_spot", False, "prod must not run on interruptible Fargate Spot"),
        (
            v["awake_hours"] is not None,
            "awake_hours",
            None,
            "prod stays available: no sleep schedule (the service would scale to 0, the database stop)",
        ),
    ]
    for bad, name, fix, why in rules:
        if bad:
            fixes: list[Any] = [(n(name), fix)]
            if name == "min_tasks" and _ints(v["max_tasks"]) and v["max_tasks"] < fix:
                fixes = [[(n(name), fix), (n("max_tasks"), fix)]]
            c.bad(n(name), v[name], why, *fixes)
    if not v["certificate_arn"] and not (v["domain"] and v["hosted_zone_id"]):
        c.bad(
            n("certificate_arn"),
            v["certificate_arn"],
            f"prod needs a trusted certificate: set {n('domain')} and {n('hosted_zone_id')}, or "
            f"{n('certificate_arn')} (self-signed is dev only)",
            f"set {n('certificate_arn')} to an ARN from `aws acm list-certificates`, or {n('domain')} with "
            f"{n('hosted_zone_id')}",
        )


def _sleep(v: Mapping[str, Any], c: Checks, n: Callable[[str], str]) -> None:
    from .awake import EXAMPLE, parse_awake_hours
    from .sleep import check_timezone

    hours = v["awake_hours"]
    if hours is not None and plain(hours):
        try:
            parse_awake_hours(hours)
        except ValueError as err:
            c.bad(n("awake_hours"), hours, str(err), (n("awake_hours"), EXAMPLE))
    check_timezone(c, n("awake_timezone"), v["awake_timezone"])


def _scan_allowlist(v: Mapping[str, Any], c: Checks, n: Callable[[str], str]) -> None:
    """The allowlist's waivers are read here, before any resource exists (and again by :class:`WebApp`)."""
    if v["image_scan"] == "off" or not isinstance(v["scan_allowlist"], str):
        return
    from .scan_gate import DEFAULT_ALLOWLIST, load_allowlist

    try:
        load_allowlist(v["scan_allowlist"], required=v["scan_allowlist"] != DEFAULT_ALLOWLIST)
    except ValueError as err:
        c.bad(n("scan_allowlist"), v["scan_allowlist"], str(err))


def _ints(*values: Any) -> bool:
    return all(isinstance(x, int) and not isinstance(x, bool) for x in values)


assert set(knobs(WebAppArgs)) <= {f.name for f in dataclasses.fields(WebAppArgs)}
