"""Restore by config from a vault recovery point (AWS Backup's RDS snapshot), next to the time and snapshot forms."""

from __future__ import annotations

import pulumi
import pytest

from slipway.offline import run_program
from slipway_aws.database import Database, DatabaseArgs, RestoreSpec

POINT = "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-80f5fbc6-2e1b-ed56-3cf0-71df898be9c6"


def test_a_recovery_point_restores_into_a_new_instance_by_its_snapshot_arn() -> None:
    spec = RestoreSpec(recovery_point=POINT)

    def program() -> None:
        db = Database(
            "d",
            DatabaseArgs(vpc_id="vpc-1", subnet_ids=["a", "b"], password="p", identifier="d", restore=spec),
        )
        pulumi.export("identifier", db.identifier)

    graph = run_program(program)
    dbs = {r.input("identifier"): r for r in graph.by_type("aws:rds/instance:Instance")}
    assert set(dbs) == {"d", f"d-{spec.suffix}"} and spec.suffix.startswith("rp-")
    restored = dbs[f"d-{spec.suffix}"]
    assert restored.input("snapshotIdentifier") == POINT and restored.input("restoreToPointInTime") is None
    assert dbs["d"].input("snapshotIdentifier") is None, "the original is kept as it is"
    assert graph.outputs["identifier"] == restored.outputs["identifier"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"recovery_point": POINT, "snapshot": "s"}, "exactly one of time"),
        ({"recovery_point": POINT, "time": "latest"}, "exactly one of time"),
        ({"recovery_point": POINT, "source_identifier": "db"}, "goes with time"),
        (
            {"recovery_point": "arn:aws:backup:us-east-1:123456789012:recovery-point:1EB3B5E7-9EB0"},
            "not an RDS recovery point ARN",
        ),
        ({"recovery_point": "arn:aws:rds:us-east-1:123456789012:snapshot:slipway-prod-db-final"}, "not an RDS"),
    ],
)
def test_bad_recovery_points_are_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RestoreSpec(**kwargs)  # type: ignore[arg-type]


def test_the_snapshot_form_also_takes_an_aws_backup_snapshot() -> None:
    """``slipway:dbRestore: {snapshot: <recovery point ARN>}`` works through today's stack configuration."""
    assert RestoreSpec(snapshot=POINT).suffix.startswith("snap-")
    assert RestoreSpec(snapshot="awsbackup:job-80f5fbc6-2e1b-ed56-3cf0-71df898be9c6").snapshot
