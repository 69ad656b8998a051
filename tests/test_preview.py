"""Previews (pr-<n> stacks): the offline plan of pr-123 on dev's StackReference outputs, its price, its isolation
and the policy rules that keep previews on dev's shared pieces."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from slipway import cost
from slipway.offline import ROOT, ResourceGraph, run_program, run_stack
from slipway_aws.preview import MAX_PR_NUMBER, PRIORITY_BASE, listener_priority, preview_number
from slipway_policy.rules import environment_for, evaluate


@pytest.fixture(scope="module")
def pr(pr123: ResourceGraph) -> ResourceGraph:
    return pr123  # tests/conftest.py: built once per session, on the session's dev graph


def test_pr_123_creates_service_rule_target_group_and_a_database_creating_gate(
    pr: ResourceGraph, dev: ResourceGraph
) -> None:
    types = {r.type for r in pr.resources}
    assert {"aws:ecs/service:Service", "aws:lb/listenerRule:ListenerRule", "aws:lb/targetGroup:TargetGroup"} <= types
    createdb = pr.one("pulumi-python:dynamic/slipway:PreviewDatabaseGate", "createdb")
    assert createdb.input("state_machine") == dev.outputs["preview"]["db_admin_state_machine_arn"]
    assert createdb.input("pr") == 123, "dev's state machine builds pr_123 from the number"
    migrate = pr.one("pulumi-python:dynamic/slipway:MigrationGate", "migrate")
    assert pr.depends_on(migrate, createdb), "the migration must wait for the database to exist"
    service = pr.one("aws:ecs/service:Service")
    assert pr.depends_on(service, migrate)
    families = sorted(td.input("family") for td in pr.by_type(T_TASK))
    assert families == ["slipway-pr-123-migrate", "slipway-pr-123-web"], "no task of the preview's creates databases"
    assert pr.outputs["database_admin"] == dev.outputs["preview"]["db_admin_state_machine_arn"], "for the teardown"


T_TASK = "aws:ecs/taskDefinition:TaskDefinition"


def test_pr_123_creates_no_load_balancer_nat_gateway_or_rds_instance(pr: ResourceGraph) -> None:
    forbidden = {"aws:lb/loadBalancer:LoadBalancer", "aws:ec2/natGateway:NatGateway", "aws:rds/instance:Instance"}
    assert not [r.name for r in pr.resources if r.type in forbidden]
    assert not pr.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"), "no new way in"


def test_a_preview_target_is_healthy_sooner_than_devs_within_elb_limits(pr: ResourceGraph, dev: ResourceGraph) -> None:
    """The first URL waits for healthy_threshold x interval: the preview's is the shortest ELB accepts
    (CreateTargetGroup in botocore's elbv2 model: interval 5-300 s, threshold 2-10), with its timeout below the
    interval."""
    shape = botocore.session.get_session().get_service_model("elbv2").shape_for("CreateTargetGroupInput")
    check = pr.one("aws:lb/targetGroup:TargetGroup").inputs["healthCheck"]
    lo = {k: shape.members[k].metadata["min"] for k in ("HealthCheckIntervalSeconds", "HealthyThresholdCount")}
    assert (check["interval"], check["healthyThreshold"]) == (
        lo["HealthCheckIntervalSeconds"],
        lo["HealthyThresholdCount"],
    )
    assert shape.members["HealthCheckTimeoutSeconds"].metadata["min"] <= check["timeout"] < check["interval"]
    dev_check = dev.by_type("aws:lb/targetGroup:TargetGroup")[0].inputs["healthCheck"]
    assert check["interval"] * check["healthyThreshold"] < dev_check["interval"] * dev_check["healthyThreshold"]


def test_pr_123_costs_at_most_a_cent_an_hour(pr: ResourceGraph) -> None:
    est = cost.estimate(pr.resources, pr.stack, environment=environment_for(pr.stack))
    assert not est.unpriced
    assert est.total / est.assumptions["hours"] <= 0.01
    assert est.total > 0  # the service is priced, not free


def test_the_preview_runs_on_dev_pieces_on_fargate_spot_at_the_smallest_size(
    pr: ResourceGraph, dev: ResourceGraph
) -> None:
    shared = dev.outputs["preview"]
    service = pr.one("aws:ecs/service:Service")
    assert service.input("capacityProviderStrategies") == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    assert service.input("cluster") == shared["cluster_arn"]
    assert service.input("networkConfiguration", "securityGroups") == [
        shared["task_security_group_id"],
        shared["db_client_security_group_id"],
    ]
    web = next(td for td in pr.by_type(T_TASK) if td.input("family").endswith("-web"))
    assert (web.input("cpu"), web.input("memory")) == ("256", "512")
    rule = pr.one("aws:lb/listenerRule:ListenerRule")
    assert rule.input("listenerArn") == shared["https_listener_arn"]
    assert rule.input("priority") == PRIORITY_BASE + 123
    assert rule.input("conditions") == [{"pathPattern": {"values": ["/pr-123", "/pr-123/*"]}}]  # dev has no domain
    logs = pr.one("aws:cloudwatch/logGroup:LogGroup")
    assert logs.input("retentionInDays") <= 7


def test_the_app_reaches_only_its_own_database(pr: ResourceGraph, dev: ResourceGraph) -> None:
    policies = {p.name: json.dumps(p.json_input("policy")) for p in pr.by_type("aws:iam/rolePolicy:RolePolicy")}
    assert sorted(policies) == ["slipway-pr-123-execution-policy", "slipway-pr-123-task-policy"]
    task_policy = json.loads(policies["slipway-pr-123-task-policy"])
    [statement] = task_policy["Statement"]
    assert statement["Action"] == "rds-db:connect"
    assert statement["Resource"].endswith(":dbuser:" + dev.outputs["preview"]["db_resource_id"] + "/pr_123")
    web = next(td for td in pr.by_type(T_TASK) if td.input("family").endswith("-web"))
    env = {e["name"]: e["value"] for e in json.loads(web.input("containerDefinitions"))[0]["environment"]}
    assert (env["DB_NAME"], env["DB_USER"], env["DB_IAM_AUTH"]) == ("pr_123", "pr_123", "true")


def test_listener_priorities_never_collide_and_stay_in_the_alb_range() -> None:
    priorities = [listener_priority(n) for n in range(1, MAX_PR_NUMBER + 1)]
    assert len(set(priorities)) == MAX_PR_NUMBER
    assert min(priorities) > PRIORITY_BASE and max(priorities) == 50_000
    for bad in (0, MAX_PR_NUMBER + 1):
        with pytest.raises(ValueError, match="previews exist for PRs"):
            listener_priority(bad)


def test_preview_stack_names() -> None:
    assert preview_number("pr-123") == 123
    assert preview_number("org/slipway/pr-7") == 7
    assert [preview_number(s) for s in ("dev", "pr-0", "pr-012", "pr-1a", "prod")] == [None] * 5
    assert environment_for("pr-123") == "preview"


def test_a_misspelt_preview_stack_key_is_refused_with_the_fix_before_any_resource(dev: ResourceGraph) -> None:
    from slipway_aws.config import ConfigError

    with pytest.raises(
        ConfigError, match=r"slipway:imageUrl: not a key of this stack; did you mean slipway:imageUri\?"
    ):
        run_stack("pr-123", root=ROOT, stack_references={"dev": dev.outputs}, overrides={"slipway:imageUrl": "x"})
    with pytest.raises(
        ConfigError, match=r"slipway:environment: not a key of this stack; it takes only slipway:previewOf"
    ):
        run_stack("pr-123", root=ROOT, stack_references={"dev": dev.outputs}, overrides={"slipway:environment": "dev"})


def test_a_preview_of_a_program_without_previews_says_what_the_program_needs() -> None:
    """Another team's project whose program neither exports `preview` nor runs preview_program: one clear error,
    not its WebAppArgs' complaints about a stack file pr-<n> never has."""
    from slipway.offline import StackFileError

    with pytest.raises(StackFileError, match=r"exports no `preview` output: .*export_shared\(app\).*preview_program"):
        run_stack("pr-7", root=ROOT / "examples" / "reuse")


def test_a_missing_stack_reference_is_a_clear_error() -> None:
    import pulumi

    def program() -> None:
        pulumi.export("x", pulumi.StackReference("org/slipway/dev").get_output("preview"))

    with pytest.raises(Exception, match="no outputs of stack 'dev'"):
        run_program(program)


def _fake(type_: str, name: str, **inputs: Any) -> dict[str, Any]:
    return {"urn": f"urn:{name}", "type": type_, "name": name, "inputs": inputs, "dependencies": []}


def test_policy_refuses_a_preview_with_its_own_load_balancer_or_anothers_priority(pr: ResourceGraph) -> None:
    assert not [f for f in evaluate(pr.resources, "preview") if f.mandatory]
    tags = {"preview": "pr-5"}
    bad = [
        _fake("aws:lb/loadBalancer:LoadBalancer", "alb", tags=tags),
        _fake("aws:lb/listenerRule:ListenerRule", "rule", tags=tags, priority=PRIORITY_BASE + 6),
    ]
    found = {(f.rule, f.name) for f in evaluate(bad, "preview")}
    assert ("preview-shares-dev", "alb") in found
    assert ("preview-listener-priority", "rule") in found


def test_bad_preview_args_are_refused_at_once_before_any_resource() -> None:
    from slipway_aws.preview import PreviewAppArgs
    from slipway_aws.validation import ArgsError

    with pytest.raises(ArgsError) as caught:
        PreviewAppArgs(pr_number=MAX_PR_NUMBER + 1, shared={"region": "us-east-1"}, cpu=1024, memory=2048)
    assert {p.field for p in caught.value.problems} == {"pr_number", "shared", "cpu"}
