"""TaskRoles: the execution role names exact ARNs; the app's own role has no permissions."""

from __future__ import annotations

import json

from slipway.offline import ResourceGraph
from slipway_aws.task_roles import execution_policy_document


def test_execution_policy_names_exactly_our_repo_log_group_and_secrets(stack: ResourceGraph) -> None:
    policy = json.loads(stack.one("aws:iam/rolePolicy:RolePolicy", f"-{stack.stack}-execution-policy").input("policy"))
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    repo_arn = stack.one("aws:ecr/repository:Repository").outputs["arn"]
    log_arn = stack.one("aws:cloudwatch/logGroup:LogGroup", "-app").outputs["arn"]
    master = stack.one("aws:rds/instance:Instance").outputs["masterUserSecrets"][0]["secretArn"]
    secret_arns = sorted([*(s.outputs["arn"] for s in stack.by_type("aws:secretsmanager/secret:Secret")), master])
    assert by_sid["PullAppImage"]["Resource"] == [repo_arn]
    assert by_sid["WriteAppLogs"]["Resource"] == [f"{log_arn}:log-stream:*"]
    assert by_sid["ReadAppSecrets"]["Resource"] == secret_arns
    assert by_sid["ReadAppSecrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    wildcard = [s for s in policy["Statement"] if s["Resource"] == "*"]
    assert [s["Action"] for s in wildcard] == [["ecr:GetAuthorizationToken"]]


def test_task_role_has_no_policies_and_both_roles_trust_only_ecs_tasks(stack: ResourceGraph) -> None:
    own = (f"slipway-{stack.stack}-execution", f"slipway-{stack.stack}-task")  # dev's preview-db roles: test_preview_db
    ecs_roles = [r for r in stack.by_type("aws:iam/role:Role") if r.name in own]
    ecs_role_names = {r.outputs["name"] for r in ecs_roles}
    policies = [p for p in stack.by_type("aws:iam/rolePolicy:RolePolicy") if p.input("role") in ecs_role_names]
    exec_policy = [f"slipway-{stack.stack}-exec-policy"] if stack.stack == "dev" else []  # ECS Exec: dev only
    assert sorted(p.name for p in policies) == [
        *exec_policy,
        f"slipway-{stack.stack}-execution-policy",
        f"slipway-{stack.stack}-task-policy",
    ], "the task role's policies: rds-db:connect as its login role (tests/test_app_contract.py), ECS Exec in dev"
    account = ecs_roles[0].outputs["arn"].split(":")[4]
    for role in ecs_roles:
        (statement,) = json.loads(role.input("assumeRolePolicy"))["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": account}, "confused-deputy guard"
    task = stack.one("aws:iam/role:Role", f"-{stack.stack}-task")
    (statement,) = json.loads(task.input("assumeRolePolicy"))["Statement"]
    assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:ecs:us-east-1:{account}:*"}


def test_both_task_definitions_use_the_roles(stack: ResourceGraph) -> None:
    roles = {r.name: r.outputs["arn"] for r in stack.by_type("aws:iam/role:Role")}
    for task_def in stack.by_type("aws:ecs/taskDefinition:TaskDefinition"):
        # dev's preview-db task has its own two roles (tests/test_preview_db.py)
        owner = (
            task_def.input("family") if task_def.input("family").endswith("-preview-db") else f"slipway-{stack.stack}"
        )
        assert task_def.input("executionRoleArn") == roles[f"{owner}-execution"]
        assert task_def.input("taskRoleArn") == roles[f"{owner}-task"]


def test_log_stream_resource_strips_a_trailing_wildcard() -> None:
    doc = json.loads(execution_policy_document(["arn:repo"], "arn:aws:logs:r:1:log-group:/x:*", ["arn:s"]))
    assert doc["Statement"][2]["Resource"] == ["arn:aws:logs:r:1:log-group:/x:log-stream:*"]


def test_a_promoted_image_is_pulled_from_the_stacks_own_repository_only() -> None:
    """Promotion copies the image into this stack's repository (tests/test_promotion.py): the execution role pulls
    from that repository and nothing else; pulling straight from the source needs promote_image=False."""
    from tests.conftest import graph_with

    digest = "123456789012.dkr.ecr.us-east-1.amazonaws.com/slipway-dev-repo-1a2b3c4@sha256:" + "b" * 64
    graph = graph_with("prod", imageUri=digest)
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "execution-policy").input("policy"))
    pull = next(s for s in policy["Statement"] if s["Sid"] == "PullAppImage")
    assert pull["Resource"] == [graph.one("aws:ecr/repository:Repository").outputs["arn"]]


def test_ecs_exec_for_the_web_service_is_one_switch_on_each_side() -> None:
    """``TaskRolesArgs.execute_command`` gives the task role ECS Exec's SSM channels and audit log (what
    ``WebServiceArgs.enable_execute_command`` needs); off by default until the role boundary allows them."""
    from slipway.offline import run_program
    from slipway_aws.task_roles import TaskRoles, TaskRolesArgs

    log_arn = "arn:aws:logs:us-east-1:123456789012:log-group:app:*"

    def roles(execute_command: bool) -> ResourceGraph:
        return run_program(
            lambda: TaskRoles(
                "t",
                TaskRolesArgs(
                    repository_arns=["arn:aws:ecr:us-east-1:123456789012:repository/app"],
                    log_group_arn=log_arn,
                    secret_arns=[],
                    execute_command=execute_command,
                ),
            )
        )

    assert [p.name for p in roles(False).by_type("aws:iam/rolePolicy:RolePolicy")] == ["t-execution-policy"]
    policy = json.loads(roles(True).one("aws:iam/rolePolicy:RolePolicy", "exec-policy").input("policy"))
    assert {s["Sid"]: s["Resource"] for s in policy["Statement"]} == {
        "EcsExecChannels": "*",  # ssmmessages has no resource-level permissions
        "EcsExecAuditLogGroups": "*",
        "EcsExecAuditLog": "arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:*",
    }
    assert "ssmmessages:OpenDataChannel" in policy["Statement"][0]["Action"]


def test_ecs_exec_is_on_in_dev_and_an_explicit_choice_in_prod(stack: ResourceGraph) -> None:
    """``slipway exec`` works on dev's web service (the service allows it, the task role opens the SSM channels and
    writes the audit log); prod's tasks have no shell unless ``executeCommand: true`` is set."""
    service = stack.one("aws:ecs/service:Service")
    exec_policies = [p for p in stack.by_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-exec-policy")]
    dev = stack.stack == "dev"
    assert bool(service.input("enableExecuteCommand")) is dev
    assert len(exec_policies) == (1 if dev else 0)
    if dev:
        actions = {a for s in json.loads(exec_policies[0].input("policy"))["Statement"] for a in _list(s["Action"])}
        assert {"ssmmessages:CreateControlChannel", "ssmmessages:OpenDataChannel"} <= actions


def _list(value: object) -> list:
    return value if isinstance(value, list) else [value]
