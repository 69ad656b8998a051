"""``slipway import copilot DIR [--out OUT]``: turn an AWS Copilot workspace into a slipway project.

Reads ``DIR/copilot/.workspace`` (the application name; the directory's name when absent),
``DIR/copilot/<service>/manifest.yml`` and ``DIR/copilot/environments/<env>/manifest.yml``, and writes into ``OUT``
(default ``DIR/slipway``):

- ``Pulumi.yaml`` and one ``Pulumi.<env>.yaml`` per Copilot environment (``dev`` when there is none), holding each
  service's settings for that environment (the manifest with its ``environments.<env>`` overrides applied) under
  ``<app>:services``;
- ``__main__.py``, the same program for every workspace: a ``WebApp`` for the Load Balanced Web Service (or the
  shared network, cluster, logs and roles when there is none), and a ``WorkerService``, ``ScheduledJob`` or
  ``BackendService`` beside it for each other service;
- ``COPILOT-IMPORT.md``: every manifest field, mapped (to what) or not carried over (and why). Nothing is dropped
  silently: a field the importer does not know is reported as not carried over.

Images: Copilot builds each service's Dockerfile at deploy time; slipway deploys images pinned by digest, so each
service gets an ``image`` placeholder to replace with ``<repository>@sha256:<digest>`` (the report says which
Dockerfile). Exit status: 0 written, 2 the directory is not a Copilot workspace or a manifest is not YAML.
"""

from __future__ import annotations

import argparse
import copy
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TextIO

import yaml

TYPES = {
    "Load Balanced Web Service": "web",
    "Backend Service": "backend",
    "Worker Service": "worker",
    "Scheduled Job": "job",
}
PLACEHOLDER_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/{app}@sha256:" + "0" * 64
FARGATE_CPU = (256, 512, 1024, 2048, 4096, 8192, 16384)
NON_ROOT_PORT = 8080
DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?$")
KEYWORDS = {
    "@yearly": "cron(0 0 1 1 ? *)",
    "@annually": "cron(0 0 1 1 ? *)",
    "@monthly": "cron(0 0 1 * ? *)",
    "@weekly": "cron(0 0 ? * SUN *)",
    "@daily": "cron(0 0 * * ? *)",
    "@midnight": "cron(0 0 * * ? *)",
    "@hourly": "cron(0 * * * ? *)",
}


class CopilotImportError(Exception):
    """The directory is not a Copilot workspace, or a manifest cannot be read."""


@dataclass
class Finding:
    owner: str
    """Service or ``environment <name>``."""
    path: str
    """Dotted manifest field."""
    carried: bool
    detail: str


@dataclass
class Report:
    app: str
    environments: list[str]
    findings: list[Finding] = field(default_factory=list)

    def mapped(self, owner: str, path: str, detail: str) -> None:
        self.findings.append(Finding(owner, path, True, detail))

    def dropped(self, owner: str, path: str, why: str) -> None:
        self.findings.append(Finding(owner, path, False, why))

    def render(self) -> str:
        lines = [
            f"# Copilot import of `{self.app}`",
            "",
            f"Environments: {', '.join(self.environments)}. Every manifest field is listed: mapped (to what) or "
            "NOT carried over (and why).",
        ]
        for owner in dict.fromkeys(f.owner for f in self.findings):
            lines += ["", f"## {owner}", "", "| field | | slipway / reason |", "|---|---|---|"]
            for f in (f for f in self.findings if f.owner == owner):
                lines.append(f"| `{f.path}` | {'mapped' if f.carried else '**not carried**'} | {f.detail} |")
        return "\n".join(lines) + "\n"


# -- values ---------------------------------------------------------------------------------------------------------
def seconds(text: Any) -> Optional[int]:
    """A Go duration as Copilot writes them (``1h30m``, ``3s``, ``1m0s``) -> whole seconds; None when not one."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    match = DURATION.match(str(text).strip())
    if not match or not any(match.groups()):
        return None
    hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def schedule_expression(text: str) -> tuple[Optional[str], str]:
    """Copilot's ``on.schedule`` -> (EventBridge Scheduler expression or None, how)."""
    text = str(text).strip()
    if text in KEYWORDS:
        return KEYWORDS[text], f"{text} is {KEYWORDS[text]} (UTC, as Copilot ran it)"
    if text == "none":
        return None, "none: the job is created disabled"
    if text.startswith(("cron(", "rate(", "at(")):
        return text, "an AWS expression, kept as written"
    if text.startswith("@every "):
        total = seconds(text[7:])
        if total is None or total < 60 or total % 60:
            return None, f"{text}: EventBridge Scheduler rates are whole minutes, hours or days"
        minutes = total // 60
        for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
            if minutes % size == 0:
                value = minutes // size
                return f"rate({value} {unit}{'s' if value != 1 else ''})", f"{text} is a rate"
    fields = text.split()
    if len(fields) == 5:
        minute, hour, dom, month, dow = fields
        if dom not in ("*", "?") and dow not in ("*", "?"):
            return None, f"{text}: EventBridge cannot take both a day of month and a day of week"
        dow = re.sub(r"\d+", lambda m: str(int(m.group()) % 7 + 1), dow)  # Unix 0-6 (Sun=0) -> AWS 1-7 (Sun=1)
        if dow in ("*", "?"):
            dow = "?"
        else:
            dom = "?"
        expression = f"cron({minute} {hour} {dom} {month} {dow} *)"
        return expression, f"Unix cron {text!r} is {expression} (UTC)"
    return None, f"{text!r} is not a schedule Copilot documents"


def fargate_size(cpu: Any, memory: Any) -> tuple[int, int]:
    cpu = int(cpu) if str(cpu).isdigit() else 256
    memory = int(memory) if str(memory).isdigit() else 512
    return cpu, memory


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _flat(value: Any, prefix: str) -> list[str]:
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in _flat(v, f"{prefix}.{k}")]
    return [prefix]


# -- services -------------------------------------------------------------------------------------------------------
NOT_CARRIED = {
    "secrets": "Copilot reads SSM parameters by name; slipway injects Secrets Manager secrets by ARN "
    "(WebAppArgs.secrets / secrets= of a companion): create them there and add them to the program",
    "entrypoint": "companions and the web service run the image's entrypoint; bake it into the image",
    "storage": "slipway's containers have a read-only root filesystem with /tmp only (no EFS, no extra ephemeral)",
    "logging": "logs always go to the app's CloudWatch log group through awslogs (no FireLens)",
    "sidecars": "one container per task",
    "publish": "no SNS topics: producers send to the worker's queue directly (WorkerServiceArgs.producer_role_arns)",
    "taskdef_overrides": "no raw task definition overrides; use Pulumi transforms on the component",
    "deployment": "deployments always roll 100/200 % with the circuit breaker and rollback",
    "observability": "X-Ray tracing is not configured",
    "nlb": "no Network Load Balancer",
    "network": "tasks run in the app's network: private subnets when slipway:natStrategy is single or per_az",
    "platform": "",
    "image.build": "",
    "image.location": "",
    "image.credentials": "slipway pulls from ECR only",
    "image.labels": "set labels in the Dockerfile",
    "image.depends_on": "one container per task",
    "image.docker_labels": "set labels in the Dockerfile",
    "http.target_container": "one container per task",
    "http.stickiness": "no sticky sessions",
    "http.allowed_source_ips": "the load balancer is public to the internet",
    "http.redirect_to_https": "HTTP always redirects to HTTPS",
    "http.deregistration_delay": "",
    "http.additional_rules": "one listener rule: the whole app",
    "http.version": "HTTP/1.1 to the target group",
    "subscribe.topics": "no SNS topics: producers send to the queue directly",
    "subscribe.queue.delay": "no queue delivery delay",
    "subscribe.queue.fifo": "standard queues only",
}


class ServiceImport:
    """One service manifest (already merged for one environment) -> its settings under ``<app>:services``."""

    def __init__(self, report: Report, app: str, env: str, record: bool) -> None:
        self.report, self.app, self.env, self.record = report, app, env, record

    def mapped(self, name: str, path: str, detail: str) -> None:
        if self.record:
            self.report.mapped(name, path, detail)

    def dropped(self, name: str, path: str, why: str) -> None:
        if self.record:
            self.report.dropped(name, path, why)

    def convert(self, name: str, manifest: dict[str, Any]) -> Optional[dict[str, Any]]:
        kind = TYPES.get(str(manifest.get("type")))
        if kind is None:
            self.dropped(name, "type", f"{manifest.get('type')!r}: slipway has no such service type; not imported")
            for path in _flat({k: v for k, v in manifest.items() if k not in ("type", "name")}, "")[:]:
                self.dropped(name, path.lstrip("."), "the service is not imported")
            return None
        self.mapped(
            name,
            "type",
            {"web": "WebApp", "backend": "BackendService", "worker": "WorkerService"}.get(kind, "ScheduledJob"),
        )
        if "name" in manifest:
            self.mapped(name, "name", "component name <app>-<stack>-<name>")
        out: dict[str, Any] = {"type": kind}
        handled = {"type", "name"}
        handled |= self._image(name, manifest, out, kind)
        cpu, memory = fargate_size(manifest.get("cpu", 256), manifest.get("memory", 512))
        out["cpu"], out["memory"] = cpu, memory
        for key in ("cpu", "memory"):
            if key in manifest:
                self.mapped(name, key, f"{key} {out[key]}")
                handled.add(key)
        if "exec" in manifest:
            self.mapped(name, "exec", "ECS Exec is always on (`slipway exec`)")
            handled.add("exec")
        if "platform" in manifest:
            platform = str(
                manifest["platform"]
                if not isinstance(manifest["platform"], dict)
                else manifest["platform"].get("osfamily", "") + "/" + manifest["platform"].get("architecture", "")
            )
            arch = "arm64" if "arm" in platform else "x86_64"
            out["architecture"] = arch
            self.mapped(name, "platform", f"architecture {arch}")
            handled.add("platform")
        env = {
            str(k): str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in (manifest.get("variables") or {}).items()
        }
        if "variables" in manifest:
            handled.add("variables")
            self.mapped(name, "variables", f"environment ({len(env)} variables)")
        out["env"] = env
        if "command" in manifest:
            command = manifest["command"]
            out["command"] = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
            self.mapped(name, "command", f"command {out['command']}")
            handled.add("command")
        handled |= self._count(name, manifest, out, kind)
        handled |= getattr(self, f"_{kind}")(name, manifest, out)
        if "environments" in manifest:
            handled.add("environments")
            self.mapped(name, "environments", "per-environment overrides applied to each Pulumi.<env>.yaml")
        for key, value in manifest.items():
            if key in handled:
                continue
            for path in _flat(value, key):
                why = NOT_CARRIED.get(path) or NOT_CARRIED.get(key) or "slipway has no equivalent of this field"
                self.dropped(name, path, why)
        return out

    def _image(self, name: str, manifest: dict[str, Any], out: dict[str, Any], kind: str) -> set[str]:
        image = manifest.get("image") or {}
        out["image"] = PLACEHOLDER_IMAGE.format(app=self.app)
        build = image.get("build")
        location = image.get("location")
        if location and "@sha256:" in str(location):
            out["image"] = str(location)
            self.mapped(name, "image.location", "image (pinned by digest)")
        elif location:
            self.mapped(
                name,
                "image.location",
                f"image: replace the placeholder with {location} pinned by digest (slipway refuses tags)",
            )
        if build is not None:
            dockerfile = build if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            self.mapped(
                name,
                "image.build",
                f"build {dockerfile}, push it and set services.{name}.image to "
                "<repository>@sha256:<digest> in each Pulumi.<env>.yaml",
            )
            if isinstance(build, dict):
                for key in build:
                    if key not in ("dockerfile", "context"):
                        self.dropped(name, f"image.build.{key}", "pass it to your own docker build")
        port = image.get("port")
        if port is not None:
            out["port"] = int(port) if int(port) >= 1024 else NON_ROOT_PORT
            if int(port) < 1024:
                self.mapped(
                    name,
                    "image.port",
                    f"port {NON_ROOT_PORT} (CHANGE the image: slipway runs it as UID "
                    f"10001, which cannot listen on {port}; it gets PORT={NON_ROOT_PORT})",
                )
            else:
                self.mapped(name, "image.port", f"port {port}")
        health = image.get("healthcheck")
        if health is not None and kind != "web":
            for path in _flat(health, "image.healthcheck"):
                self.dropped(name, path, "only the web service has a container health check in slipway")
        elif isinstance(health, dict) and health.get("command"):
            out["containerHealthCheck"] = [str(c) for c in health["command"]]
            self.mapped(name, "image.healthcheck.command", "container health check (web service only)")
            for key in health:
                if key != "command":
                    self.dropped(name, f"image.healthcheck.{key}", "slipway's interval 10 s, timeout 5 s, 3 retries")
        for key in image:
            if key not in ("build", "location", "port", "healthcheck"):
                for path in _flat(image[key], f"image.{key}"):
                    self.dropped(name, path, NOT_CARRIED.get(path, "slipway has no equivalent of this field"))
        return {"image"}

    def _count(self, name: str, manifest: dict[str, Any], out: dict[str, Any], kind: str) -> set[str]:
        if "count" not in manifest or kind == "job":
            return set()
        count = manifest["count"]
        if isinstance(count, int):
            out["minTasks"] = out["maxTasks"] = max(count, 1)
            self.mapped(name, "count", f"min = max tasks = {max(count, 1)}")
            return {"count"}
        if isinstance(count, dict):
            spread = str(count.get("range", "1-1")).split("-")
            if isinstance(count.get("range"), dict):
                spread = [count["range"].get("min", 1), count["range"].get("max", 1)]
            out["minTasks"], out["maxTasks"] = max(int(spread[0]), 1), max(int(spread[-1]), 1)
            self.mapped(name, "count.range", f"minTasks {out['minTasks']}, maxTasks {out['maxTasks']}")
            for key, value in count.items():
                if key == "range":
                    continue
                if key == "cpu_percentage" and kind == "web":
                    out["cpuTargetPercent"] = int(value)
                    self.mapped(name, "count.cpu_percentage", "cpu_target_percent")
                elif key == "requests" and kind == "web":
                    out["requestsPerTarget"] = int(value)
                    self.mapped(name, "count.requests", "requests_per_target")
                elif key == "queue_delay" and kind == "worker" and isinstance(value, dict):
                    latency = seconds(value.get("acceptable_latency")) or 600
                    each = seconds(value.get("msg_processing_time")) or 1
                    out["backlogPerTask"] = max(latency // max(each, 1), 1)
                    self.mapped(name, "count.queue_delay", f"backlog_per_task {out['backlogPerTask']}")
                else:
                    for path in _flat(value, f"count.{key}"):
                        self.dropped(name, path, "slipway scales web on CPU and requests, workers on backlog only")
        return {"count"}

    def _web(self, name: str, manifest: dict[str, Any], out: dict[str, Any]) -> set[str]:
        http = manifest.get("http") or {}
        out.setdefault("port", 8000)
        out["healthCheckPath"] = "/"
        for key, value in http.items() if isinstance(http, dict) else []:
            path = f"http.{key}"
            if key == "path" and value in ("/", ""):
                self.mapped(name, path, "the load balancer serves the whole app")
            elif key == "healthcheck":
                check = value if isinstance(value, str) else (value or {}).get("path", "/")
                out["healthCheckPath"] = check
                self.mapped(name, path, f"health_check_path {check}")
                if isinstance(value, dict):
                    for sub in value:
                        if sub != "path":
                            self.dropped(
                                name, f"{path}.{sub}", "slipway checks every 10 s, healthy after 2, unhealthy after 3"
                            )
            elif key == "alias" and isinstance(value, str):
                out["domain"] = value
                self.mapped(name, path, "domain")
            elif key == "hosted_zone":
                out["hostedZoneId"] = value
                self.mapped(name, path, "hosted_zone_id")
            elif key == "deregistration_delay" and seconds(value) is not None:
                out["deregistrationDelaySeconds"] = seconds(value)
                self.mapped(name, path, "deregistration_delay_seconds")
            else:
                for flat in _flat(value, path):
                    self.dropped(name, flat, NOT_CARRIED.get(path, "slipway's load balancer serves one app on /"))
        if "http" in manifest and not isinstance(http, dict):
            self.dropped(name, "http", f"{http!r}: slipway's web service is always behind the load balancer")
        return {"http"}

    def _backend(self, name: str, manifest: dict[str, Any], out: dict[str, Any]) -> set[str]:
        out.setdefault("port", 8000)
        if "http" in manifest:
            for path in _flat(manifest["http"], "http"):
                self.dropped(name, path, "reached by name through Cloud Map, without a load balancer")
        return {"http"}

    def _worker(self, name: str, manifest: dict[str, Any], out: dict[str, Any]) -> set[str]:
        queue = ((manifest.get("subscribe") or {}).get("queue")) or {}
        if "timeout" in queue and seconds(queue["timeout"]) is not None:
            out["visibilityTimeoutSeconds"] = seconds(queue["timeout"])
            self.mapped(name, "subscribe.queue.timeout", "visibility_timeout_seconds")
        if "retention" in queue and seconds(queue["retention"]) is not None:
            out["messageRetentionSeconds"] = seconds(queue["retention"])
            self.mapped(name, "subscribe.queue.retention", "message_retention_seconds")
        tries = (queue.get("dead_letter") or {}).get("tries")
        if tries is not None:
            out["maxReceiveCount"] = int(tries)
            self.mapped(name, "subscribe.queue.dead_letter.tries", "max_receive_count")
        for key, value in queue.items():
            if key not in ("timeout", "retention", "dead_letter"):
                for path in _flat(value, f"subscribe.queue.{key}"):
                    self.dropped(name, path, NOT_CARRIED.get(path, "no slipway equivalent"))
        for key, value in (manifest.get("subscribe") or {}).items():
            if key != "queue":
                for path in _flat(value, f"subscribe.{key}"):
                    self.dropped(name, path, NOT_CARRIED.get(f"subscribe.{key}", "no slipway equivalent"))
        out.pop("containerHealthCheck", None)
        return {"subscribe"}

    def _job(self, name: str, manifest: dict[str, Any], out: dict[str, Any]) -> set[str]:
        trigger = (manifest.get("on") or {}).get("schedule", "none")
        expression, how = schedule_expression(trigger)
        out["schedule"] = expression or "rate(1 day)"
        out["enabled"] = expression is not None
        if expression is None and trigger != "none":
            self.dropped(name, "on.schedule", f"{how}; created disabled with rate(1 day): fix it")
        else:
            self.mapped(name, "on.schedule", how)
        if "retries" in manifest:
            out["retries"] = min(int(manifest["retries"]), 10)
            self.mapped(name, "retries", "retries (Step Functions Retry on States.TaskFailed)")
        if "timeout" in manifest and seconds(manifest["timeout"]):
            out["timeoutSeconds"] = max(int(seconds(manifest["timeout"]) or 0), 60)
            self.mapped(name, "timeout", "timeout_seconds (the task is stopped)")
        out.pop("containerHealthCheck", None)
        out.pop("port", None)
        return {"on", "retries", "timeout"}


# -- environments ---------------------------------------------------------------------------------------------------
def environment_config(report: Report, env: str, manifest: dict[str, Any]) -> dict[str, Any]:
    owner = f"environment {env}"
    out: dict[str, Any] = {}
    for key in ("name", "type"):
        if key in manifest:
            report.mapped(owner, key, "the stack name" if key == "name" else "a Pulumi stack")
    for path in _flat({k: v for k, v in manifest.items() if k not in ("name", "type")}, ""):
        path = path.lstrip(".")
        value: Any = manifest
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if path == "network.vpc.cidr" and isinstance(value, str):
            out["vpcCidr"] = value
            report.mapped(owner, path, "vpcCidr (slipway splits it into 1/16 subnets itself; /16 to /20)")
        elif path == "http.public.certificates":
            certs = [c for c in value or [] if isinstance(c, str)]
            if certs and "${" not in certs[0]:
                out["certificateArn"] = certs[0]
                report.mapped(owner, path, "certificateArn (the first one)")
            else:
                report.dropped(
                    owner,
                    path,
                    f"{certs[:1]}: Copilot substituted ${{VAR}} from the shell at deploy time; "
                    "set <app>:certificateArn yourself",
                )
        elif path == "observability.container_insights":
            report.mapped(owner, path, "Container Insights is always enabled (the alarms and worker scaling read it)")
        else:
            report.dropped(
                owner,
                path,
                "slipway's network (public/private subnets, NAT per slipway:natStrategy) and "
                "load balancer have no such setting",
            )
    return out


# -- workspace ------------------------------------------------------------------------------------------------------
class Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans, as Copilot (Go's yaml.v3) reads manifests: only true/false are booleans; ``on:`` (a
    Scheduled Job's trigger) and ``TEST_BOOL_ENV_VAR: on`` stay strings."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first]
    )


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=Yaml12Loader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        raise CopilotImportError(f"{path}: not YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise CopilotImportError(f"{path}: a manifest is a mapping")
    return doc


def import_workspace(directory: Path, out: Path) -> Report:
    copilot = directory / "copilot"
    if not copilot.is_dir():
        raise CopilotImportError(f"{directory} has no copilot/ directory: not a Copilot workspace")
    workspace = copilot / ".workspace"
    app = directory.resolve().name
    if workspace.exists():
        app = str(read_yaml(workspace).get("application") or app)
    env_dir = copilot / "environments"
    env_manifests = {p.parent.name: read_yaml(p) for p in sorted(env_dir.glob("*/manifest.yml"))}
    environments = sorted(env_manifests) or ["dev"]
    # <app>-<env>-web-alb-<7 random> must fit the load balancer's 32 characters (components.config's appName rule).
    longest = max(len(e) for e in environments)
    app = re.sub(r"[^a-z0-9-]", "-", app.lower()).strip("-")[: max(15 - longest, 3)].strip("-") or "app"
    services = {
        p.parent.name: read_yaml(p) for p in sorted(copilot.glob("*/manifest.yml")) if p.parent.name != "environments"
    }
    if not services:
        raise CopilotImportError(f"{copilot} holds no <service>/manifest.yml")
    report = Report(app, environments)
    out.mkdir(parents=True, exist_ok=True)
    for index, env in enumerate(environments):
        env_config = environment_config(report, env, env_manifests.get(env, {})) if env in env_manifests else {}
        settings: dict[str, Any] = {}
        for name, manifest in services.items():
            merged = deep_merge(manifest, ((manifest.get("environments") or {}).get(env)) or {})
            converted = ServiceImport(report, app, env, record=index == 0).convert(name, merged)
            if converted is not None:
                settings[name] = converted
        webs = [n for n, s in settings.items() if s["type"] == "web"]
        if not webs and index == 0:
            report.dropped(
                "workspace",
                "(no Load Balanced Web Service)",
                "no WebApp: the program builds the network, cluster, log group and execution role alone (no load "
                "balancer, no alarm topic: the companions' alarms have no actions)",
            )
        for extra in webs[1:]:
            report.dropped(extra, "type", "one WebApp per program: this web service is imported as a backend service")
            settings[extra]["type"] = "backend"
        profile = "prod" if "prod" in env else "dev"
        config = {
            "aws:region": "us-east-1",
            f"{app}:profile": profile,
            f"{app}:namespace": f"{env}.{app}.local",
            **{f"{app}:{k}": v for k, v in env_config.items()},
            f"{app}:services": settings,
        }
        header = (
            f"# Imported from the Copilot environment {env!r} by `slipway import copilot`; see COPILOT-IMPORT.md.\n"
            "# Set aws:region, and each service's image to <repository>@sha256:<digest>.\n"
        )
        (out / f"Pulumi.{env}.yaml").write_text(header + yaml.safe_dump({"config": config}, sort_keys=False))
    (out / "Pulumi.yaml").write_text(
        yaml.safe_dump(
            {
                "name": app,
                "description": f"{app}, imported from AWS Copilot by slipway",
                "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}},
            },
            sort_keys=False,
        )
    )
    (out / "__main__.py").write_text(PROGRAM)
    (out / "requirements.txt").write_text("slipway-aws @ git+https://github.com/OWNER/slipway\n")
    (out / "COPILOT-IMPORT.md").write_text(report.render())
    return report


PROGRAM = '''"""Imported from an AWS Copilot workspace by `slipway import copilot`: the services of each environment
are in Pulumi.<env>.yaml under <project>:services (COPILOT-IMPORT.md says what was mapped and what was not)."""

import pulumi
import pulumi_aws as aws

from slipway_aws import (
    AppLogs,
    AppLogsArgs,
    BackendService,
    BackendServiceArgs,
    EcsCluster,
    EcsClusterArgs,
    Network,
    NetworkArgs,
    ScheduledJob,
    ScheduledJobArgs,
    TaskRoles,
    TaskRolesArgs,
    WebApp,
    WebAppArgs,
    WorkerService,
    WorkerServiceArgs,
    beside,
)
from slipway_aws.worker_service import queue_url

config = pulumi.Config()
project, stack = pulumi.get_project(), pulumi.get_stack()
services = config.require_object("services")
namespace = config.require("namespace")
profile = config.require("profile")
region = aws.get_region_output().region
account = aws.get_caller_identity_output().account_id
copilot_env = {"COPILOT_APPLICATION_NAME": project, "COPILOT_ENVIRONMENT_NAME": stack,
               "COPILOT_SERVICE_DISCOVERY_ENDPOINT": namespace}


def sizes(s):
    arch = {"architecture": s["architecture"]} if "architecture" in s else {}
    return {"cpu": s["cpu"], "memory": s["memory"], **arch}


web_name = next((n for n, s in services.items() if s["type"] == "web"), None)
if web_name is not None:
    web = services[web_name]
    app = WebApp(
        project,
        WebAppArgs(
            image_uri=web["image"],
            profile=profile,
            certificate_arn=config.get("certificateArn") or None,
            vpc_cidr=config.get("vpcCidr") or None,
            domain=web.get("domain"),
            hosted_zone_id=web.get("hostedZoneId"),
            database=False,  # Copilot storage add-ons are not imported (COPILOT-IMPORT.md)
            container_port=web.get("port", 8000),
            health_check_path=web.get("healthCheckPath", "/"),
            container_health_check=web.get("containerHealthCheck"),
            min_tasks=web.get("minTasks"),
            max_tasks=web.get("maxTasks"),
            cpu_target_percent=web.get("cpuTargetPercent", 60),
            requests_per_target=web.get("requestsPerTarget", 500),
            deregistration_delay_seconds=web.get("deregistrationDelaySeconds", 15),
            env={**copilot_env, "COPILOT_SERVICE_NAME": web_name, **web.get("env", {})},
            cpu=web["cpu"],
            memory=web["memory"],
        ),
    )
    shared = {**beside(app), "environment": copilot_env}
    clients = [app.web.task_security_group_id]
    pulumi.export("url", app.url)
else:  # no load-balanced service: the network, cluster, log group and execution role alone
    prefix, prod = f"{project}-{stack}", profile == "prod"
    tags = {"app": project, "environment": profile, "stack": stack, "managed-by": "pulumi/slipway"}
    net = Network(
        f"{prefix}-net",
        NetworkArgs(
            cidr_block=config.get("vpcCidr") or ("10.30.0.0/16" if prod else "10.20.0.0/16"),
            az_count=3 if prod else 2,
            nat_strategy="per_az" if prod else "none",
            flow_log_retention_days=90 if prod else 14,
            tags=tags,
        ),
    )
    cluster = EcsCluster(prefix, EcsClusterArgs(tags=tags))
    logs = AppLogs(prefix, AppLogsArgs(retention_days=90 if prod else 14, tags=tags))

    def repository_arn(image):  # <account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:... -> the repository
        host, path = image.split("@", 1)[0].split("/", 1)
        account_id, _, _, image_region = host.split(".")[:4]
        return f"arn:aws:ecr:{image_region}:{account_id}:repository/{path}"

    repositories = sorted({repository_arn(s["image"]) for s in services.values() if ".dkr.ecr." in s["image"]})
    roles = TaskRoles(
        prefix,
        TaskRolesArgs(repository_arns=repositories, log_group_arn=logs.log_group_arn, secret_arns=[], tags=tags),
    )
    shared = {
        "cluster_arn": cluster.cluster_arn,
        "cluster_name": cluster.cluster_name,
        "vpc_id": net.vpc_id,
        "subnet_ids": net.task_subnet_ids,
        "assign_public_ip": net.assign_public_ip,
        "execution_role_arn": roles.execution_role_arn,
        "log_group_name": logs.log_group_name,
        "region": region,
        "environment": copilot_env,
        "tags": tags,
    }
    clients = []
namespace_id = None
for name, s in services.items():
    common = {**shared, **sizes(s), "image": s["image"], "command": s.get("command"),
              "environment": {**copilot_env, "COPILOT_SERVICE_NAME": name, **s.get("env", {})}}
    if s["type"] == "worker":
        queue = f"{project}-{stack}-{name}-queue"
        common["environment"]["COPILOT_QUEUE_URI"] = pulumi.Output.all(region, account).apply(
            lambda a, q=queue: queue_url(a[0], a[1], q))
        worker = WorkerService(f"{project}-{stack}-{name}", WorkerServiceArgs(
            **common,
            min_tasks=s.get("minTasks", 1),
            max_tasks=s.get("maxTasks", max(s.get("minTasks", 1), 4)),
            visibility_timeout_seconds=s.get("visibilityTimeoutSeconds", 300),
            message_retention_seconds=s.get("messageRetentionSeconds", 345600),
            max_receive_count=s.get("maxReceiveCount", 5),
            backlog_per_task=s.get("backlogPerTask", 10),
        ))
        clients.append(worker.security_group_id)
    elif s["type"] == "job":
        job = ScheduledJob(f"{project}-{stack}-{name}", ScheduledJobArgs(
            **common,
            schedule=s["schedule"],
            enabled=s.get("enabled", True),
            retries=s.get("retries", 0),
            timeout_seconds=s.get("timeoutSeconds", 3600),
        ))
        clients.append(job.security_group_id)
for name, s in services.items():
    if s["type"] == "backend":
        common = {**shared, **sizes(s), "image": s["image"], "command": s.get("command"),
                  "environment": {**copilot_env, "COPILOT_SERVICE_NAME": name, **s.get("env", {})}}
        backend = BackendService(f"{project}-{stack}-{name}", BackendServiceArgs(
            **common,
            port=s.get("port", 8000),
            desired_count=s.get("minTasks", 1),
            discovery_name=name,
            namespace_name=namespace,
            namespace_id=namespace_id,
            client_security_group_ids=list(clients),
        ))
        namespace_id = backend.namespace_id
        pulumi.export(name, backend.url)
'''


# -- command line ---------------------------------------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    imp = sub.add_parser(
        "import",
        help="import another tool's configuration (copilot: an AWS Copilot workspace)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    kinds = imp.add_subparsers(dest="source", required=True)
    copilot = kinds.add_parser(
        "copilot",
        help="write a slipway project from an AWS Copilot workspace",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    copilot.add_argument("directory", type=Path, metavar="DIR", help="the workspace (holds copilot/)")
    copilot.add_argument("--out", type=Path, default=None, help="where to write the project (default DIR/slipway)")


def main(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    target = args.out or args.directory / "slipway"
    try:
        report = import_workspace(args.directory, target)
    except (CopilotImportError, OSError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    kept = sum(f.carried for f in report.findings)
    dropped = [f for f in report.findings if not f.carried]
    print(
        f"wrote {target}: Pulumi.yaml, __main__.py, {', '.join(f'Pulumi.{e}.yaml' for e in report.environments)}, "
        f"COPILOT-IMPORT.md ({kept} fields mapped, {len(dropped)} not carried over)",
        file=out,
    )
    for f in dropped:
        print(f"  not carried: {f.owner}: {f.path}: {f.detail}", file=out)
    return 0
