"""The contract between the infrastructure and the app it deploys, checked from both sides in one place.

The container definitions that the recorded graph holds (environment, secrets, command, port, health check, stop
timeout) must be exactly what the real app accepts: a rename on either side fails here, not in a deploy.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from components.containers import STOP_TIMEOUT_SECONDS
from slipway.offline import ResourceGraph


def container(graph: ResourceGraph, task: str) -> dict[str, Any]:
    task_def = graph.one("aws:ecs/taskDefinition:TaskDefinition", task)
    return json.loads(task_def.input("containerDefinitions"))[0]


def test_the_app_accepts_the_environment_and_secrets_ecs_injects(
    stack: ResourceGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slipway_app.settings import Settings, load_settings

    web = container(stack, "web-task")
    env = {e["name"]: e["value"] for e in web["environment"]}
    secrets = {s["name"] for s in web["secrets"]}
    fields = {name.upper() for name in Settings.model_fields}
    assert set(env) | secrets <= fields, f"ECS sets variables the app never reads: {(set(env) | secrets) - fields}"
    assert secrets == {"DB_PASSWORD", "SECRET_KEY"}
    for key in fields:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # Secrets Manager values as AppSecrets generates them (40 characters, its specials).
    monkeypatch.setenv("DB_PASSWORD", "Ab1-_.~!#$%^&*()+=[]{}:?" + "x" * 15)
    monkeypatch.setenv("SECRET_KEY", "Kk9" + "y" * 37)
    settings = load_settings()
    assert settings.app_env in {"dev", "prod"} and settings.db_sslmode == "require"
    assert settings.port == web["portMappings"][0]["containerPort"]
    assert settings.sqlalchemy_url().get_backend_name() == "postgresql"


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

    from components.config import APP_DB_CONNECTIONS_PER_WORKER

    assert db.POOL_SIZE + db.MAX_OVERFLOW == APP_DB_CONNECTIONS_PER_WORKER
