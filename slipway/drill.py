"""``python -m slipway drill --stack prod``: prove the database backups restore, then delete what the proof created.

Steps (boto3 only, no Pulumi):

1. Find the stack's pieces (:func:`discover`): the RDS instance ``<appName>-<stack>-db``, the ECS cluster tagged
   ``app=<appName>`` and ``stack=<stack>``, the network of that cluster's service (its subnets and security groups,
   which include the database's client group), and the migration task definition ``<appName>-<stack>-migrate``
   (the app's image, environment and secrets). ``--db-instance``, ``--cluster`` and ``--task-definition`` override
   each; ``appName`` and the region come from ``Pulumi.<stack>.yaml``.
2. Restore the instance's latest restorable time to a temporary instance ``<instance>-drill-<UTC minute>`` in the
   instance's own subnet group, security groups and parameter group: Single-AZ, no deletion protection, no log
   exports, tagged ``slipway:drill-run=<run id>``.
3. Wait until it is available; the restore duration is measured from the restore call to that moment.
4. Run the app's read-only check (``app check --database``) as a one-off ECS task with ``DB_HOST``/``DB_PORT``
   pointing at the temporary instance (:func:`components.ecs_runner.run_one_off_task`).
5. Always (``finally``, also after a failure or Ctrl-C): delete the temporary instance without a final snapshot
   and with its automated backups, and wait until it is gone. Only an instance that carries this run's tag is ever
   deleted, so a name clash can never delete someone else's instance.

``--from vault`` restores the newest completed recovery point of the instance in the stack's AWS Backup vault
(``<appName>-<stack>-backup``, ``components/backup_vault.py``) instead of the latest restorable time: the copy no one
can delete is proven restorable too (RDS restores it as the snapshot it is, by ARN). The RPO is then now minus that
recovery point's creation time.

The report gives the achieved RPO (now minus the source's latest restorable time when the drill started) and the
restore duration. Exit status: 0 the drill passed and everything was deleted; 1 a step failed or the cleanup did
not finish (the report says what to delete by hand); 2 the stack's pieces could not be found (nothing created).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Optional, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from slipway_aws.ecs_runner import EcsRunError, TaskResult, aws_client, run_one_off_task

from .offline import StackFileError, load_config

DRILL_TAG = "slipway:drill-run"
CHECK_COMMAND = ("app", "check", "--database")


class DiscoveryError(Exception):
    """A piece of the stack was not found (nothing has been created yet)."""


class DrillError(Exception):
    """A drill step failed."""


@dataclass(frozen=True)
class Targets:
    """What the drill restores and where it runs the check."""

    region: str
    db_instance: str
    cluster: str
    task_definition: str
    container: str
    subnets: list[str]
    security_groups: list[str]
    assign_public_ip: bool
    log_group: str
    log_stream_prefix: str
    backup_vault: str = ""


@dataclass
class Report:
    """The drill's outcome; ``to_json()`` is what ``--json`` prints."""

    stack: str
    source_instance: str
    temp_instance: str = ""
    run_id: str = ""
    started_at: str = ""
    latest_restorable_time: str = ""
    recovery_point: str = ""
    rpo_seconds: Optional[float] = None
    restore_seconds: Optional[float] = None
    check_seconds: Optional[float] = None
    check_exit_code: Optional[int] = None
    total_seconds: Optional[float] = None
    passed: bool = False
    error: str = ""
    cleanup: list[str] = field(default_factory=list)
    cleanup_failed: bool = False

    @property
    def ok(self) -> bool:
        return self.passed and not self.cleanup_failed

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def render_text(self) -> str:
        def secs(value: Optional[float]) -> str:
            return "-" if value is None else f"{value:.0f} s"

        lines = [
            f"restore drill, stack {self.stack}: {'PASSED' if self.ok else 'FAILED'}",
            f"  source instance        {self.source_instance}",
            f"  temporary instance     {self.temp_instance or '-'}",
            f"  latest restorable time {self.latest_restorable_time or '-'}",
            *([f"  vault recovery point   {self.recovery_point}"] if self.recovery_point else []),
            f"  achieved RPO           {secs(self.rpo_seconds)}",
            f"  restore duration       {secs(self.restore_seconds)}",
            f"  app check              {secs(self.check_seconds)}, exit code {self.check_exit_code}",
            f"  total                  {secs(self.total_seconds)}",
        ]
        if self.error:
            lines.append(f"  error: {self.error}")
        lines += [f"  cleanup: {line}" for line in self.cleanup]
        return "\n".join(lines)


# -- discovery ------------------------------------------------------------------------------------------------
def _tags(items: Optional[list[dict[str, str]]]) -> dict[str, str]:
    return {t.get("key", t.get("Key", "")): t.get("value", t.get("Value", "")) for t in items or []}


def find_cluster(ecs: Any, app: str, stack: str) -> str:
    """The ARN of the one ECS cluster tagged ``app=<app>`` and ``stack=<stack>``."""
    arns: list[str] = []
    for page in ecs.get_paginator("list_clusters").paginate():
        arns += page.get("clusterArns", [])
    found = []
    for start in range(0, len(arns), 100):
        for cluster in ecs.describe_clusters(clusters=arns[start : start + 100], include=["TAGS"])["clusters"]:
            tags = _tags(cluster.get("tags"))
            if tags.get("app") == app and tags.get("stack") == stack and cluster.get("status") == "ACTIVE":
                found.append(cluster["clusterArn"])
    if len(found) != 1:
        raise DiscoveryError(
            f"{len(found)} ACTIVE ECS clusters are tagged app={app}, stack={stack}"
            f"{': ' + ', '.join(found) if found else ''}; name one with --cluster"
        )
    return found[0]


def service_network(ecs: Any, cluster: str) -> dict[str, Any]:
    """The awsvpc configuration of the cluster's service (its subnets and security groups reach the database)."""
    arns = ecs.list_services(cluster=cluster).get("serviceArns", [])
    services = ecs.describe_services(cluster=cluster, services=arns[:10])["services"] if arns else []
    for service in services:
        awsvpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration")
        if service.get("status") == "ACTIVE" and awsvpc and awsvpc.get("subnets"):
            return dict(awsvpc)
    raise DiscoveryError(f"no ACTIVE awsvpc service in cluster {cluster}: cannot tell the task's subnets and groups")


def discover(
    stack: str,
    ecs: Any,
    db_instance: Optional[str] = None,
    cluster: Optional[str] = None,
    task_definition: Optional[str] = None,
    config: Optional[Mapping[str, str]] = None,
) -> Targets:
    """Resolve the drill's targets from the stack file, AWS tags and the overrides."""
    if config is None:
        try:
            config = load_config(stack)[1]
        except StackFileError as exc:
            raise DiscoveryError(str(exc)) from None
    app = config.get("slipway:appName", "slipway")
    prefix = f"{app}-{stack}"
    region = config.get("aws:region") or ecs.meta.region_name
    try:
        cluster_arn = cluster or find_cluster(ecs, app, stack)
        network = service_network(ecs, cluster_arn)
        family = task_definition or f"{prefix}-migrate"
        definition = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    except ClientError as exc:
        raise DiscoveryError(f"cannot read the stack's ECS resources: {exc}") from None
    containers = definition.get("containerDefinitions") or []
    container = next((c for c in containers if c.get("essential", True)), None)
    if container is None:
        raise DiscoveryError(f"task definition {family} has no essential container")
    options = (container.get("logConfiguration") or {}).get("options") or {}
    if "awslogs-group" not in options:
        raise DiscoveryError(f"container {container['name']} of {family} does not log through awslogs")
    return Targets(
        region=region,
        db_instance=db_instance or f"{prefix}-db",
        cluster=cluster_arn,
        task_definition=definition["taskDefinitionArn"],
        container=container["name"],
        subnets=list(network["subnets"]),
        security_groups=list(network.get("securityGroups", [])),
        assign_public_ip=network.get("assignPublicIp") == "ENABLED",
        log_group=options["awslogs-group"],
        log_stream_prefix=options.get("awslogs-stream-prefix", "ecs"),
        backup_vault=f"{prefix}-backup",
    )


# -- the drill ------------------------------------------------------------------------------------------------
def latest_recovery_point(backup: Any, vault: str, resource_arn: str) -> dict[str, Any]:
    """The newest COMPLETED recovery point of ``resource_arn`` in ``vault`` (all pages); DrillError when none."""
    points: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"BackupVaultName": vault, "ByResourceArn": resource_arn}
    while True:
        page = backup.list_recovery_points_by_backup_vault(**kwargs)
        points += [p for p in page.get("RecoveryPoints", []) if p.get("Status") == "COMPLETED"]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    if not points:
        raise DrillError(f"vault {vault} holds no completed recovery point of {resource_arn}")
    return max(points, key=lambda p: p["CreationDate"])


def temp_identifier(source: str, now: dt.datetime) -> str:
    """``<source>-drill-<YYYYmmddHHMM>``, at most 63 characters (the source is shortened, never the stamp)."""
    stamp = f"-drill-{now:%Y%m%d%H%M}"
    return source[: 63 - len(stamp)].rstrip("-") + stamp


def _describe(rds: Any, identifier: str) -> Optional[dict[str, Any]]:
    try:
        return dict(rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "DBInstanceNotFound":
            return None
        raise


def _wait(
    what: str,
    done: Callable[[], bool],
    timeout_s: float,
    poll_s: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> float:
    started = clock()
    while not done():
        if clock() - started >= timeout_s:
            raise DrillError(f"{what}: not done after {timeout_s:.0f}s")
        sleep(poll_s)
    return clock() - started


def run_drill(
    stack: str,
    targets: Targets,
    *,
    rds: Any,
    ecs: Any,
    logs: Any,
    restore_timeout_s: float = 3600,
    delete_timeout_s: float = 1800,
    check_timeout_s: float = 600,
    poll_s: float = 30,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    sleep: Optional[Callable[[float], None]] = None,
    clock: Optional[Callable[[], float]] = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    run_task: Optional[Callable[..., TaskResult]] = None,
    check_command: Sequence[str] = CHECK_COMMAND,
    backup: Optional[Any] = None,
) -> Report:
    """Restore, check, clean up; never raises for a failed step (see the report), re-raises KeyboardInterrupt.

    ``sleep``, ``clock`` and ``run_task`` default to ``time.sleep``, ``time.monotonic`` and
    :func:`components.ecs_runner.run_one_off_task`, looked up at call time. With ``backup`` (an AWS Backup client)
    the restore starts from the newest recovery point in ``targets.backup_vault`` instead of the latest time."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    run_task = run_task or run_one_off_task
    started, started_at = clock(), now()
    report = Report(stack=stack, source_instance=targets.db_instance, run_id=uuid.uuid4().hex[:12])
    report.started_at = f"{started_at:%Y-%m-%dT%H:%M:%SZ}"
    temp = temp_identifier(targets.db_instance, started_at)
    restore_called = False
    try:
        source = _describe(rds, targets.db_instance)
        if source is None:
            raise DrillError(f"source instance {targets.db_instance} not found in {targets.region}")
        placement = {
            "DBInstanceClass": source["DBInstanceClass"],
            "DBSubnetGroupName": source["DBSubnetGroup"]["DBSubnetGroupName"],
            "VpcSecurityGroupIds": [g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups", [])],
            "DBParameterGroupName": source["DBParameterGroups"][0]["DBParameterGroupName"],
            "MultiAZ": False,
            "PubliclyAccessible": False,
            "DeletionProtection": False,
            "CopyTagsToSnapshot": False,
            "AutoMinorVersionUpgrade": False,
            "Tags": [{"Key": DRILL_TAG, "Value": report.run_id}, {"Key": "stack", "Value": stack}],
        }
        report.temp_instance = temp
        if backup is not None:
            point = latest_recovery_point(backup, targets.backup_vault, source["DBInstanceArn"])
            created = point["CreationDate"]
            report.recovery_point = point["RecoveryPointArn"]
            report.rpo_seconds = round(max(0.0, (started_at - created).total_seconds()), 1)
            progress(f"restoring recovery point {report.recovery_point} ({created:%Y-%m-%dT%H:%M:%SZ}) to {temp}")
            restore_started = clock()
            restore_called = True
            rds.restore_db_instance_from_db_snapshot(
                DBInstanceIdentifier=temp, DBSnapshotIdentifier=report.recovery_point, **placement
            )
        else:
            latest = source.get("LatestRestorableTime")
            if latest is None:
                raise DrillError(f"{targets.db_instance} has no latest restorable time: are automated backups on?")
            report.latest_restorable_time = f"{latest:%Y-%m-%dT%H:%M:%SZ}"
            report.rpo_seconds = round(max(0.0, (started_at - latest).total_seconds()), 1)
            progress(f"restoring {targets.db_instance} at {report.latest_restorable_time} (latest) to {temp}")
            restore_started = clock()
            restore_called = True
            rds.restore_db_instance_to_point_in_time(
                SourceDBInstanceIdentifier=targets.db_instance,
                TargetDBInstanceIdentifier=temp,
                UseLatestRestorableTime=True,
                **placement,
            )
        restored: dict[str, Any] = {}

        def available() -> bool:
            restored.update(_describe(rds, temp) or {})
            return restored.get("DBInstanceStatus") == "available"

        _wait(f"restore of {temp}", available, restore_timeout_s, poll_s, sleep, clock)
        report.restore_seconds = round(clock() - restore_started, 1)
        endpoint = restored["Endpoint"]
        progress(f"{temp} available after {report.restore_seconds:.0f}s at {endpoint['Address']}")
        result = run_task(
            cluster=targets.cluster,
            task_definition=targets.task_definition,
            container_name=targets.container,
            subnets=targets.subnets,
            security_groups=targets.security_groups,
            assign_public_ip=targets.assign_public_ip,
            log_group=targets.log_group,
            log_stream_prefix=targets.log_stream_prefix,
            command=list(check_command),
            environment={"DB_HOST": str(endpoint["Address"]), "DB_PORT": str(endpoint.get("Port", 5432))},
            region=targets.region,
            timeout_s=check_timeout_s,
            started_by=f"slipway-drill-{report.run_id}",
            ecs_client=ecs,
            logs_client=logs,
            progress=progress,
            sleep=sleep,
            clock=clock,
        )
        report.check_exit_code, report.check_seconds = result.exit_code, round(result.duration_s, 1)
        result.raise_for_failure()
        report.passed = True
    except (DrillError, EcsRunError, ClientError, BotoCoreError, KeyError, IndexError) as exc:
        report.error = f"{type(exc).__name__}: {exc}"
    finally:
        if restore_called:
            _cleanup(report, rds, temp, delete_timeout_s, poll_s, sleep, clock, progress)
        report.total_seconds = round(clock() - started, 1)
    return report


def _cleanup(
    report: Report,
    rds: Any,
    temp: str,
    timeout_s: float,
    poll_s: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    progress: Callable[[str], None],
) -> None:
    by_hand = (
        f"delete it by hand: aws rds delete-db-instance --db-instance-identifier {temp} "
        f"--skip-final-snapshot --delete-automated-backups"
    )
    try:
        instance = _describe(rds, temp)
        if instance is None:
            report.cleanup.append(f"{temp}: never created, nothing to delete")
            return
        tags = _tags(instance.get("TagList")) or _tags(
            rds.list_tags_for_resource(ResourceName=instance["DBInstanceArn"]).get("TagList")
        )
        if tags.get(DRILL_TAG) != report.run_id:
            report.cleanup.append(f"{temp}: exists but was not created by this run (tag {DRILL_TAG}); left alone")
            return
        if instance.get("DeletionProtection"):  # requested off; an account or tool default may have turned it on
            rds.modify_db_instance(DBInstanceIdentifier=temp, DeletionProtection=False, ApplyImmediately=True)
        if instance.get("DBInstanceStatus") != "deleting":
            rds.delete_db_instance(DBInstanceIdentifier=temp, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
        progress(f"deleting {temp}")
        seconds = _wait(f"deletion of {temp}", lambda: _describe(rds, temp) is None, timeout_s, poll_s, sleep, clock)
        report.cleanup.append(f"{temp}: deleted (no final snapshot, automated backups deleted) in {seconds:.0f}s")
    except (DrillError, ClientError, BotoCoreError, KeyError) as exc:
        report.cleanup_failed = True
        report.cleanup.append(f"{temp}: cleanup FAILED ({type(exc).__name__}: {exc}); {by_hand}")


# -- command line ---------------------------------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    """Register ``drill`` on the ``python -m slipway`` subcommands."""
    drill = sub.add_parser(
        "drill",
        help="restore the stack's database to a temporary instance, run `app check --database` against it, delete it",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    drill.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml for appName and region)")
    drill.add_argument("--db-instance", help="source RDS instance (default <appName>-<stack>-db)")
    drill.add_argument("--cluster", help="ECS cluster to run the check in (default: the one tagged app/stack)")
    drill.add_argument(
        "--task-definition",
        help="task definition whose container runs `app check` (default family <appName>-<stack>-migrate)",
    )
    drill.add_argument("--region", help="AWS region (default aws:region of the stack file)")
    drill.add_argument("--profile", help="AWS named profile (default aws:profile of the stack file, if any)")
    drill.add_argument("--json", action="store_true", help="print the report as JSON")
    drill.add_argument(
        "--from",
        dest="source",
        choices=("pitr", "vault"),
        default="pitr",
        help="restore the latest restorable time (pitr, default) or the newest recovery point in the stack's AWS "
        "Backup vault (vault)",
    )
    drill.add_argument(
        "--check-command",
        default=" ".join(CHECK_COMMAND),
        metavar="COMMAND",
        help=(
            "the container command run against the restored instance (default `app check --database`: read-only, "
            "fails unless the copy is reachable and at the migrations' head)"
        ),
    )
    drill.add_argument(
        "--restore-timeout",
        type=float,
        default=3600,
        metavar="SECONDS",
        help="give up waiting for the restore after this long (default 3600)",
    )


def _app_name(stack: str, config: Mapping[str, str]) -> Mapping[str, str]:
    """``slipway:appName`` from the stack file, else the name of the program's one ``WebApp`` (a reusing team's
    ``WebApp("shop", ...)`` names its resources ``shop-<stack>-*``), read from the offline plan of the project."""
    if config.get("slipway:appName"):
        return config
    from .offline import run_stack

    apps = sorted({r.name for r in run_stack(stack).resources if r.type == "slipway:aws:WebApp"})
    return {**config, "slipway:appName": apps[0]} if len(apps) == 1 else config


def main(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """``drill`` subcommand; the project is the nearest ``Pulumi.yaml`` from the current directory (``--cwd`` is
    applied by the caller)."""
    from slipway_aws.config import ConfigError
    from slipway_aws.validation import ArgsError

    try:
        config = _app_name(args.stack, load_config(args.stack)[1])
    except (StackFileError, ConfigError, ArgsError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    region = args.region or config.get("aws:region")
    profile = args.profile or config.get("aws:profile") or None
    try:
        rds, ecs, logs = (aws_client(s, region, profile) for s in ("rds", "ecs", "logs"))
        targets = discover(
            args.stack,
            ecs,
            db_instance=args.db_instance,
            cluster=args.cluster,
            task_definition=args.task_definition,
            config={**config, **({"aws:region": region} if region else {})},
        )
    except (DiscoveryError, ClientError, BotoCoreError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    report = run_drill(
        args.stack,
        targets,
        rds=rds,
        ecs=ecs,
        logs=logs,
        restore_timeout_s=args.restore_timeout,
        check_command=shlex.split(args.check_command),
        backup=aws_client("backup", region, profile) if getattr(args, "source", "pitr") == "vault" else None,
        progress=lambda line: print(line, file=err, flush=True),
    )
    if args.json:
        json.dump(report.to_json(), out, indent=2)
        out.write("\n")
    else:
        print(report.render_text(), file=out)
    return 0 if report.ok else 1
