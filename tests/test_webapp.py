"""WebApp's own behaviour beyond the stack program: switches, objects accepted for ids, names, secrets by name."""

from __future__ import annotations

import pulumi
import pytest

from slipway.offline import ResourceGraph, run_program
from slipway_aws import EcsCluster, EcsClusterArgs, Network, NetworkArgs
from slipway_aws.validation import ArgsError
from slipway_aws.webapp import WebApp, WebAppArgs

IMAGE = "210987654321.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:" + "b" * 64
SECRET = "arn:aws:secretsmanager:us-east-1:210987654321:secret:stripe-AbCdEf"


def plan(stack: str = "dev", **fields: object) -> tuple[ResourceGraph, dict[str, WebApp]]:
    made: dict[str, WebApp] = {}

    def program() -> None:
        made["app"] = WebApp("shop", WebAppArgs(image_uri=IMAGE, profile="dev", **fields))  # type: ignore[arg-type]

    return run_program(program, stack=stack), made


def web_container(graph: ResourceGraph) -> dict:
    return graph.one("aws:ecs/taskDefinition:TaskDefinition", "web-task").json_input("containerDefinitions")[0]


def test_children_are_attributes_and_names_carry_the_stack() -> None:
    graph, made = plan(stack="qa")
    app = made["app"]
    for child in (
        "network",
        "registry",
        "app_secrets",
        "logs",
        "roles",
        "db",
        "ecs",
        "migration",
        "certificate",
        "web",
        "rollout",
        "alarms",
    ):
        assert isinstance(getattr(app, child), pulumi.Resource), child
    assert app.image is None and app.access_log_bucket is None  # image_uri given; dev: no access logs
    names = [r.name for r in graph.resources if r.type != "slipway:aws:WebApp"]
    assert names and all(n.startswith("shop-qa") for n in names)
    assert not any({"parent": None} in r.aliases for r in graph.resources)  # only moved programs need aliases


def test_without_a_database_there_is_no_db_env_gate_or_alarm() -> None:
    graph, made = plan(database=False)
    assert not graph.by_type("aws:rds/instance:Instance") and made["app"].migration is None
    env = {e["name"] for e in web_container(graph)["environment"]}
    assert "PORT" in env and not any(n.startswith("DB_") for n in env)
    assert made["app"].alarms is None and made["app"].db_endpoint is None


def test_extra_secrets_by_name_reach_the_container_and_the_execution_role() -> None:
    graph, _ = plan(secrets={"STRIPE_KEY": f"{SECRET}:key::"})
    assert {"name": "STRIPE_KEY", "valueFrom": f"{SECRET}:key::"} in web_container(graph)["secrets"]
    policy = graph.one("aws:iam/rolePolicy:RolePolicy", "-dev-execution-policy").json_input("policy")
    read = next(s for s in policy["Statement"] if s["Sid"] == "ReadAppSecrets")
    assert SECRET in read["Resource"]


def test_generated_secrets_reach_the_service_the_migration_and_the_execution_role() -> None:
    graph, made = plan(generated_secrets=["API_TOKEN", "WEBHOOK_SIGNING_KEY"])
    versions = {v.input("secretId"): v for v in graph.by_type("aws:secretsmanager/secretVersion:SecretVersion")}
    assert len(versions) == 3, "SECRET_KEY and the two generated values (RDS manages the database password)"
    migrate = graph.one("aws:ecs/taskDefinition:TaskDefinition", "migrate").json_input("containerDefinitions")[0]
    policy = graph.one("aws:iam/rolePolicy:RolePolicy", "-dev-execution-policy").json_input("policy")
    read = next(s for s in policy["Statement"] if s["Sid"] == "ReadAppSecrets")
    for name in ("API_TOKEN", "WEBHOOK_SIGNING_KEY"):
        value_from = {s["name"]: s["valueFrom"] for s in web_container(graph)["secrets"]}[name]
        arn, _, _, version_id = value_from.rsplit(":", 3)
        assert versions[arn].outputs["versionId"] == version_id, "pinned to the version the stack wrote"
        assert arn in read["Resource"]
        assert value_from in {s["valueFrom"] for s in migrate["secrets"]}
        assert name not in {e["name"] for e in web_container(graph)["environment"]}
    assert set(made["app"].app_secrets.container_secrets) == {"SECRET_KEY", "API_TOKEN", "WEBHOOK_SIGNING_KEY"}


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"generated_secrets": ["PORT"]}, "PORT is already set by WebApp from container_port"),
        ({"generated_secrets": ["DB_PASSWORD"]}, "DB_PASSWORD is already set by WebApp itself"),
        ({"generated_secrets": ["STRIPE_KEY"], "secrets": {"STRIPE_KEY": SECRET}}, "already set by secrets"),
        ({"generated_secrets": ["MODE"], "env": {"MODE": "x"}}, "already set by env"),
        ({"generated_secrets": ["API_TOKEN", "api_token"]}, "given twice"),
        ({"generated_secrets": ["API-TOKEN"]}, "not an environment variable name"),
        ({"generated_secrets": "API_TOKEN"}, "must be a list"),
    ],
)
def test_generated_secret_names_that_cannot_work_are_refused(fields: dict, named: str) -> None:
    with pytest.raises(ArgsError, match=named) as err:
        WebAppArgs(**{"image_uri": IMAGE, "profile": "dev", **fields})
    assert [p.field for p in err.value.problems] == ["generated_secrets"]


def test_component_objects_are_accepted_for_ids() -> None:
    made: dict[str, WebApp] = {}

    def program() -> None:
        net = Network("shared-net", NetworkArgs(cidr_block="10.50.0.0/16", az_count=2, nat_strategy="none"))
        cluster = EcsCluster("shared", EcsClusterArgs())
        made["app"] = WebApp("shop", WebAppArgs(image_uri=IMAGE, profile="dev", network=net, cluster=cluster))

    graph = run_program(program)
    assert len(graph.by_type("aws:ec2/vpc:Vpc")) == 1 and len(graph.by_type("aws:ecs/cluster:Cluster")) == 1
    assert made["app"].network.urn is not None
    service = graph.one("aws:ecs/service:Service")
    cluster = graph.one("aws:ecs/cluster:Cluster")
    assert service.input("cluster") == cluster.outputs["arn"]


def test_container_health_check_is_off_unless_given() -> None:
    graph, _ = plan()
    assert "healthCheck" not in web_container(graph)
    graph, _ = plan(container_health_check=["CMD", "/shop", "health"])
    assert web_container(graph)["healthCheck"]["command"] == ["CMD", "/shop", "health"]


def test_managed_password_is_read_from_the_rds_secret() -> None:
    graph, _ = plan(db_password_managed=True, db_app_role=None)  # the service itself signs in as master
    db = graph.one("aws:rds/instance:Instance")
    assert db.input("manageMasterUserPassword") is True and "password" not in db.inputs
    value_from = {s["name"]: s["valueFrom"] for s in web_container(graph)["secrets"]}["DB_PASSWORD"]
    assert ":secret:rds!db-" in value_from and value_from.endswith(":password::")


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"image_uri": None}, "build_context"),
        ({"build_context": "app"}, "build_context"),
        ({"profile": "staging"}, "profile"),
        ({"profile": "prod"}, "certificate_arn"),
    ],
)
def test_args_refuse_what_cannot_work(fields: dict, bad: str) -> None:
    with pytest.raises(ArgsError, match=bad):
        WebAppArgs(**{"image_uri": IMAGE, "profile": "dev", **fields})


def test_a_transform_on_the_webapp_customises_any_descendant() -> None:
    """The escape hatch for what WebAppArgs does not cover: Pulumi ``transforms`` on the WebApp reach every descendant
    (the recording monitor applies them in the engine's order, see slipway/mocks.py)."""

    def slower_draining(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ == "aws:lb/targetGroup:TargetGroup":
            return pulumi.ResourceTransformResult({**args.props, "deregistrationDelay": 120}, args.opts)
        return None

    def program() -> None:
        WebApp(
            "shop",
            WebAppArgs(image_uri=IMAGE, profile="dev"),
            opts=pulumi.ResourceOptions(transforms=[slower_draining]),
        )

    graph = run_program(program)
    assert graph.one("aws:lb/targetGroup:TargetGroup").input("deregistrationDelay") == 120


def test_grandchildren_are_reachable_too() -> None:
    _, made = plan()
    web, db = made["app"].web, made["app"].db
    assert isinstance(web.load_balancer, pulumi.CustomResource) and isinstance(web.service, pulumi.CustomResource)
    assert isinstance(web.target_group, pulumi.CustomResource) and len(web.listeners) == 2
    assert isinstance(db.instance, pulumi.CustomResource)
