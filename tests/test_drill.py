"""The restore drill against moto's RDS, ECS, EC2 and CloudWatch Logs.

moto restores a point in time instantly (the instance is ``available`` at once), reports the latest restorable
time as "now" and deletes instantly; it never leaves an instance ``creating`` nor refuses a delete, so those cases
wrap the moto client and override one call (``Flaky``). ECS tasks move one state per ``describe_tasks`` call to
STOPPED with exit code 0 (``manual`` progression, as in tests/test_ecs_runner.py); a failing ``app check`` is
produced by replacing the task runner with one returning a non-zero exit.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends
from moto.moto_api import state_manager

from slipway import drill, offline, plan
from slipway.drill import DRILL_TAG, Report, Targets, discover, run_drill, temp_identifier
from slipway_aws.ecs_runner import TaskResult, TaskStartError
from tests.conftest import _graph

REGION = "us-east-1"  # Pulumi.prod.yaml's region
SOURCE = "slipway-prod-db"
FAMILY = "slipway-prod-migrate"
GROUP = "/slipway/prod/app"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Flaky:
    """A boto3 client with some calls replaced (what moto cannot produce); everything else goes to moto."""

    def __init__(self, client: Any, **calls: Callable[..., Any]) -> None:
        self._client, self._calls = client, calls

    def __getattr__(self, name: str) -> Any:
        return self._calls.get(name) or getattr(self._client, name)


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (test)"}}, operation)


@pytest.fixture(autouse=True)
def _session_graphs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI finds the program's WebApp name from the stack's offline plan (``drill._app_name``): the same graph
    every test of the session already has (tests/conftest.py), not a new run per command."""
    real = offline.run_stack

    def run_stack(stack: str, **kwargs: Any) -> Any:
        return _graph(stack) if not kwargs else real(stack, **kwargs)

    monkeypatch.setattr(offline, "run_stack", run_stack)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 1})
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as Network sets it
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"][
                "SubnetId"
            ]
            for i, z in ((1, "a"), (2, "b"))
        ]
        db_sg, client_sg, task_sg = (
            ec2.create_security_group(GroupName=n, Description=n, VpcId=vpc)["GroupId"]
            for n in ("db", "db-client", "web-task")
        )
        rds = boto3.client("rds", region_name=REGION)
        rds.create_db_subnet_group(
            DBSubnetGroupName="slipway-prod-db-subnets",
            DBSubnetGroupDescription="private",
            SubnetIds=subnets,
        )
        rds.create_db_parameter_group(
            DBParameterGroupName="slipway-prod-db-params",
            DBParameterGroupFamily="postgres17",
            Description="tls",
        )
        rds.create_db_instance(
            DBInstanceIdentifier=SOURCE,
            Engine="postgres",
            EngineVersion="17.4",
            DBInstanceClass="db.t4g.medium",
            AllocatedStorage=50,
            MasterUsername="app",
            MasterUserPassword="secret-password",
            DBName="app",
            DBSubnetGroupName="slipway-prod-db-subnets",
            VpcSecurityGroupIds=[db_sg],
            DBParameterGroupName="slipway-prod-db-params",
            BackupRetentionPeriod=14,
            MultiAZ=True,
            DeletionProtection=True,
            StorageEncrypted=True,
        )
        ecs = boto3.client("ecs", region_name=REGION)
        ecs.create_cluster(clusterName="slipway-dev-1111111", tags=[{"key": "app", "value": "slipway"}])
        cluster = ecs.create_cluster(
            clusterName="slipway-prod-2222222",
            tags=[{"key": "app", "value": "slipway"}, {"key": "stack", "value": "prod"}],
        )["cluster"]["clusterArn"]
        ecs.register_task_definition(
            family=FAMILY,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": "migrate",
                    "image": "repo@sha256:" + "a" * 64,
                    "memory": 512,
                    "essential": True,
                    "command": ["app", "migrate"],
                    "environment": [{"name": "DB_HOST", "value": f"{SOURCE}.example"}],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": GROUP,
                            "awslogs-region": REGION,
                            "awslogs-stream-prefix": "migrate",
                        },
                    },
                }
            ],
        )
        ecs.create_service(
            cluster=cluster,
            serviceName="slipway-prod-web-3333333",
            taskDefinition=FAMILY,
            desiredCount=0,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": subnets,
                    "securityGroups": [task_sg, client_sg],
                    "assignPublicIp": "DISABLED",
                }
            },
        )
        logs = boto3.client("logs", region_name=REGION)
        logs.create_log_group(logGroupName=GROUP)
        yield {
            "rds": rds,
            "ecs": ecs,
            "logs": logs,
            "cluster": cluster,
            "subnets": subnets,
            "db_sg": db_sg,
            "client_sg": client_sg,
            "task_sg": task_sg,
        }
        state_manager.unset_transition("ecs::task")


def targets(aws: dict[str, Any]) -> Targets:
    return discover("prod", aws["ecs"])


def drill_with(aws: dict[str, Any], **kwargs: Any) -> Report:
    fake = FakeTime()
    options: dict[str, Any] = dict(
        rds=aws["rds"],
        ecs=aws["ecs"],
        logs=aws["logs"],
        poll_s=5,
        sleep=fake.sleep,
        clock=fake.clock,
        progress=lambda _line: None,
    )
    options.update(kwargs)
    return run_drill("prod", targets(aws), **options)


def instances(aws: dict[str, Any]) -> set[str]:
    return {i["DBInstanceIdentifier"] for i in aws["rds"].describe_db_instances()["DBInstances"]}


def test_discovery_reads_the_stack_file_tags_and_the_service_network(aws: dict[str, Any]) -> None:
    found = targets(aws)
    assert found.db_instance == SOURCE and found.cluster == aws["cluster"] and found.region == REGION
    assert found.task_definition.endswith(f"task-definition/{FAMILY}:1") and found.container == "migrate"
    assert found.subnets == aws["subnets"] and found.security_groups == [aws["task_sg"], aws["client_sg"]]
    assert not found.assign_public_ip
    assert (found.log_group, found.log_stream_prefix) == (GROUP, "migrate")
    overridden = discover("prod", aws["ecs"], db_instance="other-db", cluster=aws["cluster"])
    assert overridden.db_instance == "other-db"


def test_discovery_refuses_an_ambiguous_or_missing_cluster(aws: dict[str, Any]) -> None:
    aws["ecs"].create_cluster(
        clusterName="slipway-prod-4444444",
        tags=[{"key": "app", "value": "slipway"}, {"key": "stack", "value": "prod"}],
    )
    with pytest.raises(drill.DiscoveryError, match="2 ACTIVE ECS clusters.*--cluster"):
        targets(aws)
    with pytest.raises(drill.DiscoveryError, match="0 ACTIVE ECS clusters"):
        discover("staging", aws["ecs"], config={"slipway:appName": "slipway"})


def test_success_restores_checks_reports_and_deletes_the_temporary_instance(aws: dict[str, Any]) -> None:
    report = drill_with(aws)
    assert report.ok and report.passed and not report.error, report.render_text()
    assert report.temp_instance.startswith(f"{SOURCE}-drill-") and report.check_exit_code == 0
    assert report.rpo_seconds is not None and 0 <= report.rpo_seconds < 60  # moto: latest restorable = now
    assert report.restore_seconds == 0 and report.check_seconds is not None and report.check_seconds > 0
    assert report.cleanup == [f"{report.temp_instance}: deleted (no final snapshot, automated backups deleted) in 0s"]
    assert instances(aws) == {SOURCE}, "only the source is left"
    # the check ran the app's read-only command against the temporary instance, in the service's network
    backend = ecs_backends[DEFAULT_ACCOUNT_ID][REGION].tasks
    (task,) = [t for tasks in backend.values() for t in tasks.values()]
    (override,) = task.overrides["containerOverrides"]
    assert override["command"] == ["app", "check", "--database"]
    env = {e["name"]: e["value"] for e in override["environment"]}
    assert env["DB_HOST"].startswith(report.temp_instance) and env["DB_PORT"] == "5432"
    assert task.network_configuration["awsvpcConfiguration"]["securityGroups"] == [aws["task_sg"], aws["client_sg"]]
    assert task.started_by == f"slipway-drill-{report.run_id}"
    source = aws["rds"].describe_db_instances(DBInstanceIdentifier=SOURCE)["DBInstances"][0]
    assert source["DeletionProtection"] is True and source["DBInstanceStatus"] == "available", "source untouched"


def test_the_temporary_instance_copies_the_sources_network_and_is_disposable(aws: dict[str, Any]) -> None:
    """What the drill asks RDS for (moto drops falsy overrides such as MultiAZ=False, so the request is checked)."""
    requested: dict[str, Any] = {}

    def restore(**kwargs: Any) -> Any:
        requested.update(kwargs)
        return aws["rds"].restore_db_instance_to_point_in_time(**kwargs)

    assert drill_with(aws, rds=Flaky(aws["rds"], restore_db_instance_to_point_in_time=restore)).ok
    assert requested["SourceDBInstanceIdentifier"] == SOURCE and requested["UseLatestRestorableTime"] is True
    assert requested["DBSubnetGroupName"] == "slipway-prod-db-subnets"
    assert requested["VpcSecurityGroupIds"] == [aws["db_sg"]]
    assert requested["DBParameterGroupName"] == "slipway-prod-db-params"
    assert requested["DBInstanceClass"] == "db.t4g.medium"
    assert requested["DeletionProtection"] is False and requested["MultiAZ"] is False
    assert requested["PubliclyAccessible"] is False and "EnableCloudwatchLogsExports" not in requested
    assert {"Key": "stack", "Value": "prod"} in requested["Tags"]
    assert any(t["Key"] == DRILL_TAG for t in requested["Tags"])


def test_restore_refused_creates_and_deletes_nothing(aws: dict[str, Any]) -> None:
    def refuse(**_kwargs: Any) -> Any:
        raise client_error("StorageQuotaExceeded", "RestoreDBInstanceToPointInTime")

    report = drill_with(aws, rds=Flaky(aws["rds"], restore_db_instance_to_point_in_time=refuse))
    assert not report.ok and "StorageQuotaExceeded" in report.error
    assert report.cleanup == [f"{report.temp_instance}: never created, nothing to delete"]
    assert instances(aws) == {SOURCE}


def test_restore_that_never_becomes_available_is_deleted(aws: dict[str, Any]) -> None:
    real = aws["rds"].describe_db_instances
    deleted: list[str] = []

    def creating(**kwargs: Any) -> Any:
        answer = real(**kwargs)
        for db in answer["DBInstances"]:
            if db["DBInstanceIdentifier"] != SOURCE and not deleted:
                db["DBInstanceStatus"] = "creating"
        return answer

    def delete(**kwargs: Any) -> Any:
        deleted.append(kwargs["DBInstanceIdentifier"])
        assert kwargs["SkipFinalSnapshot"] is True and kwargs["DeleteAutomatedBackups"] is True
        return aws["rds"].delete_db_instance(**kwargs)

    rds = Flaky(aws["rds"], describe_db_instances=creating, delete_db_instance=delete)
    report = drill_with(aws, rds=rds, restore_timeout_s=60)
    assert not report.ok and "not done after 60s" in report.error and report.check_exit_code is None
    assert deleted == [report.temp_instance] and instances(aws) == {SOURCE}


@pytest.mark.parametrize(
    "outcome",
    [
        TaskResult(task_arn="arn:aws:ecs:us-east-1:123456789012:task/c/t", exit_code=2, stop_reason="Essential"),
        TaskStartError("ECS did not start slipway-prod-migrate: RESOURCE:ENI"),
    ],
    ids=["check-exits-non-zero", "task-not-started"],
)
def test_failed_check_still_deletes_the_temporary_instance(aws: dict[str, Any], outcome: Any) -> None:
    def check(**_kwargs: Any) -> TaskResult:
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    report = drill_with(aws, run_task=check)
    assert not report.ok and ("exit code: 2" in report.error or "RESOURCE:ENI" in report.error)
    assert report.restore_seconds is not None and "deleted" in report.cleanup[0]
    assert instances(aws) == {SOURCE}


def test_interrupt_during_the_check_still_deletes_and_is_re_raised(aws: dict[str, Any]) -> None:
    def interrupted(**_kwargs: Any) -> TaskResult:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        drill_with(aws, run_task=interrupted)
    assert instances(aws) == {SOURCE}


def test_a_failed_cleanup_fails_the_drill_and_says_what_to_delete(aws: dict[str, Any]) -> None:
    def refuse(**_kwargs: Any) -> Any:
        raise client_error("InvalidDBInstanceState", "DeleteDBInstance")

    report = drill_with(aws, rds=Flaky(aws["rds"], delete_db_instance=refuse))
    assert report.passed and not report.ok and report.cleanup_failed
    assert f"aws rds delete-db-instance --db-instance-identifier {report.temp_instance}" in report.cleanup[0]
    assert "FAILED" in report.render_text()


def test_an_existing_instance_with_the_temporary_name_is_never_deleted(aws: dict[str, Any]) -> None:
    fake = FakeTime()
    stamp = drill.dt.datetime(2026, 11, 30, 12, 0, tzinfo=drill.dt.UTC)
    clash = temp_identifier(SOURCE, stamp)
    aws["rds"].create_db_instance(
        DBInstanceIdentifier=clash,
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20,
        MasterUsername="app",
        MasterUserPassword="secret-password",
    )
    report = run_drill(
        "prod",
        targets(aws),
        rds=aws["rds"],
        ecs=aws["ecs"],
        logs=aws["logs"],
        sleep=fake.sleep,
        clock=fake.clock,
        now=lambda: stamp,
        progress=lambda _line: None,
    )
    assert not report.ok and "AlreadyExists" in report.error
    assert "not created by this run" in report.cleanup[0]
    assert instances(aws) == {SOURCE, clash}


def test_missing_source_instance_fails_before_creating_anything(aws: dict[str, Any]) -> None:
    found = discover("prod", aws["ecs"], db_instance="nope-db")
    report = run_drill("prod", found, rds=aws["rds"], ecs=aws["ecs"], logs=aws["logs"], progress=lambda _l: None)
    assert not report.ok and "nope-db not found" in report.error and report.cleanup == []


def test_temporary_identifier_fits_rds_limits() -> None:
    stamp = drill.dt.datetime(2026, 11, 30, 12, 5, tzinfo=drill.dt.UTC)
    assert temp_identifier("slipway-prod-db", stamp) == "slipway-prod-db-drill-202611301205"
    long = temp_identifier("a" * 60, stamp)
    assert len(long) == 63 and long.endswith("-drill-202611301205")


def test_cli_runs_the_drill_and_prints_json(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTime()
    monkeypatch.setattr(drill.time, "sleep", fake.sleep)
    out, err = io.StringIO(), io.StringIO()
    assert plan.main(["drill", "--stack", "prod", "--json"], out=out, err=err) == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    assert doc["ok"] is True and doc["source_instance"] == SOURCE and doc["check_exit_code"] == 0
    assert {"rpo_seconds", "restore_seconds", "latest_restorable_time", "cleanup"} <= set(doc)
    assert "restoring slipway-prod-db" in err.getvalue()


def test_cli_check_command_override(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    commands: list[list[str]] = []

    def check(**kwargs: Any) -> TaskResult:
        commands.append(kwargs["command"])
        return TaskResult(task_arn="arn:aws:ecs:us-east-1:123456789012:task/c/t", exit_code=0, stop_reason="")

    monkeypatch.setattr(drill, "run_one_off_task", check)
    argv = ["drill", "--stack", "prod", "--check-command", "app migrate"]
    assert plan.main(argv, out=io.StringIO(), err=io.StringIO()) == 0
    assert commands == [["app", "migrate"]]
    assert instances(aws) == {SOURCE}


def test_cli_exit_2_when_the_stack_cannot_be_found(aws: dict[str, Any]) -> None:
    err = io.StringIO()
    assert plan.main(["drill", "--stack", "nosuchstack"], out=io.StringIO(), err=err) == 2
    assert "no stack file" in err.getvalue()
    err = io.StringIO()
    assert plan.main(["drill", "--stack", "dev"], out=io.StringIO(), err=err) == 2
    assert "0 ACTIVE ECS clusters are tagged app=slipway, stack=dev" in err.getvalue()
    assert instances(aws) == {SOURCE}


def test_help_names_the_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        plan.main(["drill", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--stack", "--db-instance", "--cluster", "--task-definition", "--json", "--check-command"):
        assert flag in text


def vault_client(points: list[dict[str, Any]], vault: str, db_arn: str) -> Any:
    """AWS Backup through botocore's Stubber (moto has no recovery points); responses checked against the model."""
    from botocore.stub import Stubber

    backup = boto3.client("backup", region_name=REGION)
    stub = Stubber(backup)
    stub.add_response(
        "list_recovery_points_by_backup_vault",
        {"RecoveryPoints": points},
        {"BackupVaultName": vault, "ByResourceArn": db_arn},
    )
    stub.activate()
    return backup


def test_the_drill_restores_the_newest_completed_vault_recovery_point(aws: dict[str, Any]) -> None:
    import datetime as dt

    db_arn = aws["rds"].describe_db_instances(DBInstanceIdentifier=SOURCE)["DBInstances"][0]["DBInstanceArn"]
    # moto cannot name a snapshot awsbackup:job-...; a manual snapshot stands in for the recovery point (same ARN form)
    newest = aws["rds"].create_db_snapshot(DBInstanceIdentifier=SOURCE, DBSnapshotIdentifier="vault-newest")
    older = f"arn:aws:rds:{REGION}:{DEFAULT_ACCOUNT_ID}:snapshot:awsbackup:job-11111111-2222-3333-4444-555555555555"
    created = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    points = [
        {"RecoveryPointArn": older, "CreationDate": created - dt.timedelta(days=1), "Status": "COMPLETED"},
        {"RecoveryPointArn": newest["DBSnapshot"]["DBSnapshotArn"], "CreationDate": created, "Status": "COMPLETED"},
        {"RecoveryPointArn": older + "9", "CreationDate": created + dt.timedelta(hours=1), "Status": "PARTIAL"},
    ]
    found = targets(aws)
    assert found.backup_vault == "slipway-prod-backup"
    report = drill_with(aws, backup=vault_client(points, found.backup_vault, db_arn))
    assert report.ok, report.render_text()
    assert report.recovery_point == newest["DBSnapshot"]["DBSnapshotArn"] and not report.latest_restorable_time
    assert report.rpo_seconds is not None and 5 * 3600 <= report.rpo_seconds < 5 * 3600 + 60
    assert "vault recovery point" in report.render_text()
    assert report.cleanup[0].endswith("deleted (no final snapshot, automated backups deleted) in 0s")
    assert instances(aws) == {SOURCE}


def test_a_vault_without_a_completed_recovery_point_fails_before_restoring(aws: dict[str, Any]) -> None:
    db_arn = aws["rds"].describe_db_instances(DBInstanceIdentifier=SOURCE)["DBInstances"][0]["DBInstanceArn"]
    report = drill_with(aws, backup=vault_client([], "slipway-prod-backup", db_arn))
    assert not report.ok and "holds no completed recovery point" in report.error
    assert instances(aws) == {SOURCE} and report.cleanup == []
