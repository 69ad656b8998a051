"""Restore by config and the out-of-region copy, on the real stack program (docs/recovery.md)."""

from __future__ import annotations

from typing import Any

from slipway.offline import ResourceGraph
from tests.conftest import graph_with

DB = "aws:rds/instance:Instance"
RESTORE_ONLY = {"identifier", "snapshotIdentifier", "restoreToPointInTime", "finalSnapshotIdentifier"}


def _settings(db: Any) -> dict[str, Any]:
    return {k: v for k, v in db.inputs.items() if k not in RESTORE_ONLY and k != "__provider"}


def _instances(graph: ResourceGraph) -> tuple[Any, Any]:
    original, restored = sorted(graph.by_type(DB), key=lambda r: len(r.input("identifier")))
    return original, restored


def test_a_snapshot_restore_plans_a_new_instance_with_every_setting_of_the_live_one() -> None:
    graph = graph_with("prod", dbRestore={"snapshot": "some-snap"})
    original, restored = _instances(graph)
    assert restored.input("snapshotIdentifier") == "some-snap" and original.input("snapshotIdentifier") is None
    assert _settings(restored) == _settings(original), "groups, storage, encryption, protection, logs: the same"
    assert original.protect and restored.protect, "the original is kept, protected"
    web = next(t for t in graph.by_type("aws:ecs/taskDefinition:TaskDefinition") if t.input("family").endswith("web"))
    assert restored.outputs["address"] in web.input("containerDefinitions"), "the service rolls over to it"


def test_a_point_in_time_restore_plans_restore_to_point_in_time() -> None:
    graph = graph_with("prod", dbRestore={"time": "latest"})
    original, restored = _instances(graph)
    assert restored.input("restoreToPointInTime") == {
        "useLatestRestorableTime": True,
        "sourceDbInstanceIdentifier": original.input("identifier"),
    }
    assert _settings(restored) == _settings(original)


def test_prod_replicates_its_backups_to_a_second_region_and_dev_does_not(
    prod: ResourceGraph, dev: ResourceGraph
) -> None:
    (replication,) = prod.by_type("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
    assert replication.input("region") == "us-west-2" and replication.input("retentionPeriod") == 14
    assert replication.input("sourceDbInstanceArn") == prod.one(DB).outputs["arn"]
    assert not dev.by_type("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")


def test_the_stack_file_form_plans_offline(tmp_path: Any) -> None:
    """``slipway:dbRestore: {snapshot: some-snap}`` written in Pulumi.prod.yaml, as an operator would."""
    import shutil
    from pathlib import Path

    from slipway.offline import run_stack

    root = Path(__file__).resolve().parent.parent
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(root / name, tmp_path / name)
    text = (root / "Pulumi.prod.yaml").read_text() + "  slipway:dbRestore: {snapshot: some-snap}\n"
    (tmp_path / "Pulumi.prod.yaml").write_text(text)
    graph = run_stack("prod", root=tmp_path)
    assert [r.input("snapshotIdentifier") for r in graph.by_type(DB)].count("some-snap") == 1
