"""AppSecrets: generated values stay secret, containers get them only by valueFrom, reads are scoped."""

from __future__ import annotations

import json

import pulumi
import pytest

from slipway.offline import ResourceGraph, SecretValue, run_program
from slipway_aws.secrets import AppSecrets, AppSecretsArgs, read_policy_document

VERSION = "aws:secretsmanager/secretVersion:SecretVersion"


def test_secret_values_come_from_random_and_are_secret_in_state(stack: ResourceGraph) -> None:
    versions = stack.by_type(VERSION)
    assert len(versions) == 1, "only the app's signing key: RDS manages the database password"
    assert all(isinstance(v.inputs["secretString"], SecretValue) for v in versions)
    passwords = stack.by_type("random:index/randomPassword:RandomPassword")
    assert len(passwords) == 1 and all(p.input("length") >= 32 for p in passwords)
    assert all("/" not in p.input("overrideSpecial") and "@" not in p.input("overrideSpecial") for p in passwords)


def test_no_secret_value_appears_in_any_task_definition_or_the_plan_json(stack: ResourceGraph) -> None:
    values = [v.input("secretString") for v in stack.by_type(VERSION)]
    dumped = json.dumps(stack.to_json(), default=str)
    assert values and not any(value in dumped for value in values)
    for task_def in stack.by_type("aws:ecs/taskDefinition:TaskDefinition"):
        container = json.loads(task_def.input("containerDefinitions"))[0]
        assert {s["name"] for s in container["secrets"]} <= {"DB_PASSWORD", "SECRET_KEY"}
        assert all(s["valueFrom"].startswith("arn:aws:secretsmanager:") for s in container["secrets"])
        assert not {"DB_PASSWORD", "SECRET_KEY"} & {e["name"] for e in container["environment"]}


def test_recovery_window_is_longer_in_prod(dev: ResourceGraph, prod: ResourceGraph) -> None:
    secret = "aws:secretsmanager/secret:Secret"
    assert {s.input("recoveryWindowInDays") for s in dev.by_type(secret)} == {7}
    assert {s.input("recoveryWindowInDays") for s in prod.by_type(secret)} == {30}


def test_read_policy_names_exactly_the_given_arns() -> None:
    doc = json.loads(read_policy_document(["arn:b", "arn:a"]))
    (statement,) = doc["Statement"]
    assert statement["Action"] == ["secretsmanager:GetSecretValue"] and statement["Resource"] == ["arn:a", "arn:b"]


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"recovery_window_days": 3}, "7 to 30"), ({"password_length": 8}, "at least 20")]
)
def test_bad_args_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_program(lambda: AppSecrets("s", AppSecretsArgs(**kwargs)))


def test_generated_values_get_their_own_secret_pinned_reference_and_read_grant() -> None:
    refs: list[dict[str, str]] = []
    policies: list[str] = []

    def program() -> None:
        secrets = AppSecrets("s", AppSecretsArgs(generate=("API_TOKEN",)))
        pulumi.Output.all(**secrets.container_secrets).apply(refs.append)
        secrets.read_policy_json.apply(policies.append)

    graph = run_program(program)
    token = graph.one("aws:secretsmanager/secret:Secret", "s-api-token")
    assert token.input("description") == "API_TOKEN of the web app"
    assert isinstance(graph.one(VERSION, "s-api-token-version").inputs["secretString"], SecretValue)
    assert set(refs[0]) == {"DB_PASSWORD", "SECRET_KEY", "API_TOKEN"}
    assert refs[0]["API_TOKEN"].startswith(token.outputs["arn"] + ":::")
    (statement,) = json.loads(policies[0])["Statement"]
    assert token.outputs["arn"] in statement["Resource"] and len(statement["Resource"]) == 3


@pytest.mark.parametrize(
    ("generate", "message"),
    [
        (("SECRET_KEY",), "already set by AppSecrets itself"),
        (("A", "a"), "given twice"),
        (("9LIVES",), "not an environment variable name"),
        ("API_TOKEN", "must be a list"),
    ],
)
def test_generated_names_that_cannot_work_are_refused(generate: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AppSecretsArgs(generate=generate)  # type: ignore[arg-type]


def _web_secrets(graph: ResourceGraph) -> dict[str, str]:
    web = next(t for t in graph.by_type("aws:ecs/taskDefinition:TaskDefinition") if t.input("family").endswith("-web"))
    container = json.loads(web.input("containerDefinitions"))[0]
    return {s["name"]: s["valueFrom"] for s in container["secrets"]}


def test_containers_read_the_secret_version_the_stack_wrote(stack: ResourceGraph) -> None:
    """valueFrom is pinned (<arn>:<json-key>:<stage>:<version-id>, the ECS-documented form) to the version this stack
    wrote, so a new value is a new task definition: the gate reruns and the service rolls."""
    versions = {v.input("secretId"): v.outputs["versionId"] for v in stack.by_type(VERSION)}
    for value_from in _web_secrets(stack).values():
        arn, json_key, stage, version_id = value_from.rsplit(":", 3)
        assert (json_key, stage) == ("", "") and versions[arn] == version_id, value_from


def test_a_new_password_rolls_the_service() -> None:
    """Regenerating the password (here: a longer one) changes the reference containers read it by, so the task
    definitions change and the service rolls; the secret's ARN alone would stay the same."""
    refs: list[dict[str, str]] = []

    def program(length: int) -> None:
        secrets = AppSecrets("s", AppSecretsArgs(password_length=length))
        pulumi.Output.all(**secrets.container_secrets).apply(refs.append)

    run_program(lambda: program(40))
    run_program(lambda: program(48))
    first, second = refs
    assert first["DB_PASSWORD"] != second["DB_PASSWORD"], "a new value: a new valueFrom, a new task definition"
    assert first["DB_PASSWORD"].split(":::")[0] == second["DB_PASSWORD"].split(":::")[0], "the same secret"
    assert first["SECRET_KEY"] != second["SECRET_KEY"]
