"""The migration gate in the recorded graph: same image, secrets and network as the service, runs after the
database exists, and the service waits for it; a rollout check follows the service."""

from __future__ import annotations

import json

from slipway.offline import Resource, ResourceGraph

GATE = "pulumi-python:dynamic/slipway:MigrationGate"
ROLLOUT = "pulumi-python:dynamic/slipway:RolloutCheck"


def gate(graph: ResourceGraph) -> Resource:
    return graph.one(GATE, "migrate-gate")


def containers(graph: ResourceGraph) -> tuple[dict, dict]:
    web = graph.one("aws:ecs/taskDefinition:TaskDefinition", "web-task")
    migrate = graph.one("aws:ecs/taskDefinition:TaskDefinition", "migrate-task")
    return (json.loads(web.input("containerDefinitions"))[0], json.loads(migrate.input("containerDefinitions"))[0])


def test_gate_depends_on_the_database_and_the_migration_task_definition(stack: ResourceGraph) -> None:
    g = gate(stack)
    assert stack.depends_on(g, stack.one("aws:rds/instance:Instance"))
    task_def = stack.one("aws:ecs/taskDefinition:TaskDefinition", "migrate-task")
    assert task_def.urn in g.dependencies
    assert g.input("task_definition") == task_def.outputs["arn"]


def test_service_depends_on_the_gate_and_the_rollout_check_on_the_service(stack: ResourceGraph) -> None:
    service = stack.one("aws:ecs/service:Service")
    assert gate(stack).urn in service.dependencies
    rollout = stack.one(ROLLOUT, "rollout")
    assert stack.depends_on(rollout, service)
    assert (
        rollout.input("task_definition")
        == stack.one("aws:ecs/taskDefinition:TaskDefinition", "web-task").outputs["arn"]
    )


def test_migration_runs_the_exact_image_digest_secrets_and_env_of_the_service(stack: ResourceGraph) -> None:
    web, migrate = containers(stack)
    assert migrate["image"] == web["image"] == stack.outputs["image"] and "@sha256:" in migrate["image"]
    assert gate(stack).input("image_digest") == web["image"]
    # The same app settings, except who signs in: the migration as master (RDS-managed secret, read at task start)
    # and creating the login role; the service as that role with IAM tokens (tests/test_app_contract.py).
    web_env = {e["name"]: e["value"] for e in web["environment"]}
    migrate_env = {e["name"]: e["value"] for e in migrate["environment"]}
    signing_in = {"DB_USER", "DB_IAM_AUTH", "DB_REGION", "DB_APP_ROLE"}
    assert {k: v for k, v in web_env.items() if k not in signing_in} == {
        k: v for k, v in migrate_env.items() if k not in signing_in
    }
    assert migrate_env["DB_APP_ROLE"] == web_env["DB_USER"] != migrate_env["DB_USER"]
    assert [s for s in migrate["secrets"] if s["name"] != "DB_PASSWORD"] == web["secrets"]
    assert (
        migrate["command"] == ["app", "migrate"]
        and migrate["logConfiguration"]["options"]["awslogs-stream-prefix"] == "migrate"
    )
    assert migrate["readonlyRootFilesystem"] is True and migrate["user"] == web["user"]
    assert "portMappings" not in migrate and "healthCheck" not in migrate


def test_migration_uses_the_service_subnets_and_public_ip_setting(stack: ResourceGraph) -> None:
    net = stack.one("aws:ecs/service:Service").input("networkConfiguration")
    g = gate(stack)
    assert g.input("subnets") == net["subnets"]
    assert g.input("assign_public_ip") == net["assignPublicIp"]
    assert g.input("cluster") == stack.one("aws:ecs/cluster:Cluster").outputs["arn"]


def test_database_security_group_admits_the_migration_task(stack: ResourceGraph) -> None:
    rule = [
        r
        for r in stack.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name.endswith("db-from-clients")
    ][0]
    client_sg = rule.input("referencedSecurityGroupId")
    assert client_sg in gate(stack).input("security_groups")
    assert client_sg in stack.one("aws:ecs/service:Service").input("networkConfiguration")["securityGroups"]
