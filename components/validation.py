"""Validation primitives: the checks every component's Args and the stack file share.

Each component's rules live beside its Args (a ``_<name>_args`` function at the end of its module, called by
``__post_init__``); WebAppArgs' rules are in :mod:`components.webapp_args`, which the stack file's reader
(:mod:`components.config`) runs too, with the keys as names. A check never stops at the first problem: it records a
:class:`Problem` and goes on, and the caller raises ONE error listing all of them before any resource exists.

A check names fields the way its caller passes them (``memory`` in ``WebServiceArgs``, ``slipway:memory`` in a
stack file) and the caller's :class:`Dialect` renders values and fixes: YAML lines that paste into
``Pulumi.<stack>.yaml`` for configuration, ``field=value`` for Python Args. A fix is a valid value, or a sentence
saying where the real value comes from when only AWS knows it (a digest, a hosted zone id, a certificate ARN).

Values that are not plain yet (a ``pulumi.Output``, an awaitable, a list holding one) are skipped: they are
checked by AWS when they resolve, never guessed at here.

Limits come from AWS's own definitions: the Fargate task sizes from the ECS API reference (botocore's
``RegisterTaskDefinition`` ``memory`` documentation), the RDS window rules from ``CreateDBInstance``
(``PreferredBackupWindow``/``PreferredMaintenanceWindow``: formats, UTC, at least 30 minutes, no overlap), log
retention from CloudWatch Logs ``PutRetentionPolicy``, regions from botocore's ``partitions.json``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

import pulumi

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
# Fargate task sizes, cpu units -> allowed memory (MiB), as the ECS API reference lists them (RegisterTaskDefinition,
# ``memory``). 8192 and 16384 need Linux platform 1.4.0 or later, which LATEST is.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
NAT_STRATEGIES = ("none", "single", "per_az")
ARCHITECTURES = ("arm64", "x86_64")
TLS_MODES = ("domain", "certificate", "self_signed")
CONTAINER_INSIGHTS = ("enabled", "enhanced", "disabled")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# PostgreSQL majors RDS offers (or is about to): the key is a MAJOR version, RDS picks and upgrades the minor.
POSTGRES_MAJORS = range(14, 20)
# A VPC from /16 to /20: each subnet is 1/16 of it (see components.network.subnet_cidrs), so /20 gives /24 subnets.
VPC_PREFIXES = range(16, 21)
SUBNET_SPLIT_BITS = 4
MIN_RDS_WINDOW_MINUTES = 30

WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
MAINT_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
)
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
CERT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
ECR_DIGEST_URI = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$")
DIGEST_REF = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
TLS13_POLICY = "ELBSecurityPolicy-TLS13-"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# -- values ----------------------------------------------------------------------------------------------------
class Unknown:
    """A value not known yet (e.g. a config value that could not be parsed): checks skip it like an Output."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


def plain(value: Any) -> bool:
    """True for a value known now: not a ``pulumi.Output``, not an awaitable, not :data:`UNKNOWN`, no such thing
    inside a list or dict."""
    if isinstance(value, (pulumi.Output, Unknown)) or hasattr(value, "__await__"):
        return False
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(plain(v) for v in value.values())
    return True


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute: 1 each)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def normalized(name: str) -> str:
    """``min_tasks``, ``MinTasks``, ``min-tasks`` and ``minTasks`` all normalize to ``mintasks``."""
    return re.sub(r"[-_\s]", "", name).lower()


def closest(name: str, candidates: Iterable[str]) -> Optional[str]:
    """The candidate ``name`` most likely meant: equal up to case and ``_``/``-`` first, then by edit distance (at most
    2, or 1 for short names, on the normalized spelling)."""
    options = list(candidates)
    same = [c for c in options if normalized(c) == normalized(name)]
    if same:
        return same[0]
    limit = 1 if len(name) <= 4 else 2
    scored = sorted((edit_distance(normalized(name), normalized(c)), c) for c in options)
    return scored[0][1] if scored and scored[0][0] <= limit else None


def as_int(value: Any) -> Optional[int]:
    """A whole number written as text (``"512"``) -> 512; anything else -> None."""
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _nearest(options: Iterable[int], number: int) -> int:
    return min(options, key=lambda c: abs(c - number))


def pin_by_digest(image: Any) -> str:
    """How to pin an image given by tag: a sentence, because only the registry knows the digest."""
    text = str(image)
    last = text.split("/")[-1]
    repo, tag = (text.rsplit(":", 1) if ":" in last else (text, "latest")) if "@" not in text else (text, "")
    repo = repo.split("@", 1)[0]
    if ".dkr.ecr." in repo and "/" in repo:
        name = repo.split("/", 1)[1]
        where = (
            f"`aws ecr describe-images --repository-name {name} --image-ids imageTag={tag} "
            f"--query 'imageDetails[0].imageDigest'`"
        )
    else:
        where = f"`docker buildx imagetools inspect {text}`"
    return f"pin it by digest: {repo}@sha256:<64 hex>, the digest from {where}"


def zone_fix(zone_field: str, domain: Any) -> str:
    """Where the hosted zone id comes from (a made-up id would only fail later)."""
    name = domain if isinstance(domain, str) and domain else "<domain>"
    return (
        f"set {zone_field} to the id of the Route 53 zone holding {name}: `aws route53 list-hosted-zones-by-name "
        f"--dns-name {name} --query 'HostedZones[0].Id'` (the part after /hostedzone/)"
    )


@functools.cache
def aws_regions() -> dict[str, str]:
    """Every AWS region botocore knows (its ``partitions.json``), region -> partition (``aws``, ``aws-cn``, ...)."""
    import json
    from pathlib import Path

    import botocore

    data = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    return {
        region: partition["id"]
        for partition in data["partitions"]
        for region in partition.get("regions", {})
        if not region.endswith("-global")
    }


def fargate_memory_text(cpu: int) -> str:
    """The memory values Fargate allows with ``cpu``, in words (``1024 to 4096 MiB in steps of 1024``)."""
    allowed = FARGATE_SIZES[cpu]
    if len(allowed) <= 3:
        return f"{', '.join(map(str, allowed[:-1]))} or {allowed[-1]} MiB"
    return f"{allowed[0]} to {allowed[-1]} MiB in steps of {allowed[1] - allowed[0]}"


def fargate_table_text() -> str:
    return "; ".join(f"cpu {cpu}: {fargate_memory_text(cpu)}" for cpu in FARGATE_SIZES)


# -- problems and how they read --------------------------------------------------------------------------------
Fix = Union[tuple[str, Any], str, list[tuple[str, Any]]]
"""What fixes a problem: a setting ``(field, value)``, several settings that go together, or a sentence."""


@dataclass(frozen=True)
class Problem:
    field: str
    """The field or key as its owner names it."""
    value: Any
    """The refused value (for configuration: the string exactly as written)."""
    reason: str
    """Why it is refused, naming other fields by their owner's names."""
    fixes: tuple[Fix, ...] = ()
    """Settings that fix it (the first is the suggestion; more are alternatives)."""


class Dialect:
    """How a Problem reads. The base class speaks Python (for Args)."""

    def value(self, value: Any) -> str:
        return repr(value)

    def setting(self, field: str, value: Any) -> str:
        return f"{field}={self.value(value)}"

    def fix(self, fix: Fix) -> str:
        if isinstance(fix, str):
            return fix
        if isinstance(fix, list):
            return ", ".join(self.setting(*f) for f in fix)
        return self.setting(*fix)

    def render(self, problem: Problem) -> str:
        fixes = [self.fix(f) for f in problem.fixes]
        text = f"{self.setting(problem.field, problem.value)}: {problem.reason}"
        return f"{text}; fix: {' or '.join(fixes)}" if fixes else text


class ArgsError(ValueError):
    """Component Args refused: every bad field at once, raised before the component or any child exists."""

    def __init__(self, owner: str, problems: Sequence[Problem]) -> None:
        self.owner = owner
        self.problems = list(problems)
        dialect = Dialect()
        lines = "\n".join(f"  - {dialect.render(p)}" for p in problems)
        count = f"{len(problems)} invalid field{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{owner}: {count}:\n{lines}")


class Checks:
    """Collects problems. Every check returns True when the value passed (or could not be checked yet)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def bad(self, field: str, value: Any, reason: str, *fixes: Fix) -> bool:
        self.problems.append(Problem(field, value, reason, tuple(fixes)))
        return False

    def raise_for(self, owner: str) -> None:
        if self.problems:
            raise ArgsError(owner, self.problems)

    # -- scalars -----------------------------------------------------------------------------------------------
    def int_range(self, field: str, value: Any, lo: int, hi: Optional[int], unit: str = "") -> bool:
        if not plain(value):
            return True
        suffix = f" {unit}" if unit else ""
        if isinstance(value, bool) or not isinstance(value, int):
            number = as_int(value)
            if number is not None:  # "9000" -> 9000, within the range
                fixed = max(lo, number if hi is None else min(hi, number))
                return self.bad(field, value, "must be a whole number, not text", (field, fixed))
            return self.bad(field, value, "must be a whole number", (field, lo))
        if value < lo:
            span = f"from {lo} to {hi}{suffix}" if hi is not None else f"at least {lo}{suffix}"
            return self.bad(field, value, f"must be {span}", (field, lo))
        if hi is not None and value > hi:
            return self.bad(field, value, f"must be from {lo} to {hi}{suffix}", (field, hi))
        return True

    def one_of(
        self, field: str, value: Any, options: Sequence[str], why: str = "", aliases: Optional[Mapping[str, str]] = None
    ) -> bool:
        """``aliases``: other names people use for one of ``options`` (``amd64`` for ``x86_64``)."""
        if not plain(value) or value in options:
            return True
        text = f"must be one of {', '.join(options)}{why}"
        meant = {k.lower(): v for k, v in (aliases or {}).items()}
        if isinstance(value, str) and value.lower() in meant:
            return self.bad(
                field, value, f"{text}; {value} is called {meant[value.lower()]} here", (field, meant[value.lower()])
            )
        if isinstance(value, str):
            guess = closest(value, options)
            if guess is not None and guess.lower() == value.lower():
                return self.bad(field, value, f"{text} (values are case-sensitive)", (field, guess))
            if guess is not None:
                return self.bad(field, value, f"{text}; did you mean {guess}?", (field, guess))
        return self.bad(field, value, text, (field, options[0]))

    def matches(self, field: str, value: Any, regex: re.Pattern[str], what: str, example: Fix) -> bool:
        """``example``: a valid value to suggest, or (when no real-looking value can be made up) a sentence."""
        if not plain(value) or value is None:
            return True
        if not isinstance(value, str) or not regex.match(value):
            return self.bad(
                field,
                value,
                f"must be {what}",
                example if isinstance(example, str) and " " in example else (field, example),
            )
        return True

    def region(self, field: str, value: Any) -> bool:
        """An AWS region botocore's partition data lists (``eu-north-3`` is refused: no such region)."""
        if not plain(value) or value is None:
            return True
        regions = aws_regions()
        if isinstance(value, str) and value in regions:
            return True
        guess = closest(str(value), regions) or "us-east-1"
        return self.bad(
            field,
            value,
            f"is not an AWS region (botocore's partitions.json lists {len(regions)}, e.g. {guess})",
            (field, guess),
        )

    def required(self, field: str, value: Any, what: str, example: Any) -> bool:
        if not plain(value) or (value is not None and value != "" and value != [] and value != ()):
            return True
        return self.bad(field, value, f"is required: {what}", (field, example))

    # -- AWS shapes --------------------------------------------------------------------------------------------
    def fargate_size(self, cpu_field: str, cpu: Any, memory_field: str, memory: Any) -> bool:
        """cpu must be a Fargate size, and memory one of the values Fargate allows with that cpu."""
        if not (plain(cpu) and plain(memory)):
            return True
        if as_int(cpu) in FARGATE_SIZES and not isinstance(cpu, int):
            return self.bad(cpu_field, cpu, "must be a whole number, not text", (cpu_field, as_int(cpu)))
        if not isinstance(cpu, int) or isinstance(cpu, bool) or cpu not in FARGATE_SIZES:
            sizes = ", ".join(map(str, FARGATE_SIZES))
            number = as_int(cpu)
            near = 256 if number is None else _nearest(FARGATE_SIZES, number)
            return self.bad(cpu_field, cpu, f"must be a Fargate CPU size: {sizes}", (cpu_field, near))
        if not isinstance(memory, int) or isinstance(memory, bool):
            number = as_int(memory)
            fix = number if number in FARGATE_SIZES[cpu] else FARGATE_SIZES[cpu][0]
            return self.bad(memory_field, memory, "must be a whole number of MiB", (memory_field, fix))
        allowed = FARGATE_SIZES[cpu]
        if memory in allowed:
            return True
        nearest = min(allowed, key=lambda m: (abs(m - memory), m))
        cpus = [c for c, mems in FARGATE_SIZES.items() if memory in mems]
        other = f"; {memory} MiB needs {cpu_field} {' or '.join(map(str, cpus))}" if cpus else ""
        reason = (
            f"Fargate has no task with {cpu_field} {cpu} and {memory_field} {memory}: with {cpu_field} {cpu} "
            f"{memory_field} must be {fargate_memory_text(cpu)}{other}"
        )
        fixes: list[Fix] = [(memory_field, nearest)]
        fixes += [(cpu_field, c) for c in cpus[:1]]
        return self.bad(memory_field, memory, reason, *fixes)

    def vpc_cidr(self, field: str, value: Any) -> bool:
        if not plain(value):
            return True
        example = "10.20.0.0/16"
        try:
            net = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            return self.bad(field, value, "must be an IPv4 CIDR block such as 10.20.0.0/16", (field, example))
        if net.version != 4:
            return self.bad(field, value, "must be an IPv4 block (the VPC is IPv4)", (field, example))
        ok = True
        if str(net) != str(value):
            ok = self.bad(
                field,
                value,
                f"has host bits set: {value} is inside {net}, whose network address is {net.network_address}",
                (field, str(net)),
            )
        if not net.is_private:
            ok = self.bad(
                field, value, "must be a private block (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)", (field, example)
            )
        if net.prefixlen not in VPC_PREFIXES:
            subnet = net.prefixlen + SUBNET_SPLIT_BITS
            lo, hi = VPC_PREFIXES[0], VPC_PREFIXES[-1]
            if net.prefixlen > hi:
                wider = net.supernet(new_prefix=hi)
                why = (
                    f"is too small: each subnet is 1/16 of the VPC, so a /{net.prefixlen} gives /{subnet} subnets "
                    f"({2 ** (32 - subnet) - 5} usable addresses each); use /{lo} to /{hi}"
                )
                ok = self.bad(field, value, why, (field, str(wider)))
            else:
                narrower = next(net.subnets(new_prefix=lo))
                why = f"must be /{lo} to /{hi} (a /{net.prefixlen} is larger than AWS allows for a VPC)"
                ok = self.bad(field, value, why, (field, str(narrower)))
        return ok

    def major_version(self, field: str, value: Any) -> bool:
        if not plain(value):
            return True
        text = str(value)
        majors = f"{POSTGRES_MAJORS[0]} to {POSTGRES_MAJORS[-1]}"
        if re.fullmatch(r"\d+", text):
            if int(text) in POSTGRES_MAJORS:
                return True
            return self.bad(field, value, f"must be a PostgreSQL major version RDS offers ({majors})", (field, "17"))
        head = re.match(r"^(\d+)\.\d+", text)
        if head and int(head.group(1)) in POSTGRES_MAJORS:
            return self.bad(
                field,
                value,
                "is a MAJOR version: RDS picks the newest minor and upgrades minors itself; a pinned minor would "
                "fight those upgrades",
                (field, head.group(1)),
            )
        return self.bad(field, value, f"must be a PostgreSQL major version ({majors}), e.g. 17", (field, "17"))

    def log_retention(self, field: str, value: Any) -> bool:
        if not plain(value) or value in LOG_RETENTION_DAYS:
            return True
        number = as_int(value)
        if number in LOG_RETENTION_DAYS:
            return self.bad(field, value, "must be a whole number, not text", (field, number))
        if number is not None:
            near = min((d for d in LOG_RETENTION_DAYS if d >= number), default=LOG_RETENTION_DAYS[-1])
        else:
            near = 90
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        return self.bad(
            field, value, f"is not a CloudWatch retention value; CloudWatch allows {allowed}", (field, near)
        )

    def rds_windows(self, backup_field: str, backup: Any, maint_field: str, maintenance: Any) -> bool:
        """RDS's rules: hh24:mi-hh24:mi and ddd:hh24:mi-ddd:hh24:mi in UTC, each at least 30 minutes, no overlap."""
        if not (plain(backup) and plain(maintenance)):
            return True
        ok = True
        if not isinstance(backup, str) or not WINDOW.match(backup):
            ok = self.bad(backup_field, backup, "must be hh24:mi-hh24:mi in UTC", (backup_field, "03:00-04:00"))
        elif _daily_length(*_span(backup)) < MIN_RDS_WINDOW_MINUTES:
            ok = self.bad(
                backup_field, backup, "RDS needs a window of at least 30 minutes", (backup_field, "03:00-04:00")
            )
        example = "sun:04:30-sun:05:30"
        if not isinstance(maintenance, str) or not MAINT_WINDOW.match(maintenance):
            ok = self.bad(maint_field, maintenance, "must be ddd:hh24:mi-ddd:hh24:mi in UTC", (maint_field, example))
        elif _weekly_length(*_week_span(maintenance)) < MIN_RDS_WINDOW_MINUTES:
            ok = self.bad(maint_field, maintenance, "RDS needs a window of at least 30 minutes", (maint_field, example))
        if ok and not windows_disjoint(backup, maintenance):
            start = _span(backup)[1] + 30
            day = maintenance[:3]
            moved = f"{day}:{_hhmm(start)}-{day}:{_hhmm(start + 60)}"
            ok = self.bad(
                maint_field,
                maintenance,
                f"overlaps {backup_field} ({backup}); RDS refuses overlapping windows",
                (maint_field, moved),
            )
        return ok

    def digest_image(self, field: str, value: Any) -> bool:
        if not plain(value) or (isinstance(value, str) and DIGEST_REF.match(value)):
            return True
        return self.bad(
            field,
            value,
            "must pin the image by digest (REPOSITORY@sha256:<64 hex>), not by tag: ECS would otherwise resolve "
            "the tag at every task start",
            pin_by_digest(value),
        )

    def not_above(self, low_field: str, low: Any, high_field: str, high: Any) -> bool:
        if not (plain(low) and plain(high)) or not all(isinstance(v, int) for v in (low, high)) or low <= high:
            return True
        return self.bad(low_field, low, f"exceeds {high_field} ({high})", (low_field, high), (high_field, low))

    def tls_policy(self, field: str, value: Any) -> bool:
        if not plain(value) or (isinstance(value, str) and value.startswith(TLS13_POLICY)):
            return True
        return self.bad(
            field,
            value,
            f"must be a TLS 1.3 policy ({TLS13_POLICY}...)",
            (field, "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"),
        )

    def url_path(self, field: str, value: Any) -> bool:
        if not plain(value) or (isinstance(value, str) and value.startswith("/") and " " not in value):
            return True
        return self.bad(field, value, "must be an absolute URL path such as /healthz", (field, "/healthz"))

    def domain_needs_zone(
        self, domain_field: str, domain: Any, zone_field: str, zone: Any, unset: Optional[Fix] = None
    ) -> bool:
        """A domain is served through an alias record in its zone; without the zone the url would name a domain
        nothing points at. ``unset`` is how the caller spells removing the domain (default ``domain=None``)."""
        if not (plain(domain) and plain(zone)) or not domain or zone:
            return True
        return self.bad(
            domain_field,
            domain,
            f"needs {zone_field}: without it no alias record is created, yet the url output would name the domain",
            zone_fix(zone_field, domain),
            unset if unset is not None else (domain_field, None),
        )


def _span(window: str) -> tuple[int, int]:
    start, end = window.split("-")
    return _minutes(start), _minutes(end)


def _week_span(window: str) -> tuple[int, int]:
    start, end = window.split("-")
    return _week_minutes(start), _week_minutes(end)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _week_minutes(dhhmm: str) -> int:
    day, rest = dhhmm.split(":", 1)
    return DAYS.index(day) * 1440 + _minutes(rest)


def _daily_length(start: int, end: int) -> int:
    return (end - start) % 1440


def _weekly_length(start: int, end: int) -> int:
    return (end - start) % (7 * 1440)


def _hhmm(minutes: int) -> str:
    minutes %= 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def windows_disjoint(backup: str, maintenance: str) -> bool:
    """True when the daily backup window never overlaps the weekly maintenance window (both UTC). Malformed windows
    count as disjoint: their format is reported on their own fields."""
    if not (WINDOW.match(backup) and MAINT_WINDOW.match(maintenance)):
        return True
    b_start, b_end = _span(backup)
    m_start, m_end = _week_span(maintenance)
    week = 7 * 1440

    def spans(start: int, end: int, period: int) -> list[tuple[int, int]]:
        return [(start, end)] if start < end else [(start, period), (0, end)]

    daily = [(d * 1440 + a, d * 1440 + b) for d in range(8) for a, b in spans(b_start, b_end, 1440)]
    weekly = spans(m_start, m_end, week)
    shifted = weekly + [(a + week, b + week) for a, b in weekly]
    return not any(a < d and c < b for a, b in daily for c, d in shifted)


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


def env_names(c: Checks, field: str, names: Any, reserved: Mapping[str, str]) -> None:
    """``names``: environment variable names (a list, not one string), each well-formed, unique regardless of case
    (their secrets are named after them in lowercase) and none of ``reserved`` (name -> who sets it already)."""
    if not plain(names):
        return
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        c.bad(field, names, "must be a list of environment variable names", (field, ["API_TOKEN"]))
        return
    seen: dict[str, str] = {}
    taken = {name.upper(): by for name, by in reserved.items()}
    for name in names:
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
            c.bad(field, names, f"{name!r} is not an environment variable name (letters, digits, _; no leading digit)")
        elif name.upper() in taken:
            c.bad(field, names, f"{name} is already set by {taken[name.upper()]}; choose another name")
        elif name.upper() in seen:
            c.bad(field, names, f"{name} is given twice ({seen[name.upper()]} and {name}); keep one")
        else:
            seen[name.upper()] = name
