"""Issue 20: dev sleeps outside its awake hours (components/sleep.py): the service scales to 0 and back to the bounds
its scalable target had, the database stops and starts (EventBridge Scheduler, a role for that one instance only),
no alarm fires while it sleeps, prod refuses it, and the estimate prices only the hours awake."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from slipway import cost
from slipway.offline import ResourceGraph
from slipway_aws.awake import DB_LEAD_MINUTES, monthly_hours, parse_awake_hours, weekly_hours
from slipway_aws.observability import UNSERVED_EXPRESSION
from slipway_aws.validation import ArgsError
from slipway_aws.webapp import WebAppArgs
from slipway_policy import rules
from tests.conftest import graph_with

ACTION = "aws:appautoscaling/scheduledAction:ScheduledAction"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:{'4f' * 32}"


@pytest.fixture(scope="module")
def always_on() -> ResourceGraph:
    """dev without its sleep (the stack file's two keys removed)."""
    return graph_with("dev", awakeHours=None, awakeTimezone=None)


# -- the value format -------------------------------------------------------------------------------------------------
def test_awake_hours_parse_into_days_and_a_window_and_back_into_cron() -> None:
    awake = parse_awake_hours("MON-FRI 07:00-20:00")
    assert awake.days == ("MON", "TUE", "WED", "THU", "FRI") and (awake.start, awake.end) == (420, 1200)
    assert awake.db_start == "cron(0 7 ? * MON-FRI *)" and awake.db_stop == "cron(0 20 ? * MON-FRI *)"
    assert awake.service_wake == "cron(15 7 ? * MON-FRI *)" and awake.service_sleep == "cron(0 20 ? * MON-FRI *)"
    assert parse_awake_hours("sat,mon,tue 9:30-17:00").days_expression == "MON,TUE,SAT"
    assert weekly_hours(awake.db_start, awake.db_stop) == 65
    assert round(monthly_hours(65, 730), 1) == 282.4  # 65 h a week x 730 / 168 weeks


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("weekdays 07:00-20:00", "not a day"),
        ("FRI-MON 07:00-20:00", "backwards"),
        ("MON-FRI 20:00-07:00", "same day"),
        ("MON-FRI 07:00-07:30", "at least 60 minutes"),
        ("MON-FRI 07:00-24:00", "00:00 to 23:59"),
        ("MON-FRI 7-20", "<days> <HH:MM>-<HH:MM>"),
    ],
)
def test_a_bad_window_says_why(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        parse_awake_hours(text)


def test_the_args_refuse_sleep_in_prod_a_bad_window_and_an_unknown_zone() -> None:
    with pytest.raises(ArgsError) as err:
        WebAppArgs(
            image_uri=IMAGE,
            profile="prod",
            certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            awake_hours="MON-FRI 07:00-20:00",
        )
    assert [p.field for p in err.value.problems] == ["awake_hours"] and "prod stays available" in str(err.value)
    with pytest.raises(ArgsError) as err:
        WebAppArgs(image_uri=IMAGE, profile="dev", awake_hours="weekdays", awake_timezone="Europe/Berlinn")
    assert {p.field for p in err.value.problems} == {"awake_hours", "awake_timezone"}
    assert "Europe/Berlin" in str(err.value)  # the fix names the zone meant
    WebAppArgs(image_uri=IMAGE, profile="dev", awake_hours="MON-FRI 07:00-20:00", awake_timezone="Europe/Berlin")


# -- what dev's graph holds -------------------------------------------------------------------------------------------
def test_the_service_sleeps_at_0_and_wakes_to_the_bounds_its_scalable_target_had(dev: ResourceGraph) -> None:
    target = dev.one("aws:appautoscaling/target:Target")
    actions = {a.name.rsplit("-", 1)[-1]: a for a in dev.by_type(ACTION)}
    assert set(actions) == {"wake", "sleep"}
    for action in actions.values():
        for key in ("resourceId", "scalableDimension", "serviceNamespace"):
            assert action.input(key) == target.input(key)
        assert action.input("timezone") == "Europe/Berlin"
    assert actions["wake"].input("scalableTargetAction") == {
        "minCapacity": target.input("minCapacity"),
        "maxCapacity": target.input("maxCapacity"),
    }
    assert actions["sleep"].input("scalableTargetAction") == {"minCapacity": 0, "maxCapacity": 0}
    assert actions["sleep"].input("schedule") == "cron(0 20 ? * MON-FRI *)"


def test_the_database_starts_before_the_service_wakes_and_stops_when_it_sleeps(dev: ResourceGraph) -> None:
    db = dev.one("aws:rds/instance:Instance")
    schedules = {s.input("target")["arn"]: s for s in dev.by_type(SCHEDULE)}
    start = schedules["arn:aws:scheduler:::aws-sdk:rds:startDBInstance"]
    stop = schedules["arn:aws:scheduler:::aws-sdk:rds:stopDBInstance"]
    for s in (start, stop):
        assert json.loads(s.input("target")["input"]) == {"DbInstanceIdentifier": db.input("identifier")}
        assert s.input("scheduleExpressionTimezone") == "Europe/Berlin" and s.input("groupName") == "default"
    wake = next(a for a in dev.by_type(ACTION) if a.name.endswith("-wake"))
    lead = weekly_hours(start.input("scheduleExpression"), wake.input("schedule"))
    assert lead is not None and lead * 60 == 5 * DB_LEAD_MINUTES  # 15 minutes, each of the 5 days
    assert stop.input("scheduleExpression") == next(a for a in dev.by_type(ACTION) if a.name.endswith("-sleep")).input(
        "schedule"
    )


def test_the_scheduler_role_may_only_start_and_stop_that_one_instance(dev: ResourceGraph) -> None:
    db_arn = "arn:aws:rds:us-east-1:123456789012:db:" + dev.one("aws:rds/instance:Instance").input("identifier")
    (policy,) = [p for p in dev.by_type("aws:iam/rolePolicy:RolePolicy") if "sleep-db-scheduler" in p.name]
    statements = json.loads(policy.input("policy"))["Statement"]
    assert statements == [
        {
            "Sid": "StartStopTheDatabase",
            "Effect": "Allow",
            "Action": ["rds:StartDBInstance", "rds:StopDBInstance"],
            "Resource": db_arn,
        }
    ]
    (role,) = [r for r in dev.by_type("aws:iam/role:Role") if r.name.endswith("sleep-db-scheduler")]
    trust = json.loads(role.input("assumeRolePolicy"))["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert {s.input("target")["roleArn"] for s in dev.by_type(SCHEDULE)} == {role.outputs["arn"]}


def test_without_awake_hours_nothing_sleeps(always_on: ResourceGraph) -> None:
    assert not always_on.by_type(ACTION) and not always_on.by_type(SCHEDULE)


# -- alarms while asleep ----------------------------------------------------------------------------------------------
def _evaluate(expression: str, **values: float) -> float:
    """The metric math of the alarm, for one datapoint (IF, FILL, AND and comparisons)."""
    py = re.sub(r"FILL\((\w+), 0\)", r"\1", expression).replace(" AND ", " and ")
    return float(eval(py, {"IF": lambda c, a, b: a if c else b}, dict(values)))  # noqa: S307


def test_no_alarm_of_a_sleeping_dev_takes_missing_data_as_breaching(dev: ResourceGraph) -> None:
    alarms = dev.by_type(ALARM)
    assert alarms and all(a.input("treatMissingData") in ("notBreaching", "ignore", "missing") for a in alarms)


def test_the_running_tasks_alarm_fires_only_for_requests_no_task_answers(dev: ResourceGraph) -> None:
    alarm = next(a for a in dev.by_type(ALARM) if a.name.endswith("no-healthy-task"))
    (expression,) = [q["expression"] for q in alarm.input("metricQueries") if q.get("expression")]
    assert expression == UNSERVED_EXPRESSION
    assert _evaluate(expression, requests=0, healthy=0) == 0  # asleep, nobody asks: quiet
    assert _evaluate(expression, requests=12, healthy=1) == 0  # awake and serving
    assert _evaluate(expression, requests=12, healthy=0) == 1  # asked and nobody answers


def test_always_on_dev_keeps_its_strict_alarms(always_on: ResourceGraph) -> None:
    by_name = {a.name.rsplit("slipway-dev-", 1)[-1]: a for a in always_on.by_type(ALARM)}
    for key in ("rds-cpu", "rds-connections", "rds-free-storage", "no-healthy-task"):
        assert by_name[key].input("treatMissingData") == "breaching", key
    assert by_name["no-healthy-task"].input("metricName") == "HealthyHostCount"


def test_with_container_insights_desired_zero_is_not_a_missing_task() -> None:
    graph = graph_with("dev", containerInsights="enabled")
    alarm = next(a for a in graph.by_type(ALARM) if a.name.endswith("tasks-below-desired"))
    assert alarm.input("treatMissingData") == "notBreaching"
    (expression,) = [q["expression"] for q in alarm.input("metricQueries") if q.get("expression")]
    assert expression == "desired - running"  # asleep: 0 - 0, not above the threshold 0


# -- prod refuses it, the estimate prices it --------------------------------------------------------------------------
def test_the_policy_refuses_a_sleeping_prod_and_only_advises_in_dev(dev: ResourceGraph) -> None:
    rule = next(r for r in rules.RULES if r.id == "prod-always-awake")
    assert rule.level("prod") == rules.MANDATORY and rule.level("dev") == rules.ADVISORY
    for resource in (*dev.by_type(ACTION), *dev.by_type(SCHEDULE)):
        found = rule.check(resource.type, resource.inputs)
        waking = resource.name.endswith(("-wake", "-db-start"))
        assert bool(found) is not waking, resource.name


def _estimate(graph: ResourceGraph) -> cost.Estimate:
    return cost.estimate(graph.resources, stack="dev")


def test_dev_with_previews_is_within_45_dollars_and_removing_the_sleep_raises_it(
    dev: ResourceGraph, always_on: ResourceGraph
) -> None:
    asleep, awake = _estimate(dev), _estimate(always_on)
    assert asleep.total <= 45, asleep.total
    assert awake.total > asleep.total
    hours = monthly_hours(65, 730)  # MON-FRI 07:00-20:00 from the stack file
    service_hours = monthly_hours(5 * (13 - DB_LEAD_MINUTES / 60), 730)
    items = {i.type: i for i in asleep.items}
    assert "282 h awake" in items["aws:rds/instance:Instance"].detail and f"{hours:.0f}" == "282"
    assert f"{service_hours:.0f} h awake" in items["aws:ecs/service:Service"].detail
    always = {i.type: i for i in awake.items}
    price = cost.region_prices(cost.load_prices(), "us-east-1")
    saved_db = (730 - hours) * price["rds_instance_hour"]["db.t4g.micro"]
    assert always["aws:rds/instance:Instance"].monthly - items["aws:rds/instance:Instance"].monthly == pytest.approx(
        saved_db + 0.0, abs=0.1
    )  # storage, the secret stay a full month; Enhanced Monitoring only runs awake (cents)


def test_a_schedule_the_estimate_does_not_understand_is_priced_always_on(dev: ResourceGraph) -> None:
    resources: list[Any] = []
    for r in dev.resources:
        if r.type == SCHEDULE and r.name.endswith("db-stop"):
            r = type(r)(**{**r.__dict__, "inputs": {**r.inputs, "scheduleExpression": "rate(1 day)"}})
        resources.append(r)
    items = {i.type: i for i in cost.estimate(resources, stack="dev").items}
    assert "730 h" in items["aws:rds/instance:Instance"].detail
