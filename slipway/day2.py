"""Day-2 commands on a deployed stack, Copilot's ``svc logs|status|exec``, ``task run`` and a way back:

    slipway logs     --stack S [--service NAME] [--since 1h] [--filter PATTERN] [--follow]
    slipway status   --stack S
    slipway exec     --stack S --service NAME [--command /bin/sh] [--call]
    slipway run      --stack S --service NAME -- COMMAND...
    slipway rollback --stack S [--service NAME] [--dry-run]

How the stack's resources are found (boto3 only, no Pulumi state needed): ``appName`` (``slipway:appName``, else the
project's ``<project>:appName``, else the project name) and ``aws:region`` come from ``Pulumi.<stack>.yaml``; the
ECS cluster is the one ACTIVE cluster tagged ``app=<appName>`` and ``stack=<stack>`` (the tags every WebApp and
companion resource carries; ``--cluster`` names one instead); its services are the stack's services (web, worker,
backend). A service's log group, stream prefix and container come from its task definition's ``awslogs``
configuration, its network from the service. ``--service`` accepts the ECS service name or any unique part of it
(``web``, ``worker``). Exit status: 0 success, 1 the operation failed (``run``: the task's exit code), 2 the stack
could not be resolved (no credentials, no cluster, unknown service), with one line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TextIO

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from .drill import DiscoveryError, find_cluster  # the one lookup of a stack's cluster by its app/stack tags
from .offline import StackFileError, find_project, load_config

COMMANDS = ("logs", "status", "exec", "run", "rollback")
SINCE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Day2Error(Exception):
    """The stack, a service or a task could not be resolved (nothing was changed)."""


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    task_definition: str
    container: str
    log_group: str
    stream_prefix: str
    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    assign_public_ip: bool = False
    image: str = ""


@dataclass
class StackTarget:
    stack: str
    app: str
    region: str
    cluster: str
    services: list[ServiceInfo]

    def service(self, wanted: str) -> ServiceInfo:
        """The service named ``wanted`` exactly, else the one whose name contains it."""
        exact = [s for s in self.services if s.name == wanted]
        found = exact or [s for s in self.services if wanted in s.name]
        if len(found) != 1:
            names = ", ".join(s.name for s in self.services) or "none"
            raise Day2Error(
                f"{'no' if not found else len(found)} services of cluster {_short(self.cluster)} match {wanted!r}; "
                f"the stack's services: {names}"
            )
        return found[0]


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def describe_services(ecs: Any, cluster: str) -> list[ServiceInfo]:
    """Every ACTIVE service of the cluster with its task definition's awslogs settings and network."""
    arns: list[str] = []
    for page in ecs.get_paginator("list_services").paginate(cluster=cluster):
        arns += page.get("serviceArns", [])
    out = []
    for start in range(0, len(arns), 10):
        for svc in ecs.describe_services(cluster=cluster, services=arns[start : start + 10])["services"]:
            if svc.get("status") != "ACTIVE":
                continue
            definition = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
            container: dict[str, Any] = next(
                (c for c in definition.get("containerDefinitions", []) if c.get("essential", True)),
                {"name": "app"},
            )
            options = (container.get("logConfiguration") or {}).get("options") or {}
            awsvpc = (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
            out.append(
                ServiceInfo(
                    name=svc["serviceName"],
                    task_definition=svc["taskDefinition"],
                    container=container["name"],
                    log_group=options.get("awslogs-group", ""),
                    stream_prefix=options.get("awslogs-stream-prefix", ""),
                    subnets=list(awsvpc.get("subnets", [])),
                    security_groups=list(awsvpc.get("securityGroups", [])),
                    assign_public_ip=awsvpc.get("assignPublicIp") == "ENABLED",
                    image=container.get("image", ""),
                )
            )
    return sorted(out, key=lambda s: s.name)


def stack_settings(stack: str, root: Path) -> tuple[str, Optional[str], Optional[str]]:
    """(appName, region, profile) from ``Pulumi.<stack>.yaml``."""
    project, config, _ = load_config(stack, root)
    app = config.get("slipway:appName") or config.get(f"{project}:appName") or project
    return app, config.get("aws:region"), config.get("aws:profile") or None


def resolve(args: argparse.Namespace, clients: Callable[[str], Any]) -> StackTarget:
    app, region, _ = stack_settings(args.stack, find_project())
    app = args.app or app
    ecs = clients("ecs")
    cluster = args.cluster or find_cluster(ecs, app, args.stack)
    return StackTarget(
        stack=args.stack,
        app=app,
        region=args.region or region or ecs.meta.region_name,
        cluster=cluster,
        services=describe_services(ecs, cluster),
    )


# -- logs -------------------------------------------------------------------------------------------------------
def parse_since(text: str, now: float) -> int:
    """``10m``/``2h``/``1d``/``30s`` or an ISO 8601 time -> epoch milliseconds."""
    match = SINCE.match(text)
    if match:
        return int((now - int(match[1]) * UNITS[match[2]]) * 1000)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Day2Error(f"--since {text!r}: use 30s, 10m, 2h, 1d or an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def logs(
    target: StackTarget,
    client: Any,
    out: TextIO,
    *,
    service: Optional[str],
    since_ms: int,
    pattern: Optional[str],
    follow: bool,
    sleep: Callable[[float], None] = time.sleep,
    polls: Optional[int] = None,
) -> int:
    """Print log events since ``since_ms`` as ``[source] time message``, then keep polling when ``follow`` (``polls``
    bounds it, for tests). With ``service``: that service's streams (``<stream prefix>/``). Without: every stream of
    the services' log groups, so scheduled jobs and migrations (which share the app's log group) are included; the
    source is the service whose stream prefix the stream starts with, else the prefix itself (``job``, ``migrate``)."""
    sources: list[tuple[str, Optional[str]]]
    if service:
        svc = target.service(service)
        sources = [(svc.log_group, f"{svc.stream_prefix}/")]
    else:
        sources = [(group, None) for group in dict.fromkeys(s.log_group for s in target.services if s.log_group)]
    if not sources:
        raise Day2Error(f"cluster {_short(target.cluster)} has no services logging through awslogs")
    by_prefix = {s.stream_prefix: s.name for s in target.services}
    starts = dict.fromkeys(sources, since_ms)
    seen: set[str] = set()
    rounds = 0
    while True:
        for source in sources:
            group, prefix = source
            request: dict[str, Any] = {"logGroupName": group, "startTime": starts[source]}
            if prefix:
                request["logStreamNamePrefix"] = prefix
            if pattern:
                request["filterPattern"] = pattern
            for page in client.get_paginator("filter_log_events").paginate(**request):
                for event in page.get("events", []):
                    if event["eventId"] in seen:
                        continue
                    seen.add(event["eventId"])
                    head = str(event.get("logStreamName", "")).split("/", 1)[0]
                    label = by_prefix.get(head, head or group)
                    stamp = dt.datetime.fromtimestamp(event["timestamp"] / 1000, dt.UTC)
                    print(f"[{label}] {stamp:%Y-%m-%dT%H:%M:%S}Z {event['message'].rstrip()}", file=out)
                    starts[source] = max(starts[source], event["timestamp"])
        rounds += 1
        if not follow or (polls is not None and rounds >= polls):
            return 0
        sleep(2)


# -- status -----------------------------------------------------------------------------------------------------
def status(target: StackTarget, ecs: Any, cloudwatch: Any, out: TextIO) -> int:
    """Deployments and tasks of every service, the stack's alarms in ALARM, the last migration task."""
    print(f"stack {target.stack} (app {target.app}), cluster {_short(target.cluster)}, {target.region}", file=out)
    names = [s.name for s in target.services]
    healthy = True
    for start in range(0, len(names), 10):
        for svc in ecs.describe_services(cluster=target.cluster, services=names[start : start + 10])["services"]:
            running, desired = svc.get("runningCount", 0), svc.get("desiredCount", 0)
            healthy &= running >= desired
            print(f"  service {svc['serviceName']}: {running}/{desired} tasks running", file=out)
            for deployment in svc.get("deployments", []):
                print(
                    f"    {deployment.get('status', '?'):<8} {deployment.get('rolloutState', '-'):<12} "
                    f"{_short(deployment.get('taskDefinition', ''))}  "
                    f"{deployment.get('runningCount', 0)}/{deployment.get('desiredCount', 0)} running"
                    f"{', ' + str(deployment.get('failedTasks')) + ' failed' if deployment.get('failedTasks') else ''}",
                    file=out,
                )
    prefix = f"{target.app}-{target.stack}"
    alarms = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix, StateValue="ALARM"):
        alarms += page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
    print(f"  alarms in ALARM ({prefix}*): {len(alarms)}", file=out)
    for alarm in alarms:
        print(f"    {alarm['AlarmName']}: {alarm.get('StateReason', '')}", file=out)
    print(f"  last migration: {last_migration(ecs, target)}", file=out)
    return 0 if healthy and not alarms else 1


def last_migration(ecs: Any, target: StackTarget) -> str:
    """The newest stopped task of the ``<app>-<stack>-migrate`` family (ECS keeps stopped tasks about an hour)."""
    family = f"{target.app}-{target.stack}-migrate"
    arns = ecs.list_tasks(cluster=target.cluster, family=family, desiredStatus="STOPPED").get("taskArns", [])
    if not arns:
        return f"none in the last hour (family {family}; ECS forgets stopped tasks after about an hour)"
    tasks = ecs.describe_tasks(cluster=target.cluster, tasks=arns[:100]).get("tasks", [])
    newest = max(tasks, key=lambda t: t.get("stoppedAt") or t.get("createdAt") or dt.datetime.min)
    codes = [c.get("exitCode") for c in newest.get("containers", [])]
    stopped = newest.get("stoppedAt")
    when = stopped.isoformat() if isinstance(stopped, dt.datetime) else "?"
    return f"task {_short(newest['taskArn'])} stopped {when}, exit code {codes[0] if codes else 'none'}"


# -- exec -------------------------------------------------------------------------------------------------------
def running_task(ecs: Any, target: StackTarget, svc: ServiceInfo) -> str:
    arns = ecs.list_tasks(cluster=target.cluster, serviceName=svc.name, desiredStatus="RUNNING").get("taskArns", [])
    if not arns:
        raise Day2Error(f"service {svc.name} has no running task")
    return str(arns[0])


def exec_command(
    target: StackTarget, ecs: Any, out: TextIO, *, service: str, command: str, call: bool, profile: Optional[str]
) -> int:
    """Print the ECS Exec command for a running task of the service, or (``call``) start the session and print how
    the Session Manager plugin attaches to it."""
    svc = target.service(service)
    task = running_task(ecs, target, svc)
    cli = [
        "aws",
        "ecs",
        "execute-command",
        "--region",
        target.region,
        *(["--profile", profile] if profile else []),
        "--cluster",
        _short(target.cluster),
        "--task",
        _short(task),
        "--container",
        svc.container,
        "--interactive",
        "--command",
        command,
    ]
    if not call:
        print(shlex.join(cli), file=out)
        print("(needs the AWS CLI and the Session Manager plugin: session-manager-plugin)", file=out)
        return 0
    session = ecs.execute_command(
        cluster=target.cluster, task=task, container=svc.container, interactive=True, command=command
    )["session"]
    print(f"session {session['sessionId']} started on task {_short(task)} ({svc.container})", file=out)
    print(
        f"attach: session-manager-plugin with stream {session['streamUrl']} (what `{shlex.join(cli)}` does)", file=out
    )
    return 0


# -- run --------------------------------------------------------------------------------------------------------
def run(
    target: StackTarget,
    ecs: Any,
    logs_client: Any,
    err: TextIO,
    *,
    service: str,
    command: Sequence[str],
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """A one-off task with the service's task definition, network and ``command``; returns its exit code."""
    from slipway_aws.ecs_runner import EcsRunError, run_one_off_task

    svc = target.service(service)
    if not svc.subnets:
        raise Day2Error(f"service {svc.name} has no awsvpc subnets to run a task in")
    try:
        result = run_one_off_task(
            cluster=target.cluster,
            task_definition=svc.task_definition,
            container_name=svc.container,
            subnets=svc.subnets,
            security_groups=svc.security_groups,
            assign_public_ip=svc.assign_public_ip,
            log_group=svc.log_group,
            log_stream_prefix=svc.stream_prefix,
            command=list(command),
            region=target.region,
            timeout_s=timeout_s,
            started_by="slipway-run",
            ecs_client=ecs,
            logs_client=logs_client,
            progress=lambda line: print(line, file=err, flush=True),
            sleep=sleep,
        )
    except EcsRunError as exc:
        print(f"error: {exc}", file=err)
        return 1
    print(result.describe(), file=err)
    if result.exit_code is None:
        return 1
    return int(result.exit_code)


# -- rollback ---------------------------------------------------------------------------------------------------
def previous_revision(ecs: Any, task_definition: str) -> tuple[str, str, str]:
    """(current image, previous task definition ARN, its image): the newest earlier revision of the family that ran
    a different image."""
    current = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    image = _image(current)
    family = current["family"]
    arns: list[str] = []
    for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, sort="DESC"):
        arns += page.get("taskDefinitionArns", [])
    for arn in arns:
        if not arn.rsplit(":", 1)[0].endswith(f"/{family}") or int(arn.rsplit(":", 1)[1]) >= current["revision"]:
            continue
        older = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        if _image(older) != image:
            return image, arn, _image(older)
    raise Day2Error(f"no earlier revision of {family} ran another image than {image}: nothing to roll back to")


def _image(definition: dict[str, Any]) -> str:
    containers = definition.get("containerDefinitions", [])
    return str(next((c.get("image", "") for c in containers if c.get("essential", True)), ""))


def rollback(target: StackTarget, ecs: Any, out: TextIO, *, service: Optional[str], dry_run: bool) -> int:
    """Point each service (or ``service``) at its previous image's task definition, then say how to make it stick."""
    chosen = [target.service(service)] if service else target.services
    if not chosen:
        raise Day2Error(f"cluster {_short(target.cluster)} has no services")
    images = set()
    for svc in chosen:
        image, arn, old_image = previous_revision(ecs, svc.task_definition)
        images.add(old_image)
        verb = "would roll back" if dry_run else "rolling back"
        print(f"{verb} {svc.name}: {image} -> {old_image} ({_short(arn)})", file=out)
        if not dry_run:
            ecs.update_service(cluster=target.cluster, service=svc.name, taskDefinition=arn)
    print(
        "\nThis lasts until the next `pulumi up`, which deploys what the program and config say again. To make it "
        "stick, pin the image in the stack's config:",
        file=out,
    )
    for image in sorted(images):
        print(f"  pulumi config set slipway:imageUri '{image}' -s {target.stack}", file=out)
    return 0


# -- command line -----------------------------------------------------------------------------------------------
def add_parsers(sub: Any) -> None:
    """Register ``logs``, ``status``, ``exec``, ``run`` and ``rollback`` on the ``slipway`` subcommands."""

    def common(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(
            name,
            help=help_text,
            description=f"{description}\n\n{_RESOLUTION}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml: appName, region)")
        parser.add_argument("--app", help="the app= tag of the stack's resources (default: appName of the stack)")
        parser.add_argument("--cluster", help="ECS cluster name or ARN (default: the one tagged app=, stack=)")
        parser.add_argument("--region", help="AWS region (default: aws:region of the stack file)")
        parser.add_argument("--profile", help="AWS named profile (default: aws:profile of the stack file)")
        return parser

    logs_p = common(
        "logs",
        "print (and follow) the logs of the stack's services",
        "Print the log events of all the stack's services, or one, from CloudWatch Logs (FilterLogEvents).",
    )
    logs_p.add_argument("--service", help="only this service (name or unique part: web, worker)")
    logs_p.add_argument("--since", default="10m", help="start: 30s, 10m, 2h, 1d or an ISO 8601 time (default 10m)")
    logs_p.add_argument(
        "--filter", dest="pattern", help="CloudWatch Logs filter pattern, e.g. ERROR or '{ $.level = \"ERROR\" }'"
    )
    logs_p.add_argument("--follow", "-f", action="store_true", help="keep printing new events (Ctrl-C stops)")
    common(
        "status",
        "deployments, running/desired tasks, alarms in ALARM and the last migration",
        "Show each service's deployments and running/desired tasks, the stack's alarms in ALARM (names starting "
        "<appName>-<stack>) and the last migration task. Exit 1 when a service is short of tasks or an alarm fires.",
    )
    exec_p = common(
        "exec",
        "a shell in a running task (ECS Exec)",
        "Print the `aws ecs execute-command` line for a running task of the service (the AWS CLI and the Session "
        "Manager plugin run the session), or start the session with --call. The services are created with "
        "execute-command enabled and their task roles carry the SSM channels; sessions are logged to the service's "
        "log group.",
    )
    exec_p.add_argument("--service", required=True, help="service name or unique part")
    exec_p.add_argument(
        "--command", dest="command_line", default="/bin/sh", help="command to run in the container (default /bin/sh)"
    )
    exec_p.add_argument("--call", action="store_true", help="call ExecuteCommand and print the session to attach to")
    run_p = common(
        "run",
        "run a one-off command with a service's task definition; exit with its exit code",
        "Run COMMAND once as a Fargate task with the service's task definition (image, environment, secrets, roles) "
        "and network, wait for it, print its last log lines and exit with its exit code.",
    )
    run_p.add_argument("--service", required=True, help="service name or unique part")
    run_p.add_argument("--timeout", type=float, default=900, help="stop the task after this many seconds (900)")
    run_p.add_argument("task_command", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the command to run")
    rollback_p = common(
        "rollback",
        "redeploy the previous image digest; prints how to make it stick",
        "Point each service (or --service) at the newest earlier revision of its task definition that ran another "
        "image, and print the `pulumi config set slipway:imageUri` that keeps it on the next `pulumi up`.",
    )
    rollback_p.add_argument("--service", help="only this service (default: every service of the stack)")
    rollback_p.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")


_RESOLUTION = (
    "The stack's resources: appName and aws:region from Pulumi.<stack>.yaml; the ECS cluster tagged app=<appName> "
    "and stack=<stack>; its services, and each service's log group, stream prefix, container and network from its "
    "task definition and service. Exit 2 when the stack cannot be resolved (credentials, cluster, service)."
)


def main(
    args: argparse.Namespace,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    clients: Optional[Callable[[str], Any]] = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    try:
        _, region, profile = stack_settings(args.stack, find_project())
    except StackFileError as exc:
        print(f"error: {exc}", file=err)
        return 2
    region, profile = args.region or region, args.profile or profile
    if clients is None:
        from slipway_aws.ecs_runner import aws_client

        def clients(service: str) -> Any:
            return aws_client(service, region, profile)

    made: dict[str, Any] = {}

    def client(name: str) -> Any:
        if name not in made:
            made[name] = clients(name)
        return made[name]

    try:
        target = resolve(args, client)
        if args.command == "logs":
            since = parse_since(args.since, time.time())
            return logs(
                target,
                client("logs"),
                out,
                service=args.service,
                since_ms=since,
                pattern=args.pattern,
                follow=args.follow,
                sleep=sleep,
            )
        if args.command == "status":
            return status(target, client("ecs"), client("cloudwatch"), out)
        if args.command == "exec":
            return exec_command(
                target,
                client("ecs"),
                out,
                service=args.service,
                command=args.command_line,
                call=args.call,
                profile=profile,
            )
        if args.command == "run":
            command = [c for c in args.task_command if c != "--"] if args.task_command else []
            if not command:
                raise Day2Error("give the command after --, e.g. slipway run --stack dev --service web -- app check")
            return run(
                target,
                client("ecs"),
                client("logs"),
                err,
                service=args.service,
                command=command,
                timeout_s=args.timeout,
                sleep=sleep,
            )
        return rollback(target, client("ecs"), out, service=args.service, dry_run=args.dry_run)
    except NoCredentialsError:
        print(
            "error: no AWS credentials found: set AWS_PROFILE (or --profile / aws:profile in the stack file), "
            "environment credentials, or run `aws sso login`",
            file=err,
        )
        return 2
    except (Day2Error, DiscoveryError, StackFileError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    except KeyboardInterrupt:
        return 130
