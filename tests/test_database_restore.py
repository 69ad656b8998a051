"""Database restore (``DatabaseArgs.restore``): a new instance from a point in time or a snapshot, every other setting
kept, the original kept next to it, and the restore spec validated before anything is planned."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pulumi
import pytest

from slipway.offline import ResourceGraph, run_program
from slipway_aws.database import Database, DatabaseArgs, RestoreSpec, parse_utc

DB = "aws:rds/instance:Instance"
RESTORE_ONLY = {"identifier", "finalSnapshotIdentifier", "snapshotIdentifier", "restoreToPointInTime"}
BACKUPS_ARN = "arn:aws:rds:us-east-1:123456789012:auto-backup:ab-abcdefghijklmnopqrstuvwxyz"


def ago(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan(restore: RestoreSpec | None, **kwargs: Any) -> ResourceGraph:
    def program() -> None:
        db = Database(
            "d",
            DatabaseArgs(
                vpc_id="vpc-1",
                subnet_ids=["a", "b"],
                password="p",
                final_snapshot=True,
                restore=restore,
                **{"identifier": "d", **kwargs},
            ),
        )
        pulumi.export("address", db.address)
        pulumi.export("identifier", db.identifier)

    return run_program(program)


def instances(graph: ResourceGraph) -> dict[str, Any]:
    return {r.input("identifier"): r for r in graph.by_type(DB)}


def test_snapshot_restore_is_a_new_instance_with_every_other_setting_of_the_original() -> None:
    spec = RestoreSpec(snapshot="some-snap")
    graph = plan(spec)
    dbs = instances(graph)
    assert set(dbs) == {"d", f"d-{spec.suffix}"} and spec.suffix.startswith("snap-")
    original, restored = dbs["d"], dbs[f"d-{spec.suffix}"]
    assert restored.input("snapshotIdentifier") == "some-snap" and restored.input("restoreToPointInTime") is None
    assert original.input("snapshotIdentifier") is None, "the original is not touched"
    same = {k: v for k, v in original.inputs.items() if k not in RESTORE_ONLY}
    assert {k: v for k, v in restored.inputs.items() if k not in RESTORE_ONLY} == same
    # groups, storage, encryption, protection and log exports are among the kept settings
    for key in ("dbSubnetGroupName", "vpcSecurityGroupIds", "parameterGroupName", "allocatedStorage"):
        assert restored.input(key) == original.input(key) is not None
    assert restored.input("storageEncrypted") is True and restored.input("deletionProtection") is True
    assert restored.input("enabledCloudwatchLogsExports") == ["postgresql", "upgrade"]
    final = restored.input("finalSnapshotIdentifier")
    assert final.startswith(f"d-{spec.suffix}-final") and final != original.input("finalSnapshotIdentifier")


def test_latest_point_in_time_restores_this_stacks_own_instance() -> None:
    graph = plan(RestoreSpec(time="latest"))
    restored = instances(graph)["d-pitr-latest"]
    assert restored.input("restoreToPointInTime") == {
        "useLatestRestorableTime": True,
        "sourceDbInstanceIdentifier": "d",
    }
    assert restored.input("snapshotIdentifier") is None


def test_explicit_time_from_a_named_source_and_the_component_serves_from_the_restored_instance() -> None:
    when = ago(hours=3)
    spec = RestoreSpec(time=when, source_identifier="other-db")
    graph = plan(spec)
    restored = instances(graph)[f"d-{spec.suffix}"]
    assert spec.suffix == f"pitr-{parse_utc(when):%Y%m%d-%H%M%S}"
    assert restored.input("restoreToPointInTime") == {"restoreTime": when, "sourceDbInstanceIdentifier": "other-db"}
    # the component's outputs (DB_HOST of the task definitions) follow the restored instance
    assert graph.outputs["address"].startswith(f"d-{spec.suffix}.")
    assert graph.outputs["identifier"] == restored.outputs["identifier"]


def test_retained_automated_backups_arn_and_no_original_after_an_accidental_deletion() -> None:
    graph = plan(RestoreSpec(time="latest", source_identifier=BACKUPS_ARN, keep_source=False))
    (restored,) = graph.by_type(DB)
    assert restored.input("identifier") == "d-pitr-latest"
    assert restored.input("restoreToPointInTime") == {
        "useLatestRestorableTime": True,
        "sourceDbInstanceAutomatedBackupsArn": BACKUPS_ARN,
    }


def test_log_groups_follow_the_restored_identifier() -> None:
    graph = plan(RestoreSpec(time="latest"))
    restored = instances(graph)["d-pitr-latest"]
    names = {g.input("name"): g for g in graph.by_type("aws:cloudwatch/logGroup:LogGroup")}
    for kind in ("postgresql", "upgrade"):
        assert f"/aws/rds/instance/d/{kind}" in names, "the original keeps its log groups"
        group = names[f"/aws/rds/instance/d-pitr-latest/{kind}"]
        assert group.urn in restored.dependencies, "the restored instance waits for its own log groups"


def test_no_restore_plans_exactly_one_instance_without_restore_arguments() -> None:
    (db,) = plan(None).by_type(DB)
    assert db.input("identifier") == "d"
    assert db.input("snapshotIdentifier") is None and db.input("restoreToPointInTime") is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of time"),
        ({"time": "latest", "snapshot": "s"}, "exactly one of time"),
        ({"time": "2026-11-30 12:00:00"}, "RFC 3339 in UTC"),
        ({"time": "2026-11-30T12:00:00+02:00"}, "RFC 3339 in UTC"),
        ({"time": "yesterday"}, "RFC 3339 in UTC"),
        ({"time": "2026-13-30T12:00:00Z"}, "month must be in 1..12"),
        ({"time": "2999-01-01T00:00:00Z"}, "in the future"),
        ({"snapshot": "s", "source_identifier": "db"}, "goes with time"),
        ({"snapshot": "bad snapshot!"}, "neither a snapshot identifier"),
        ({"time": "latest", "source_identifier": "Bad_Name"}, "neither an instance identifier"),
    ],
)
def test_bad_restore_specs_are_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RestoreSpec(**kwargs)  # type: ignore[arg-type]


def test_good_restore_specs() -> None:
    assert RestoreSpec(snapshot="arn:aws:rds:us-east-1:123456789012:snapshot:slipway-prod-db-final").snapshot
    assert RestoreSpec(snapshot="rds:slipway-prod-db-2026-11-30-03-05").suffix.startswith("snap-")
    assert RestoreSpec(time="2026-11-30T12:00:00.5+00:00").suffix == "pitr-20261130-120000"
    assert RestoreSpec(time="latest").restore_time is None


def test_time_outside_this_stacks_backup_retention_is_refused() -> None:
    with pytest.raises(ValueError, match="older than the 7-day backup retention"):
        plan(RestoreSpec(time=ago(days=8)), backup_retention_days=7)
    assert plan(RestoreSpec(time=ago(days=6)), backup_retention_days=7)
