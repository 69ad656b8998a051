"""AppLogs and Observability: finite retention, the alarms that page people, all wired to SNS."""

from __future__ import annotations

import json

import pytest

from components.logs import AppLogs, AppLogsArgs
from components.observability import default_max_connections
from slipway.offline import ResourceGraph, run_program

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EXPECTED = {
    "alb-5xx-rate",
    "p95-latency",
    "unhealthy-hosts",
    "ecs-cpu",
    "ecs-memory",
    "tasks-below-desired",
    "rds-cpu",
    "rds-free-storage",
    "rds-connections",
}


def test_log_retention_is_finite_per_environment(dev: ResourceGraph, prod: ResourceGraph) -> None:
    assert len(dev.by_type("aws:cloudwatch/logGroup:LogGroup")) == 3, "the app's and RDS's two exports"
    assert all(g.input("retentionInDays") == 14 for g in dev.by_type("aws:cloudwatch/logGroup:LogGroup"))
    assert all(g.input("retentionInDays") == 90 for g in prod.by_type("aws:cloudwatch/logGroup:LogGroup"))
    for graph in (dev, prod):
        assert all(g.input("retentionInDays") for g in graph.by_type("aws:cloudwatch/logGroup:LogGroup"))


def test_invalid_retention_is_refused_by_the_component() -> None:
    with pytest.raises(ValueError, match="not a CloudWatch retention value"):
        run_program(lambda: AppLogs("l", AppLogsArgs(retention_days=10)))


def test_every_paging_signal_has_an_alarm_that_notifies_alarm_and_ok(stack: ResourceGraph) -> None:
    alarms = stack.by_type(ALARM)
    assert {a.name.removeprefix(f"slipway-{stack.stack}-") for a in alarms} == EXPECTED
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
    running = stack.one(ALARM, "tasks-below-desired")
    assert [q["expression"] for q in running.input("metricQueries") if q.get("expression")] == ["desired - running"]


def test_thresholds_follow_the_database_size(dev: ResourceGraph, prod: ResourceGraph) -> None:
    assert dev.one(ALARM, "rds-free-storage").input("threshold") == int(20 * 1024**3 * 0.1)
    assert prod.one(ALARM, "rds-connections").input("threshold") > dev.one(ALARM, "rds-connections").input("threshold")
    assert default_max_connections("db.t4g.micro") == 101  # ~ LEAST(DBInstanceClassMemory/9531392, 5000)


def test_alarm_email_subscription_only_when_configured(dev: ResourceGraph, prod: ResourceGraph) -> None:
    sub = prod.one("aws:sns/topicSubscription:TopicSubscription")
    assert sub.input("protocol") == "email" and sub.input("endpoint") == "oncall@example.com"
    assert dev.by_type("aws:sns/topicSubscription:TopicSubscription") == []


def test_topic_is_encrypted_and_dashboard_covers_the_stack(stack: ResourceGraph) -> None:
    key = stack.one("aws:kms/key:Key")
    assert stack.one("aws:sns/topic:Topic").input("kmsMasterKeyId") == key.outputs["arn"]
    body = json.loads(stack.one("aws:cloudwatch/dashboard:Dashboard").input("dashboardBody"))
    titles = {w["properties"]["title"] for w in body["widgets"]}
    assert {"Requests and 5xx", "Target p95 latency", "ECS CPU / memory", "RDS"} == titles


def test_alarms_can_publish_to_the_encrypted_topic(dev: ResourceGraph, prod: ResourceGraph) -> None:
    """CloudWatch needs kms:Decrypt and kms:GenerateDataKey* on the topic's key; the AWS managed alias/aws/sns key
    cannot grant them, so the topic uses a customer managed key whose policy does (scoped to this account)."""
    for graph, window in ((dev, 7), (prod, 30)):
        key = graph.one("aws:kms/key:Key")
        assert key.input("enableKeyRotation") is True and key.input("deletionWindowInDays") == window
        policy = json.loads(key.input("policy"))
        cloudwatch = [st for st in policy["Statement"] if st["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
        assert len(cloudwatch) == 1 and set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
        account = graph.one("aws:sns/topic:Topic").outputs["arn"].split(":")[4]
        assert cloudwatch[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}
        admin = [st for st in policy["Statement"] if st["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}]
        assert admin, "without the account root statement nobody could ever manage the key"


def test_key_deletion_window_outside_kms_limits_is_refused() -> None:
    from components.observability import Observability, ObservabilityArgs
    from slipway.offline import run_program

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
