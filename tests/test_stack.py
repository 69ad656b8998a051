"""Stack-level: the dev and prod programs from their real YAML files, outputs, and the offline plan CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from slipway.offline import ResourceGraph, SecretValue, load_config, run_stack
from slipway.plan import main

OUTPUTS = {"url", "image", "db_endpoint", "log_group", "cluster", "service", "alarm_topic"}
SHARED = {"dev": {"preview"}, "prod": set()}  # what pr-<n> stacks read: dev only (WebAppArgs.previews)
# Every resource type the issue names, by the component that owns it.
REQUIRED_TYPES = {
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ecr/repository:Repository",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "docker:index/image:Image",
    "aws:secretsmanager/secret:Secret",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "random:index/randomPassword:RandomPassword",
    "aws:rds/instance:Instance",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:sns/topic:Topic",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:cloudwatch/dashboard:Dashboard",
    "aws:ecs/cluster:Cluster",
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:ecs/service:Service",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:lb/listener:Listener",
    "aws:lb/targetGroup:TargetGroup",
    "aws:acm/certificate:Certificate",
    "aws:appautoscaling/target:Target",
    "aws:appautoscaling/policy:Policy",
    "aws:iam/role:Role",
    "pulumi-python:dynamic/slipway:MigrationGate",
    "pulumi-python:dynamic/slipway:RolloutCheck",
    "aws:ec2/natGateway:NatGateway",
    "aws:route53/record:Record",
}


def test_stack_exports_every_documented_output(stack: ResourceGraph) -> None:
    assert set(stack.outputs) == OUTPUTS | SHARED[stack.stack]
    assert stack.outputs["url"].startswith("https://")
    assert stack.outputs["db_endpoint"].endswith(":5432")


def test_every_component_uses_the_slipway_type_token_and_parents_its_children(stack: ResourceGraph) -> None:
    components = [r for r in stack.resources if not r.custom and not r.type.startswith("pulumi-python:dynamic")]
    assert components and all(r.type.startswith("slipway:aws:") for r in components)
    component_urns = {c.urn for c in components}
    cloud = [r for r in stack.resources if r.custom]
    top_level = [r.name for r in cloud if r.parent not in component_urns]
    assert top_level == [], top_level  # the rollout check too: everything is a child of the one WebApp


def test_prod_json_plan_lists_every_resource_named_in_the_design() -> None:
    out = io.StringIO()
    assert main(["plan", "--stack", "prod", "--json"], out=out) == 0
    doc = json.loads(out.getvalue())
    assert doc["stack"] == "prod" and set(doc["outputs"]) == OUTPUTS
    types = {r["type"] for r in doc["resources"]}
    assert REQUIRED_TYPES <= types, REQUIRED_TYPES - types
    first = doc["resources"][0]
    assert set(first) == {"urn", "type", "name", "parent", "inputs", "dependencies"}


def test_json_plan_masks_secret_values() -> None:
    out = io.StringIO()
    assert main(["plan", "--stack", "dev", "--format", "json"], out=out) == 0
    text = out.getvalue()
    graph = run_stack("dev")
    secrets = [r.input("secretString") for r in graph.by_type("aws:secretsmanager/secretVersion:SecretVersion")]
    assert secrets and not any(s in text for s in secrets)
    doc = json.loads(text)
    version = next(r for r in doc["resources"] if r["type"].endswith("SecretVersion"))
    assert version["inputs"]["secretString"] == "[secret]"
    db = next(r for r in doc["resources"] if r["type"] == "aws:rds/instance:Instance")
    assert db["inputs"].get("password") is None and db["inputs"]["manageMasterUserPassword"] is True


def test_text_plan_shows_the_tree_with_key_settings_and_no_colour_when_piped() -> None:
    out = io.StringIO()
    assert main(["plan", "--stack", "dev"], out=out) == 0
    text = out.getvalue()
    assert "\033[" not in text
    assert "slipway:aws:WebService" in text and "slipway-dev-web-https" in text
    assert "sslPolicy=ELBSecurityPolicy-TLS13" in text and "retentionInDays=14" in text
    assert "outputs:" in text and "db_endpoint" in text


def test_bad_config_fails_with_every_problem_and_registers_nothing() -> None:
    with pytest.raises(Exception) as err:
        run_stack("prod", overrides={"slipway:deletionProtection": False, "slipway:natStrategy": "nat"})
    assert err.value.resources_registered == 0  # type: ignore[attr-defined]
    assert "slipway:deletionProtection" in str(err.value) and "slipway:natStrategy" in str(err.value)


def test_cli_reports_bad_config_and_unknown_stacks_with_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    import slipway.plan as plan
    from slipway import offline

    original = offline.run_stack
    monkeypatch.setattr(
        plan, "run_stack", lambda s, **kw: original(s, overrides={"slipway:backupRetentionDays": 99}, **kw)
    )
    err = io.StringIO()
    assert plan.main(["plan", "--stack", "dev"], out=io.StringIO(), err=err) == 2
    assert "slipway:backupRetentionDays: 99\n" in err.getvalue() and "from 1 to 35" in err.getvalue()
    assert "fix: slipway:backupRetentionDays: 35" in err.getvalue()
    monkeypatch.setattr(plan, "run_stack", original)
    err = io.StringIO()
    assert plan.main(["plan", "--stack", "qa"], out=io.StringIO(), err=err) == 2
    assert "no stack file Pulumi.qa.yaml" in err.getvalue() and "dev" in err.getvalue()


def test_secure_config_values_become_placeholders_that_stay_secret(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(
        "name: demo\nruntime: python\nconfig:\n  size:\n    type: integer\n    default: 3\n"
    )
    (tmp_path / "Pulumi.s.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  demo:token:\n    secure: v1:c2FsdHNhbHQ=:AAAAencrypted\n"
    )
    (tmp_path / "__main__.py").write_text(
        "import pulumi\ncfg = pulumi.Config()\npulumi.export('token', cfg.require_secret('token'))\n"
        "pulumi.export('size', cfg.require_int('size'))\n"
    )
    project, config, secret_keys = load_config("s", tmp_path)
    assert project == "demo" and secret_keys == ["demo:token"] and config["demo:size"] == "3"
    assert "v1:AAAA" not in config["demo:token"]
    graph = run_stack("s", root=tmp_path)
    assert isinstance(graph.outputs["token"], SecretValue) and graph.outputs["size"] == 3
    assert graph.to_json()["outputs"]["token"] == "[secret]"


def test_stacks_differ_where_the_profiles_say(dev: ResourceGraph, prod: ResourceGraph) -> None:
    assert len(prod.resources) > len(dev.resources)
    assert dev.one("aws:ec2/vpc:Vpc").input("cidrBlock") != prod.one("aws:ec2/vpc:Vpc").input("cidrBlock")


def test_the_longest_allowed_app_name_fits_every_aws_name_limit() -> None:
    """The offline mocks refuse names AWS refuses (never truncate), so this run proves the limit in config is right."""
    from slipway.offline import run_stack
    from slipway_aws.webapp_args import MAX_PREFIX

    app = "a" * (MAX_PREFIX - len("-prod"))
    graph = run_stack("prod", overrides={"slipway:appName": app})
    assert len(graph.one("aws:lb/loadBalancer:LoadBalancer").outputs["name"]) <= 32
    assert len(graph.one("aws:lb/targetGroup:TargetGroup").outputs["name"]) <= 32


def test_the_mocks_refuse_names_aws_would_refuse() -> None:
    import pulumi_aws as aws

    from slipway.offline import run_program

    with pytest.raises(Exception, match="AWS allows 32"):
        run_program(
            lambda: aws.lb.TargetGroup(
                "a-very-long-application-name-prod-web-tg", port=80, protocol="HTTP", vpc_id="vpc-1"
            )
        )
