"""Estimated monthly bill of a recorded graph, from a pinned, dated price table and explicit usage assumptions.

``estimate(graph.resources, stack="dev")`` prices every cloud resource whose type has a pricer below, counts the
types known to be free, and lists every other type as *unpriced* (never silently dropped). Prices come from
``prices.json`` (per region, with its source and date, plus the rates AWS publishes as one figure for every region);
a figure the region's table does not have leaves that resource unpriced, with the missing figure named, so any
region prints a plan and an estimate; usage (hours, LCUs, GB of logs, GB through NAT, ...) comes
from its ``usage_defaults`` (a base plus a per-environment overlay) and can be overridden (``--assume log_gb=5``).
Works on ``offline.Resource`` objects and on ``to_json()`` resource dicts alike, so a saved plan can be priced too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

PRICES_FILE = Path(__file__).with_name("prices.json")
T_SCHEDULE = "aws:scheduler/schedule:Schedule"
T_SCHEDULED_ACTION = "aws:appautoscaling/scheduledAction:ScheduledAction"

CATEGORY = {
    "aws:ec2/natGateway:NatGateway": "network (NAT)",
    "aws:ec2/eip:Eip": "network (NAT)",
    "aws:lb/loadBalancer:LoadBalancer": "load balancer",
    "aws:ecs/service:Service": "compute (Fargate)",
    "aws:rds/instance:Instance": "database (RDS)",
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": "database (RDS)",
    "aws:secretsmanager/secret:Secret": "secrets",
    "aws:kms/key:Key": "secrets",
    "aws:cloudwatch/logGroup:LogGroup": "monitoring",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "monitoring",
    "aws:cloudwatch/dashboard:Dashboard": "monitoring",
    "aws:ecs/cluster:Cluster": "monitoring",
    "aws:ecr/repository:Repository": "storage",
    "aws:s3/bucket:Bucket": "storage",
    "aws:backup/vault:Vault": "database (RDS)",
}


class CostError(ValueError):
    """Bad assumption override."""


@dataclass(frozen=True)
class LineItem:
    name: str
    type: str
    urn: str
    monthly: float
    detail: str

    @property
    def category(self) -> str:
        return CATEGORY.get(self.type, "other")


@dataclass(frozen=True)
class Unpriced:
    name: str
    type: str
    urn: str
    reason: str


@dataclass
class Estimate:
    stack: str
    region: str
    items: list[LineItem]
    unpriced: list[Unpriced]
    free: int
    assumptions: dict[str, float]
    price_date: str
    price_source: str
    overridden: set[str] = field(default_factory=set)

    @property
    def total(self) -> float:
        return round(sum(i.monthly for i in self.items), 2)

    def by_category(self) -> list[tuple[str, float]]:
        sums: dict[str, float] = {}
        for item in self.items:
            sums[item.category] = sums.get(item.category, 0.0) + item.monthly
        return sorted(((k, round(v, 2)) for k, v in sums.items()), key=lambda kv: -kv[1])

    def dominant(self, n: int = 3) -> list[LineItem]:
        return sorted(self.items, key=lambda i: -i.monthly)[:n]

    def by_urn(self) -> dict[str, float]:
        return {i.urn: i.monthly for i in self.items}


# -- price table and assumptions ------------------------------------------------------------------------------
def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    return json.loads(path.read_text())


def assumptions_for(
    environment: str, overrides: Optional[Mapping[str, Any]] = None, prices: Optional[Mapping[str, Any]] = None
) -> dict[str, float]:
    """Default usage for the environment with ``overrides`` (``{"log_gb": "5"}``) on top."""
    table = prices or load_prices()
    usage = dict(table["usage_defaults"]["*"])
    usage.update(table["usage_defaults"].get(environment, {}))
    for key, raw in (overrides or {}).items():
        if key not in usage:
            raise CostError(f"unknown assumption {key!r}; known: {', '.join(sorted(usage))}")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise CostError(f"assumption {key}={raw!r} is not a number") from None
        if value < 0:
            raise CostError(f"assumption {key}={raw!r} must not be negative")
        usage[key] = value
    return {k: float(v) for k, v in usage.items()}


def parse_assumptions(pairs: Iterable[str]) -> dict[str, str]:
    """``["log_gb=5", "hours=200"]`` -> ``{"log_gb": "5", "hours": "200"}``."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CostError(f"--assume expects key=value, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


# -- resource access (Resource objects or to_json dicts) ------------------------------------------------------
def _field(resource: Any, key: str) -> Any:
    return resource.get(key) if isinstance(resource, Mapping) else getattr(resource, key, None)


def _unwrap(value: Any) -> Any:
    while type(value).__name__ == "SecretValue":
        value = value.value
    return value


def _in(resource: Any, *path: str | int, default: Any = None) -> Any:
    value: Any = _field(resource, "inputs") or {}
    for key in path:
        try:
            value = _unwrap(value)[key]
        except (KeyError, IndexError, TypeError):
            return default
    value = _unwrap(value)
    return default if value is None else value


def is_component(resource: Any, parents: set[str]) -> bool:
    custom = _field(resource, "custom")
    if custom is not None:
        return not custom
    return _field(resource, "urn") in parents  # to_json() has no `custom`: components are the parents


def infer_region(resources: Iterable[Any], default: str = "us-east-1") -> str:
    pattern = re.compile(r"arn:aws:[a-z0-9-]+:([a-z]{2}-[a-z]+-\d):")
    for r in resources:
        match = pattern.search(json.dumps(_field(r, "inputs") or {}, default=str))
        if match:
            return match.group(1)
    return default


# -- pricers --------------------------------------------------------------------------------------------------
class RegionPrices(Mapping[str, Any]):
    """One region's figures (its own table over the all-regions one); a missing figure raises NotPricedError naming
    it, so only the resource that needs it goes unpriced."""

    def __init__(self, region: str, figures: Mapping[str, Any], path: str = "") -> None:
        self.region, self.figures, self.path = region, figures, path

    def __getitem__(self, key: str) -> Any:
        name = f"{self.path}.{key}" if self.path else key
        if key not in self.figures:
            raise NotPricedError(f"prices.json has no {self.region} price for {name}")
        value = self.figures[key]
        return RegionPrices(self.region, value, name) if isinstance(value, Mapping) else value

    def __contains__(self, key: object) -> bool:
        return key in self.figures

    def __iter__(self) -> Any:
        return iter(self.figures)

    def __len__(self) -> int:
        return len(self.figures)


def region_prices(table: Mapping[str, Any], region: str) -> RegionPrices:
    return RegionPrices(region, {**table.get("all_regions", {}), **table["regions"].get(region, {})})


@dataclass
class Context:
    resources: list[Any]
    price: Mapping[str, Any]
    usage: Mapping[str, float]

    def of_type(self, type_: str) -> list[Any]:
        return [r for r in self.resources if _field(r, "type") == type_]


Priced = tuple[float, str]  # monthly USD, how it was computed
Pricer = Callable[[Any, Context], Priced]
PRICERS: dict[str, Pricer] = {}


def pricer(type_: str) -> Callable[[Pricer], Pricer]:
    def register(fn: Pricer) -> Pricer:
        PRICERS[type_] = fn
        return fn

    return register


class NotPricedError(Exception):
    """The type is priced but this resource's configuration is not in the table (e.g. an unknown class)."""


@pricer("aws:ec2/natGateway:NatGateway")
def _nat(r: Any, c: Context) -> Priced:
    hours, p = c.usage["hours"], c.price
    share = c.usage["nat_gb"] / max(1, len(c.of_type("aws:ec2/natGateway:NatGateway")))
    cost = hours * p["nat_gateway_hour"] + share * p["nat_gateway_gb"]
    return cost, f"{hours:g} h x ${p['nat_gateway_hour']}/h + {share:g} GB x ${p['nat_gateway_gb']}/GB"


@pricer("aws:ec2/eip:Eip")
def _eip(r: Any, c: Context) -> Priced:
    hours, p = c.usage["hours"], c.price
    return hours * p["public_ipv4_hour"], f"public IPv4 {hours:g} h x ${p['public_ipv4_hour']}/h"


@pricer("aws:lb/loadBalancer:LoadBalancer")
def _alb(r: Any, c: Context) -> Priced:
    hours, p, lcu = c.usage["hours"], c.price, c.usage["alb_lcu"]
    cost = hours * (p["alb_hour"] + lcu * p["alb_lcu_hour"])
    detail = f"{hours:g} h x (${p['alb_hour']}/h + {lcu:g} LCU x ${p['alb_lcu_hour']})"
    if not _in(r, "internal", default=False):
        ips = len(_in(r, "subnets", default=[]) or []) or 1  # one public IPv4 per AZ
        cost += ips * hours * p["public_ipv4_hour"]
        detail += f" + {ips} public IPv4 x ${p['public_ipv4_hour']}/h"
    return cost, detail


def _task_definition(service: Any, c: Context) -> Any:
    arn = str(_in(service, "taskDefinition", default=""))
    family = arn.rsplit("/", 1)[-1].split(":")[0]
    for td in c.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        if _in(td, "family") == family:
            return td
    raise NotPricedError(f"task definition {family or arn!r} not found in the graph")


# -- hours awake of a stack that sleeps (components/sleep.py) ------------------------------------------------------
def _awake(on: Any, off: Any, c: Context) -> Optional[float]:
    """Hours a month between an "on" and an "off" schedule of :mod:`slipway_aws.awake` (days x hours a week x
    ``hours`` / 168), or None when they are not such a pair (then the resource is priced always on)."""
    from slipway_aws.awake import monthly_hours, weekly_hours

    weekly = weekly_hours(on, off)
    return None if weekly is None else min(c.usage["hours"], monthly_hours(weekly, c.usage["hours"]))


def _service_awake(service: Any, c: Context) -> Optional[float]:
    """The service's hours awake from the scheduled actions on its scalable target (one raising the minimum above
    0, one setting the maximum to 0); the target's resource id is ``service/<cluster>/<service name>``."""
    cluster = str(_in(service, "cluster", default="")).rsplit("/", 1)[-1]
    explicit = _in(service, "name")  # else Pulumi's auto-name: the resource's name and 7 hex characters
    pattern = re.compile(
        re.escape(str(explicit)) if explicit else re.escape(str(_field(service, "name"))) + "-[0-9a-f]{7}"
    )
    on = off = None
    for action in c.of_type(T_SCHEDULED_ACTION):
        rid = str(_in(action, "resourceId", default=""))
        parts = rid.split("/")
        if len(parts) != 3 or parts[0] != "service" or parts[1] != cluster or not pattern.fullmatch(parts[2]):
            continue
        if int(_in(action, "scalableTargetAction", "maxCapacity", default=-1)) == 0:
            off = _in(action, "schedule")
        elif int(_in(action, "scalableTargetAction", "minCapacity", default=0)) > 0:
            on = _in(action, "schedule")
    return _awake(on, off, c) if on and off else None


def _db_awake(instance: Any, c: Context) -> Optional[float]:
    """The instance's hours awake from the EventBridge Scheduler schedules that start and stop it (universal targets
    ``aws-sdk:rds:startDBInstance``/``stopDBInstance`` with its identifier)."""
    identifier, found = _in(instance, "identifier"), {}
    for schedule in c.of_type(T_SCHEDULE):
        if _in(schedule, "state", default="ENABLED") != "ENABLED":
            continue
        try:
            target = json.loads(str(_in(schedule, "target", "input", default="{}"))).get("DbInstanceIdentifier")
        except (ValueError, AttributeError):
            continue
        action = str(_in(schedule, "target", "arn", default="")).rsplit(":", 1)[-1]
        if identifier and target == identifier and action in ("startDBInstance", "stopDBInstance"):
            found[action] = _in(schedule, "scheduleExpression")
    if len(found) < 2:
        return None
    return _awake(found["startDBInstance"], found["stopDBInstance"], c)


def _hours_text(hours: float, c: Context) -> str:
    return f"{hours:.0f} h awake" if hours < c.usage["hours"] else f"{hours:g} h"


@pricer("aws:ecs/service:Service")
def _fargate(r: Any, c: Context) -> Priced:
    td = _task_definition(r, c)
    arch = str(_in(td, "runtimePlatform", "cpuArchitecture", default="X86_64")).upper()
    p = c.price
    awake = _service_awake(r, c)
    hours = c.usage["hours"] if awake is None else awake
    vcpu, gb = int(_in(td, "cpu", default=256)) / 1024, int(_in(td, "memory", default=512)) / 1024
    tasks = int(_in(r, "desiredCount", default=1))
    hourly = vcpu * p["fargate_vcpu_hour"][arch] + gb * p["fargate_gb_hour"][arch]
    providers = [s.get("capacityProvider") for s in _in(r, "capacityProviderStrategies", default=[]) or []]
    spot = "FARGATE_SPOT" in providers and "FARGATE" not in providers
    factor = 1 - p["fargate_spot_discount"] if spot else 1.0
    cost = tasks * hours * hourly * factor
    detail = f"{tasks} task x {_hours_text(hours, c)} x ({vcpu:g} vCPU + {gb:g} GB {arch})" + (
        f" x Spot {factor:.2f}" if spot else ""
    )
    if _in(r, "networkConfiguration", "assignPublicIp", default=False):
        cost += tasks * hours * p["public_ipv4_hour"]
        detail += f" + {tasks} public IPv4"
    return cost, detail


@pricer("aws:rds/instance:Instance")
def _rds(r: Any, c: Context) -> Priced:
    """Instance hours (only the hours awake when schedules stop and start it; storage is billed the whole month,
    stopped or not), storage, Enhanced Monitoring's log volume while it runs, and the master-user secret RDS keeps in
    Secrets Manager when it manages the password (billed as any secret: ``prices.json`` sources, ``rds_secret``)."""
    p = c.price
    awake = _db_awake(r, c)
    hours = c.usage["hours"] if awake is None else awake
    klass = str(_in(r, "instanceClass", default=""))
    factor = p["rds_multi_az_factor"] if _in(r, "multiAz", default=False) else 1
    storage = float(_in(r, "allocatedStorage", default=20))
    cost = factor * (hours * p["rds_instance_hour"][klass] + storage * p["rds_gp3_gb_month"])
    detail = (
        f"{klass} {_hours_text(hours, c)} x ${p['rds_instance_hour'][klass]}/h + {storage:g} GB x "
        f"${p['rds_gp3_gb_month']}" + (f", Multi-AZ x{factor}" if factor != 1 else "")
    )
    interval = int(_in(r, "monitoringInterval", default=0) or 0)
    if interval:  # Enhanced Monitoring: OS metrics land in CloudWatch Logs (RDSOSMetrics), billed as ingestion
        gb = p["rds_enhanced_monitoring_gb_per_sample"] * hours * 3600 / interval
        cost += gb * p["logs_ingest_gb"]
        detail += f", Enhanced Monitoring every {interval} s ~{gb:.2f} GB logs"
    if _in(r, "manageMasterUserPassword", default=False):
        cost += p["secret_month"]
        detail += f" + RDS-managed master secret ${p['secret_month']}/month"
    return cost, detail


@pricer("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
def _rds_backup_copy(r: Any, c: Context) -> Priced:
    """Backups replicated to a second region: their storage there (no free allocation in the destination) plus the
    inter-region transfer of the snapshots and transaction logs; priced at the stack region's table."""
    p, stored, moved = c.price, c.usage["db_backup_copy_gb"], c.usage["db_backup_transfer_gb"]
    cost = stored * p["rds_backup_storage_gb_month"] + moved * p["inter_region_transfer_gb"]
    return cost, (
        f"{stored:g} GB stored x ${p['rds_backup_storage_gb_month']} + {moved:g} GB copied x "
        f"${p['inter_region_transfer_gb']} ({_in(r, 'region', default='second region')})"
    )


@pricer("aws:backup/vault:Vault")
def _backup_vault(r: Any, c: Context) -> Priced:
    """Recovery points in an AWS Backup vault: RDS snapshots, billed at RDS's backup-storage rate (AWS Backup pricing;
    no free allocation assumed). A vault in another region (a copy target) adds the inter-region transfer."""
    p, stored = c.price, c.usage["vault_gb"]
    cost = stored * p["rds_backup_storage_gb_month"]
    detail = f"{stored:g} GB of recovery points x ${p['rds_backup_storage_gb_month']}"
    if _in(r, "region"):
        moved = c.usage["vault_copy_transfer_gb"]
        cost += moved * p["inter_region_transfer_gb"]
        detail += f" + {moved:g} GB copied x ${p['inter_region_transfer_gb']} ({_in(r, 'region')})"
    return cost, detail


@pricer("aws:secretsmanager/secret:Secret")
def _secret(r: Any, c: Context) -> Priced:
    return c.price["secret_month"], f"1 secret x ${c.price['secret_month']}/month"


@pricer("aws:kms/key:Key")
def _kms_key(r: Any, c: Context) -> Priced:
    return c.price["kms_key_month"], f"1 customer managed key x ${c.price['kms_key_month']}/month"


@pricer("aws:cloudwatch/logGroup:LogGroup")
def _logs(r: Any, c: Context) -> Priced:
    name = str(_in(r, "name", default=""))
    volume = "db_log_gb" if name.startswith("/aws/rds/") else "flow_log_gb" if name.endswith("/flow-logs") else "log_gb"
    gb, p = c.usage[volume], c.price
    days = int(_in(r, "retentionInDays", default=0) or 0)
    stored = gb * (days / 30 if days else 12)  # steady state; unlimited retention: a year's worth
    cost = gb * p["logs_ingest_gb"] + stored * p["logs_storage_gb_month"]
    return cost, f"{gb:g} GB ingested x ${p['logs_ingest_gb']} + {stored:.2f} GB stored x ${p['logs_storage_gb_month']}"


@pricer("aws:cloudwatch/metricAlarm:MetricAlarm")
def _alarm(r: Any, c: Context) -> Priced:
    queries = _in(r, "metricQueries", default=[]) or []
    metrics = sum(1 for q in queries if isinstance(q, Mapping) and q.get("metric")) or 1
    return metrics * c.price["alarm_metric_month"], f"{metrics} metric(s) x ${c.price['alarm_metric_month']}"


@pricer("aws:cloudwatch/dashboard:Dashboard")
def _dashboard(r: Any, c: Context) -> Priced:
    return c.price["dashboard_month"], f"1 dashboard x ${c.price['dashboard_month']} (account free tier ignored)"


@pricer("aws:ecs/cluster:Cluster")
def _cluster(r: Any, c: Context) -> Priced:
    on = any(
        s.get("name") == "containerInsights" and s.get("value") in ("enabled", "enhanced")
        for s in _in(r, "settings", default=[]) or []
        if isinstance(s, Mapping)
    )
    if not on:
        return 0.0, "no Container Insights"
    n = c.usage["insights_metrics"]
    return n * c.price["custom_metric_month"], f"Container Insights {n:g} metrics x ${c.price['custom_metric_month']}"


@pricer("aws:ecr/repository:Repository")
def _ecr(r: Any, c: Context) -> Priced:
    gb = c.usage["ecr_gb"]
    return gb * c.price["ecr_storage_gb_month"], f"{gb:g} GB x ${c.price['ecr_storage_gb_month']}"


@pricer("aws:s3/bucket:Bucket")
def _s3(r: Any, c: Context) -> Priced:
    gb = c.usage["s3_gb"]
    return gb * c.price["s3_standard_gb_month"], f"{gb:g} GB x ${c.price['s3_standard_gb_month']}"


# -- the estimate ---------------------------------------------------------------------------------------------
def estimate(
    resources: Iterable[Any],
    stack: str,
    region: Optional[str] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    environment: Optional[str] = None,
    prices: Optional[Mapping[str, Any]] = None,
) -> Estimate:
    table = prices or load_prices()
    resources = list(resources)
    region = region or infer_region(resources)
    usage = assumptions_for(environment or stack, overrides, table)
    ctx = Context(resources, region_prices(table, region), usage)
    parents = {_field(r, "parent") for r in resources}
    free_types = set(table["free_types"])
    items, unpriced, free = [], [], 0
    for r in resources:
        type_, name, urn = _field(r, "type"), _field(r, "name"), _field(r, "urn") or ""
        if is_component(r, parents):
            continue
        if type_ in PRICERS:
            try:
                monthly, detail = PRICERS[type_](r, ctx)
            except NotPricedError as exc:
                unpriced.append(Unpriced(name, type_, urn, str(exc)))
                continue
            items.append(LineItem(name, type_, urn, round(monthly, 2), detail))
        elif type_ in free_types:
            free += 1
        else:
            unpriced.append(Unpriced(name, type_, urn, "type not in the price table"))
    source = table.get("region_sources", {}).get(region) or f"no {region} table in prices.json (all-regions rates only)"
    return Estimate(stack, region, items, unpriced, free, usage, table["date"], source, set(overrides or {}))


# -- rendering ------------------------------------------------------------------------------------------------
def money(value: float, signed: bool = False) -> str:
    return f"{'+' if signed and value > 0 else '-' if value < 0 else ''}${abs(value):,.2f}"


def render_text(est: Estimate, style: Callable[[str, str], str] = lambda t, _c: t) -> str:
    partial = f" + {len(est.unpriced)} unpriced resource(s), listed below" if est.unpriced else ""
    lines = [style(f"estimated monthly cost, stack {est.stack} ({est.region}): {money(est.total)}{partial}", "1")]
    hours = est.assumptions.get("hours") or 0
    if hours:  # what a preview is judged by (docs/previews.md): the same total, per hour of running
        lines.append(f"estimated hourly cost: ${est.total / hours:.4f} ({money(est.total)} / {hours:g} h)")
    total = est.total or 1.0
    lines.append(style("by category:", "1"))
    for category, amount in est.by_category():
        lines.append(f"  {category:<20} {money(amount):>10}  {100 * amount / total:5.1f}%")
    if est.items:
        lines.append("  dominated by: " + ", ".join(f"{i.name} ({money(i.monthly)})" for i in est.dominant()))
    lines.append(style("by resource:", "1"))
    width = max((len(i.name) for i in est.items), default=10)
    for category, _ in est.by_category():
        for item in sorted((i for i in est.items if i.category == category), key=lambda i: -i.monthly):
            lines.append(f"  {item.name:<{width}} {money(item.monthly):>10}  {item.detail}")
    lines.append(style("assumptions (override with --assume key=value):", "1"))
    lines.append(
        "  " + "  ".join(f"{k}={v:g}{'*' if k in est.overridden else ''}" for k, v in sorted(est.assumptions.items()))
    )
    lines.append(f"  prices: {est.region} table dated {est.price_date}; {est.price_source}")
    lines.append(f"  {est.free} resources are free of charge")
    if est.unpriced:
        lines.append(style(f"unpriced ({len(est.unpriced)}), not in the total:", "33"))
        lines.extend(f"  {u.name}  {u.type}: {u.reason}" for u in est.unpriced)
    return "\n".join(lines)


def render_markdown(est: Estimate) -> str:
    lines = [
        f"**Estimated monthly cost ({est.stack}, {est.region}): {money(est.total)}**",
        "",
        "| category | monthly | share |",
        "|---|---:|---:|",
    ]
    total = est.total or 1.0
    lines += [f"| {c} | {money(a)} | {100 * a / total:.0f}% |" for c, a in est.by_category()]
    lines += [
        "",
        "Assumptions: "
        + ", ".join(f"`{k}={v:g}`" for k, v in sorted(est.assumptions.items()))
        + f"; prices dated {est.price_date}.",
    ]
    if est.unpriced:
        lines.append("Unpriced: " + ", ".join(f"`{u.name}` ({u.type})" for u in est.unpriced))
    return "\n".join(lines)
