"""The deploy policy of a WebApp + WorkerService + ScheduledJob + BackendService program (examples/companions), held to
the same checks as the repository's own stacks (tests/test_deploy_calls.py, whose helpers these reuse): every resource
type is in slipway/deploy_actions.json and in pike's IAM maps, and every call the provider makes for every resource,
phase by phase, is allowed by the stack's generated policy when evaluated with its conditions (slipway/iam_eval.py);
another app's or another stack's queues, state machines and schedules are refused."""

from __future__ import annotations

import pytest

from slipway.deploy_policy import DeployPolicyError, generate, load_table
from slipway.iam_eval import allowed
from slipway.offline import ACCOUNT
from tests.test_deploy_calls import PIKE, TABLE, _names, _policy, _policy_graph, _refusals, _region

STACKS = ("companions:dev", "companions:prod")
COMPANION_TYPES = (
    "aws:sqs/queue:Queue",
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
    "aws:sfn/stateMachine:StateMachine",
    "aws:scheduler/schedule:Schedule",
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace",
    "aws:servicediscovery/service:Service",
)


@pytest.mark.parametrize("stack", STACKS)
def test_every_type_of_the_companions_graph_is_in_the_table_and_in_pikes_maps(stack: str) -> None:
    types = {r.type for r in _policy_graph(stack).resources if r.custom} - set(TABLE["not_aws"])
    assert set(COMPANION_TYPES) <= types, "the example still uses every companion type"
    assert types <= set(TABLE["types"]), sorted(types - set(TABLE["types"]))
    for type_ in types - {t for t in types if t.startswith("pulumi-python:")}:
        assert TABLE["types"][type_]["terraform"] in PIKE["types"], type_


def test_without_the_companion_entries_the_graph_is_refused() -> None:
    table = load_table()
    table["types"] = {k: v for k, v in table["types"].items() if k != "aws:sfn/stateMachine:StateMachine"}
    with pytest.raises(DeployPolicyError, match="aws:sfn/stateMachine:StateMachine"):
        generate(_policy_graph("companions:dev"), _names("companions:dev"), table)


@pytest.mark.parametrize("stack", STACKS)
def test_every_call_of_every_companion_resource_is_allowed_with_its_conditions_evaluated(stack: str) -> None:
    failures = _refusals(stack)
    assert not failures, f"{len(failures)} refused:\n" + "\n".join(failures[:40])


def test_a_refused_companion_call_is_reported() -> None:
    """The per-call check can fail: without the state machine's statement, its create is refused."""
    policy = _policy("companions:dev")
    machine = f"arn:aws:states:{_region('companions:dev')}:{ACCOUNT}:stateMachine:shop-dev-report"
    assert allowed(policy, "states:CreateStateMachine", machine, {})
    stripped = {
        **policy,
        "Statement": [
            s for s in policy["Statement"] if "states:CreateStateMachine" not in s["Action"] or s["Effect"] == "Deny"
        ],
    }
    assert not allowed(stripped, "states:CreateStateMachine", machine, {})


@pytest.mark.parametrize("stack", STACKS)
def test_another_apps_or_stacks_queues_jobs_and_schedules_are_refused(stack: str) -> None:
    policy, names = _policy(stack), _names(stack)
    other_stack = "prod" if names.stack == "dev" else "dev"
    a, r = ACCOUNT, names.region
    targets = (
        ("sqs:DeleteQueue", f"arn:aws:sqs:{r}:{a}:{{p}}-worker"),
        ("sqs:SetQueueAttributes", f"arn:aws:sqs:{r}:{a}:{{p}}-worker-dlq"),
        ("states:UpdateStateMachine", f"arn:aws:states:{r}:{a}:stateMachine:{{p}}-report"),
        ("states:DeleteStateMachine", f"arn:aws:states:{r}:{a}:stateMachine:{{p}}-report"),
        ("scheduler:UpdateSchedule", f"arn:aws:scheduler:{r}:{a}:schedule/default/{{p}}-report"),
    )
    ctx = {"aws:RequestedRegion": r}
    for action, arn in targets:
        assert allowed(policy, action, arn.format(p=names.prefix), ctx), (action, "own")
        for prefix in (f"{names.app}-{other_stack}", f"other-{names.stack}"):
            assert not allowed(policy, action, arn.format(p=prefix), ctx), (action, prefix)


@pytest.mark.parametrize("stack", [*STACKS, "dev", "prod"])
def test_every_task_definition_keeps_its_old_revisions(stack: str) -> None:
    """No deploy role may deregister task definitions (no resource-level permission: it would reach every stack's),
    so destroy must never try: every task definition of every graph is created with skip_destroy
    (slipway_aws.containers.fargate_task_definition). A companion's once lacked it and its destroy would be refused."""
    task_defs = _policy_graph(stack).by_type("aws:ecs/taskDefinition:TaskDefinition")
    assert task_defs
    assert [t.name for t in task_defs if t.input("skipDestroy") is not True] == []
