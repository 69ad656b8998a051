"""BackupCopy: the database's automated backups replicated to a second region, encrypted there with its own key, and
priced in ``--cost``."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from slipway.cost import estimate
from slipway.offline import ResourceGraph, run_program
from slipway_aws.backup_copy import BackupCopy, BackupCopyArgs
from slipway_aws.database import Database, DatabaseArgs, RestoreSpec

REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
KEY = "aws:kms/key:Key"


def prod_like(restore: RestoreSpec | None = None, **copy: Any) -> ResourceGraph:
    """Database plus its out-of-region copy, wired as the prod stack does."""

    def program() -> None:
        db = Database(
            "slipway-prod-db",
            DatabaseArgs(vpc_id="vpc-1", subnet_ids=["a", "b"], password="p", restore=restore),
        )
        backups = BackupCopy(
            "slipway-prod-db-copy",
            BackupCopyArgs(
                source_db_instance_arn=db.arn,
                destination_region="us-west-2",
                source_region="us-east-1",
                **copy,
            ),
        )
        pulumi.export("db_backup_copy", backups.replication_arn)

    return run_program(program)


def test_backups_are_replicated_to_the_second_region_with_a_key_there() -> None:
    graph = prod_like()
    replication, key = graph.one(REPLICATION), graph.one(KEY)
    db = graph.one("aws:rds/instance:Instance")
    assert replication.input("region") == key.input("region") == "us-west-2"
    assert replication.input("sourceDbInstanceArn") == db.outputs["arn"]
    assert replication.input("kmsKeyId") == key.outputs["arn"]
    assert replication.input("retentionPeriod") == 14
    assert key.input("enableKeyRotation") is True and key.input("deletionWindowInDays") == 30
    assert db.urn in replication.dependencies and key.urn in replication.dependencies
    assert graph.outputs["db_backup_copy"]


def test_the_copy_follows_the_restored_instance() -> None:
    graph = prod_like(RestoreSpec(time="latest"))
    restored = next(r for r in graph.by_type("aws:rds/instance:Instance") if r.input("restoreToPointInTime"))
    assert graph.one(REPLICATION).input("sourceDbInstanceArn") == restored.outputs["arn"]


def test_the_copy_is_priced_not_listed_as_unpriced() -> None:
    graph = prod_like()
    est = estimate(graph.resources, "prod", region="us-east-1", environment="prod")
    assert est.unpriced == []
    copy = next(i for i in est.items if i.type == REPLICATION)
    key = next(i for i in est.items if i.name == "slipway-prod-db-copy-key")
    # prod assumptions: 100 GB x $0.095 held in us-west-2 + 60 GB x $0.02 copied per month; the key $1
    assert copy.monthly == pytest.approx(10.70, abs=0.001) and key.monthly == 1.00
    assert "us-west-2" in copy.detail and copy.category == "database (RDS)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"destination_region": "us-east-1", "source_region": "us-east-1"}, "must differ"),
        ({"destination_region": "west"}, "not an AWS region"),
        ({"destination_region": "us-west-2", "retention_days": 0}, "1 to 35"),
        ({"destination_region": "us-west-2", "key_deletion_window_days": 3}, "7 to 30"),
    ],
)
def test_bad_args_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BackupCopyArgs(source_db_instance_arn="arn:aws:rds:us-east-1:123456789012:db:d", **kwargs)
