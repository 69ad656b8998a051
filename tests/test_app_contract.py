"""The contract between the infrastructure and the app it deploys, checked from both sides in one place.

The container definitions that the recorded graph holds (environment, secrets, command, port, health check, stop
timeout) must be exactly what the real app accepts: a rename on either side fails here, not in a deploy.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from slipway.offline import ResourceGraph
from slipway_aws.containers import STOP_TIMEOUT_SECONDS


def container(graph: ResourceGraph, task: str) -> dict[str, Any]:
    task_def = graph.one("aws:ecs/taskDefinition:TaskDefinition", task)
    return json.loads(task_def.input("containerDefinitions"))[0]


def _load_as_ecs_would(monkeypatch: pytest.MonkeyPatch, task: dict[str, Any]) -> Any:
    """The app's settings from exactly what ECS injects into ``task`` (secrets as Secrets Manager would hold them)."""
    from slipway_app.settings import Settings, load_settings

    env = {e["name"]: e["value"] for e in task["environment"]}
    secrets = {s["name"] for s in task["secrets"]}
    fields = {name.upper() for name in Settings.model_fields}
    assert set(env) | secrets <= fields, f"ECS sets variables the app never reads: {(set(env) | secrets) - fields}"
    for key in fields:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if "DB_PASSWORD" in secrets:  # the RDS-managed master password: RDS's own character set
        monkeypatch.setenv("DB_PASSWORD", "Ab1-_.~!#$%^&*()+=[]{}:?" + "x" * 15)
    monkeypatch.setenv("SECRET_KEY", "Kk9" + "y" * 37)
    return load_settings()


def test_the_web_service_signs_in_with_iam_tokens_as_the_least_privileged_role(
    stack: ResourceGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No database password reaches the service: it connects as app_iam with IAM tokens (a master-password
    rotation never breaks it), and its task role may connect as exactly that role."""
    web = container(stack, "web-task")
    assert {s["name"] for s in web["secrets"]} == {"SECRET_KEY"}
    settings = _load_as_ecs_would(monkeypatch, web)
    assert settings.db_iam_auth is True and settings.db_user == "app_iam" and settings.db_password is None
    assert settings.app_env in {"dev", "prod"} and settings.db_sslmode == "verify-full"
    from slipway_app.settings import RDS_CA_BUNDLE

    assert settings.sqlalchemy_url().query["sslrootcert"] == str(RDS_CA_BUNDLE), "checked against RDS's own CAs"
    assert settings.port == web["portMappings"][0]["containerPort"]
    assert settings.sqlalchemy_url().get_backend_name() == "postgresql"
    task_role = stack.one("aws:iam/role:Role", f"-{stack.stack}-task")
    (policy,) = [  # the task role's own policy (dev's ECS Exec policy is another: tests/test_task_roles.py)
        p
        for p in stack.by_type("aws:iam/rolePolicy:RolePolicy")
        if p.input("role") == task_role.outputs["name"] and p.name.endswith("-task-policy")
    ]
    (statement,) = json.loads(policy.input("policy"))["Statement"]
    db = stack.one("aws:rds/instance:Instance")
    assert statement["Action"] == "rds-db:connect"
    assert statement["Resource"].endswith(f":dbuser:{db.outputs['resourceId']}/app_iam")


def test_the_migration_signs_in_as_master_with_the_rds_managed_secret_and_creates_the_role(
    stack: ResourceGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate = container(stack, "migrate-task")
    secrets = {s["name"]: s["valueFrom"] for s in migrate["secrets"]}
    assert set(secrets) == {"DB_PASSWORD", "SECRET_KEY"}
    assert ":secret:rds!db-" in secrets["DB_PASSWORD"] and secrets["DB_PASSWORD"].endswith(":password::")
    settings = _load_as_ecs_would(monkeypatch, migrate)
    assert settings.db_app_role == "app_iam" and settings.db_user != "app_iam" and not settings.db_iam_auth
    execution = stack.one("aws:iam/rolePolicy:RolePolicy", f"-{stack.stack}-execution-policy")
    assert secrets["DB_PASSWORD"].removesuffix(":password::") in execution.input("policy"), "exec role reads it"


def test_commands_ports_and_health_checks_match_the_app(stack: ResourceGraph) -> None:
    from slipway_app.cli import build_parser
    from slipway_app.main import create_app

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert container(stack, "migrate-task")["command"][0] == "app"
    assert container(stack, "migrate-task")["command"][1] in commands
    from fastapi.testclient import TestClient

    target_group = stack.one("aws:lb/targetGroup:TargetGroup")
    with TestClient(create_app()) as client:  # liveness never touches the database
        assert client.get(target_group.input("healthCheck")["path"]).status_code == 200
    assert "/healthz" in json.dumps(container(stack, "web-task")["healthCheck"]["command"])


def test_gunicorn_drains_within_the_ecs_stop_timeout() -> None:
    conf = importlib.import_module("slipway_app.gunicorn_conf")
    assert conf.graceful_timeout < STOP_TIMEOUT_SECONDS, (
        f"gunicorn graceful_timeout {conf.graceful_timeout}s must stay below ECS stopTimeout {STOP_TIMEOUT_SECONDS}s"
    )


def test_the_connection_budget_uses_the_apps_real_pool() -> None:
    from slipway_app import db

    from slipway_aws.webapp_args import APP_DB_CONNECTIONS_PER_WORKER

    assert db.POOL_SIZE + db.MAX_OVERFLOW == APP_DB_CONNECTIONS_PER_WORKER
