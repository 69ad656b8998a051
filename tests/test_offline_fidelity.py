"""The offline engine behaves like the real engine where the plan depends on it: transforms, physical names, ids,
and a stable order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from slipway.offline import ResourceGraph, run_program

ROOT = Path(__file__).resolve().parent.parent


class _Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Box", name, {}, opts)
        aws.cloudwatch.LogGroup(
            f"{name}-logs",
            retention_in_days=14,
            opts=pulumi.ResourceOptions(parent=self, transforms=[_own]),
        )
        self.register_outputs({})


CALLS: list[tuple[str, str, Any]] = []


def _own(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult:
    CALLS.append(("own", args.name, args.props.get("retentionInDays")))
    return pulumi.ResourceTransformResult({**args.props, "retentionInDays": 30}, args.opts)


def _parent(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    CALLS.append(("parent", args.name, args.props.get("retentionInDays")))
    if args.type_ != "aws:cloudwatch/logGroup:LogGroup":
        return None
    protect = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(protect=True))
    return pulumi.ResourceTransformResult({**args.props, "retentionInDays": 90}, protect)


def _stack(args: pulumi.ResourceTransformArgs) -> None:
    CALLS.append(("stack", args.name, args.props.get("retentionInDays")))


def test_transforms_run_in_the_engines_order_and_reach_the_recorded_graph() -> None:
    """Engine order (pkg/resource/deploy/source_eval.go): own transforms, then each ancestor's, then the stack's."""
    CALLS.clear()

    def program() -> None:
        pulumi.runtime.register_resource_transform(_stack)
        _Box("box", opts=pulumi.ResourceOptions(transforms=[_parent]))

    graph = run_program(program)
    logs = graph.one("aws:cloudwatch/logGroup:LogGroup")
    assert [c for c in CALLS if c[1] == "box-logs"] == [
        ("own", "box-logs", 14),
        ("parent", "box-logs", 30),
        ("stack", "box-logs", 90),
    ]
    assert ("parent", "box", None) in CALLS, "a component's own transforms apply to the component too"
    assert logs.input("retentionInDays") == 90
    assert logs.protect, "options a transform returns (protect) are recorded"


def test_a_stack_transform_changes_what_the_whole_stack_plans() -> None:
    """The README's escape hatch, end to end: a transform on the real program shows in the plan offline."""
    from tests.conftest import graph_with

    base = graph_with("dev")
    target_groups = base.by_type("aws:lb/targetGroup:TargetGroup")
    assert target_groups and all(t.input("deregistrationDelay") != 5 for t in target_groups)

    def program() -> None:
        def faster_drain(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
            if args.type_ != "aws:lb/targetGroup:TargetGroup":
                return None
            return pulumi.ResourceTransformResult({**args.props, "deregistrationDelay": 5}, args.opts)

        pulumi.runtime.register_resource_transform(faster_drain)
        import runpy

        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    graph = _run_stack_program("dev", program)
    assert [t.input("deregistrationDelay") for t in graph.by_type("aws:lb/targetGroup:TargetGroup")] == [5]


def _run_stack_program(stack: str, program: Any) -> ResourceGraph:
    from slipway import offline

    project, config, secret_keys = offline.load_config(stack)
    with offline._LOCK, offline._program_path(ROOT), offline._offline_ecr({}):
        return offline._run(project, stack, config, secret_keys, program)


def test_explicit_physical_names_are_what_aws_sees(prod: ResourceGraph) -> None:
    db = prod.one("aws:rds/instance:Instance")
    identifier = db.input("identifier")
    assert identifier and db.outputs["identifier"] == identifier
    dimensions = [
        a.input("dimensions", "DBInstanceIdentifier")
        for a in prod.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.input("namespace") == "AWS/RDS"
    ]
    assert dimensions and set(dimensions) == {identifier}, "RDS alarms watch the instance AWS will create"


def test_ids_follow_the_provider(prod: ResourceGraph) -> None:
    """S3 bucket, log group and ECR ids are their names; an RDS instance's id is its DBI resource id."""
    bucket = prod.one("aws:s3/bucket:Bucket")
    policies = [p for p in prod.by_type("aws:s3/bucketPolicy:BucketPolicy")]
    assert policies and {p.input("bucket") for p in policies} == {bucket.outputs["bucket"]}
    db = prod.one("aws:rds/instance:Instance")
    assert db.outputs["resourceId"].startswith("db-")


def test_the_plan_json_is_the_same_bytes_every_run() -> None:
    """One run in another interpreter (its own hash seed and scheduling) and one here give the same bytes."""
    import io

    from slipway.plan import main

    other = subprocess.run(
        [sys.executable, "-m", "slipway", "plan", "--stack", "prod", "--json"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=120,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout
    here = io.StringIO()
    assert main(["plan", "--stack", "prod", "--json"], out=here, err=io.StringIO()) == 0
    runs = [other, here.getvalue().encode()]
    assert runs[0] == runs[1]
    doc = json.loads(runs[0])
    position = {r["urn"]: i for i, r in enumerate(doc["resources"])}
    for r in doc["resources"]:
        for before in [r["parent"], *r["dependencies"]]:
            if before in position:
                assert position[before] < position[r["urn"]], f"{r['urn']} listed before {before}"


def test_the_engine_runs_after_asyncio_run_left_no_event_loop() -> None:
    """``asyncio.run`` (a test, a script) leaves no current loop behind; planning must still work."""
    import asyncio

    async def nothing() -> None:
        return None

    asyncio.run(nothing())
    graph = run_program(lambda: aws.cloudwatch.LogGroup("g", retention_in_days=14))
    assert graph.one("aws:cloudwatch/logGroup:LogGroup").input("retentionInDays") == 14
