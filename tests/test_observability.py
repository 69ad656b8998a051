"""AppLogs and Observability: finite retention, the alarms that page people, all wired to SNS."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import pytest

from slipway.offline import ResourceGraph, run_program
from slipway_aws.logs import AppLogs, AppLogsArgs
from slipway_aws.observability import default_max_connections

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EXPECTED = {
    "alb-5xx-rate",
    "p95-latency",
    "unhealthy-hosts",
    "ecs-cpu",
    "ecs-memory",
    "rds-cpu",
    "rds-free-storage",
    "rds-connections",
}


def test_log_retention_is_finite_per_environment(dev: ResourceGraph, prod: ResourceGraph) -> None:
    assert len(dev.by_type("aws:cloudwatch/logGroup:LogGroup")) == 4, "the app's, RDS's two exports, VPC flow logs"
    assert all(g.input("retentionInDays") == 14 for g in dev.by_type("aws:cloudwatch/logGroup:LogGroup"))
    assert all(g.input("retentionInDays") == 90 for g in prod.by_type("aws:cloudwatch/logGroup:LogGroup"))
    for graph in (dev, prod):
        assert all(g.input("retentionInDays") for g in graph.by_type("aws:cloudwatch/logGroup:LogGroup"))


def test_invalid_retention_is_refused_by_the_component() -> None:
    with pytest.raises(ValueError, match="not a CloudWatch retention value"):
        run_program(lambda: AppLogs("l", AppLogsArgs(retention_days=10)))


def test_every_paging_signal_has_an_alarm_that_notifies_alarm_and_ok(stack: ResourceGraph) -> None:
    alarms = stack.by_type(ALARM)
    # without Container Insights (dev) the running-tasks alarm watches the load balancer's healthy targets
    running = "tasks-below-desired" if stack.stack == "prod" else "no-healthy-task"
    assert {a.name.removeprefix(f"slipway-{stack.stack}-") for a in alarms} == EXPECTED | {running}
    topic = stack.one("aws:sns/topic:Topic").outputs["arn"]
    for alarm in alarms:
        assert alarm.input("alarmActions") == [topic] and alarm.input("okActions") == [topic]
    assert stack.outputs["alarm_topic"] == topic


def test_alarm_dimensions_point_at_our_resources(stack: ResourceGraph) -> None:
    alb = stack.one("aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"]
    tg = stack.one("aws:lb/targetGroup:TargetGroup").outputs["arnSuffix"]
    db = stack.one("aws:rds/instance:Instance").outputs["identifier"]
    latency = stack.one(ALARM, "p95-latency")
    assert latency.input("dimensions") == {"LoadBalancer": alb, "TargetGroup": tg}
    assert latency.input("extendedStatistic") == "p95"
    assert stack.one(ALARM, "rds-cpu").input("dimensions") == {"DBInstanceIdentifier": db}
    rate = stack.one(ALARM, "alb-5xx-rate")
    expression = [q for q in rate.input("metricQueries") if q.get("expression")][0]["expression"]
    assert "target5xx" in expression and "elb5xx" in expression and "requests" in expression
    if stack.stack == "prod":
        running = stack.one(ALARM, "tasks-below-desired")
        assert [q["expression"] for q in running.input("metricQueries") if q.get("expression")] == ["desired - running"]
    else:  # no Container Insights in dev: the service's target group
        running = stack.one(ALARM, "no-healthy-task")
        assert {
            q["metric"]["dimensions"]["TargetGroup"] for q in running.input("metricQueries") if q.get("metric")
        } == {tg}


def test_thresholds_follow_the_database_size(dev: ResourceGraph, prod: ResourceGraph) -> None:
    assert str(int(20 * 1024**3 * 0.05)) in _storage_expression(dev), "the floor is half the trigger at 20 GiB"
    assert prod.one(ALARM, "rds-connections").input("threshold") > dev.one(ALARM, "rds-connections").input("threshold")
    assert default_max_connections("db.t4g.micro") == 101  # ~ LEAST(DBInstanceClassMemory/9531392, 5000)


def test_alarm_email_subscription_only_when_configured(dev: ResourceGraph, prod: ResourceGraph) -> None:
    sub = prod.one("aws:sns/topicSubscription:TopicSubscription")
    assert sub.input("protocol") == "email" and sub.input("endpoint") == "oncall@example.com"
    assert dev.by_type("aws:sns/topicSubscription:TopicSubscription") == []


def test_topic_is_encrypted_and_dashboard_covers_the_stack(stack: ResourceGraph) -> None:
    key = stack.one("aws:kms/key:Key", "alarms-key")
    assert stack.one("aws:sns/topic:Topic").input("kmsMasterKeyId") == key.outputs["arn"]
    body = json.loads(stack.one("aws:cloudwatch/dashboard:Dashboard").input("dashboardBody"))
    titles = {w["properties"]["title"] for w in body["widgets"]}
    assert {"Requests and 5xx", "Target p95 latency", "ECS CPU / memory", "RDS"} == titles


def test_alarms_can_publish_to_the_encrypted_topic(dev: ResourceGraph, prod: ResourceGraph) -> None:
    """CloudWatch needs kms:Decrypt and kms:GenerateDataKey* on the topic's key; the AWS managed alias/aws/sns key
    cannot grant them, so the topic uses a customer managed key whose policy does (scoped to this account)."""
    for graph, window in ((dev, 7), (prod, 30)):
        key = graph.one("aws:kms/key:Key", "alarms-key")
        assert key.input("enableKeyRotation") is True and key.input("deletionWindowInDays") == window
        policy = json.loads(key.input("policy"))
        cloudwatch = [st for st in policy["Statement"] if st["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
        assert len(cloudwatch) == 1 and set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
        account = graph.one("aws:sns/topic:Topic").outputs["arn"].split(":")[4]
        assert cloudwatch[0]["Condition"] == {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{account}:alarm:*"},
        }, "alarms of this account and region only"
        admin = [st for st in policy["Statement"] if st["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}]
        assert admin, "without the account root statement nobody could ever manage the key"


def test_key_deletion_window_outside_kms_limits_is_refused() -> None:
    from slipway.offline import run_program
    from slipway_aws.observability import Observability, ObservabilityArgs

    def args() -> ObservabilityArgs:
        return ObservabilityArgs(
            alb_arn_suffix="a",
            target_group_arn_suffix="t",
            cluster_name="c",
            service_name="s",
            db_identifier="d",
            key_deletion_window_days=3,
        )

    with pytest.raises(ValueError, match="key_deletion_window_days=3") as err:
        run_program(lambda: Observability("o", args()))
    assert err.value.resources_registered == 0  # type: ignore[attr-defined]  # refused by the Args, before anything


# -- the free-storage alarm under storage autoscaling (issue #9, item 6) -----------------------------------------
GIB = 1024**3


def _storage_expression(graph: ResourceGraph) -> str:
    queries = graph.one(ALARM, "rds-free-storage").input("metricQueries") or []
    returned = [q for q in queries if q.get("returnData")]
    assert len(returned) == 1 and returned[0].get("expression"), "one metric-math expression decides the alarm"
    return str(returned[0]["expression"])


def _evaluate(expression: str, values: dict[str, float], rates: dict[str, float]) -> float:
    """Evaluate the subset of CloudWatch metric math the alarm uses (IF, AND/OR, comparisons, + - * /, RATE) for
    one datapoint: ``values`` are the metrics' values, ``rates`` their RATE (change per second)."""
    source = re.sub(r"\bAND\b", " and ", re.sub(r"\bOR\b", " or ", expression))
    tree = ast.parse(source, mode="eval")

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BoolOp):
            results = [bool(ev(v)) for v in node.values]
            return all(results) if isinstance(node.op, ast.And) else any(results)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = ev(node.left), ev(node.comparators[0])
            return {ast.Lt: left < right, ast.Gt: left > right, ast.LtE: left <= right, ast.GtE: left >= right}[
                type(node.ops[0])
            ]
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left), ev(node.right)
            ops = {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right}
            return ops[type(node.op)] if type(node.op) in ops else left / right
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "IF":
                return ev(node.args[1]) if ev(node.args[0]) else ev(node.args[2])
            if node.func.id == "RATE":
                argument = node.args[0]
                assert isinstance(argument, ast.Name)
                return rates[argument.id]
        raise AssertionError(f"metric math not understood by this test: {ast.dump(node)}")

    return float(ev(tree))


def _pages(graph: ResourceGraph, free_bytes: float, bytes_per_second_used: float) -> bool:
    alarm = graph.one(ALARM, "rds-free-storage")
    queries = alarm.input("metricQueries") or []
    metric_ids = {q["id"]: q["metric"]["metricName"] for q in queries if q.get("metric")}
    assert set(metric_ids.values()) == {"FreeStorageSpace"}
    value = _evaluate(
        _storage_expression(graph),
        {mid: free_bytes for mid in metric_ids},
        {mid: -bytes_per_second_used for mid in metric_ids},
    )
    operator, threshold = alarm.input("comparisonOperator"), alarm.input("threshold")
    return {"GreaterThanOrEqualToThreshold": value >= threshold, "GreaterThanThreshold": value > threshold}[operator]


@pytest.mark.parametrize("allocated_gb", [20, 22, 32, 50, 80, 100, 500])
def test_free_storage_alarm_is_quiet_at_every_autoscaling_trigger(dev: ResourceGraph, allocated_gb: int) -> None:
    """RDS storage autoscaling grows the volume when free space is below 10 % of the *current* allocation. Right at
    that trigger, with usage steady, autoscaling is about to help: nobody must be paged, whatever the volume has grown
    to (the old alarm, a fixed 10 % of the initial 20 GiB, paged exactly at the first trigger)."""
    trigger = allocated_gb * GIB * 0.10
    assert not _pages(dev, free_bytes=trigger * 0.99, bytes_per_second_used=0)
    slow = 1 * GIB / 86400  # one GiB a day: days of runway
    assert not _pages(dev, free_bytes=trigger * 0.99, bytes_per_second_used=slow)


@pytest.mark.parametrize("allocated_gb", [20, 100, 500])
def test_free_storage_alarm_pages_when_autoscaling_cannot_keep_up(dev: ResourceGraph, allocated_gb: int) -> None:
    """Autoscaling may wait six hours between two increases (and stops at the ceiling): free space that the current
    usage exhausts sooner pages at any size, and so does free space below the floor."""
    free = allocated_gb * GIB * 0.10
    assert _pages(dev, free_bytes=free, bytes_per_second_used=free / (3 * 3600)), "empty in 3 hours"
    assert not _pages(dev, free_bytes=free, bytes_per_second_used=free / (12 * 3600)), "12 hours of runway"
    assert _pages(dev, free_bytes=0.5 * GIB, bytes_per_second_used=0), "below the floor, whatever the trend"


def test_every_dashboard_metric_widget_names_its_region(stack: ResourceGraph) -> None:
    """PutDashboard rejects a metric widget without ``region`` (issue #9, item 1)."""
    body = json.loads(stack.one("aws:cloudwatch/dashboard:Dashboard").input("dashboardBody"))
    metric_widgets = [w for w in body["widgets"] if w["type"] == "metric"]
    assert metric_widgets and all(w["properties"].get("region") == "us-east-1" for w in metric_widgets)
