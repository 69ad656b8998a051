"""The deploy policy of a WebApp + WorkerService + ScheduledJob + BackendService program (examples/companions), with
the action entries proposed in docs/companion-deploy-actions.json merged into slipway/deploy_actions.json: it covers
every resource type, each action exists in policy_sentry's IAM database, and moto's IAM evaluator allows each
companion resource's actions on its own ARN (name-scoped) or with its own tags (tag-scoped), and refuses them on
another app's."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult
from policy_sentry.querying.actions import get_action_data

from slipway import deploy_policy
from slipway.deploy_policy import DeployPolicyError, generate, load_table
from slipway.mocks import physical_name
from slipway.offline import ACCOUNT, ResourceGraph, run_stack

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "companions"
PROPOSED = json.loads((ROOT / "docs" / "companion-deploy-actions.json").read_text())["types"]
COMPANION_TYPES = set(PROPOSED)


def merged_table() -> dict[str, Any]:
    table = copy.deepcopy(load_table())
    assert not set(PROPOSED) & set(table["types"]) or all(table["types"][t] == PROPOSED[t] for t in PROPOSED)
    table["types"].update(PROPOSED)
    return table


@functools.cache
def graph(stack: str) -> ResourceGraph:
    return run_stack(stack, root=EXAMPLE)


def names(stack: str) -> deploy_policy.StackNames:
    return deploy_policy.StackNames(app="shop", stack=stack, region="eu-west-1", account=ACCOUNT, project="shop")


def allowed(policy: dict[str, Any], action: str, arn: str, context: dict[str, str]) -> bool:
    result = IAMPolicy(json.dumps(policy)).is_action_permitted(action, arn, incoming_condition_values=context)
    return result == PermissionResult.PERMITTED


def context(app: str, stack: str) -> dict[str, str]:
    return {"aws:ResourceTag/app": app, "aws:ResourceTag/stack": stack, "aws:RequestedRegion": "eu-west-1"}


def test_without_the_proposed_entries_the_companions_are_not_covered() -> None:
    with pytest.raises(DeployPolicyError, match="aws:sqs/queue:Queue"):
        generate(graph("dev"), names("dev"), table={**load_table(), "types": load_table()["types"]})


def test_every_proposed_action_exists() -> None:
    actions = {a for e in PROPOSED.values() for k in ("create", "change", "delete", "unscoped") for a in e.get(k, [])}
    unknown = sorted(a for a in actions if not get_action_data(*a.split(":")).get(a.split(":")[0]))
    assert not unknown, unknown
    for entry in PROPOSED.values():
        for action in entry.get("unscoped", []):
            formats = {d["resource_arn_format"] for d in get_action_data(*action.split(":"))[action.split(":")[0]]}
            assert formats == {"*"}, f"{action} can be scoped: {formats}"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_companions_may_be_created_changed_and_deleted_and_not_another_apps(stack: str) -> None:
    policy = generate(graph(stack), names(stack), table=merged_table())
    failures = []
    for resource in graph(stack).resources:
        if resource.type not in COMPANION_TYPES:
            continue
        entry = PROPOSED[resource.type]
        actions = {a for k in ("create", "change", "delete") for a in entry.get(k, [])}
        if entry["scope"] == "tag":
            arn = names(stack).fill(entry["service_arn"]).replace("*", "ns-0123456789abcdef")
            for action in actions:
                if not allowed(policy, action, arn, context("shop", stack)):
                    failures.append(f"{resource.name}: {action} refused on own tagged {arn}")
            for action in set(entry.get("change", []) + entry.get("delete", [])) - set(entry.get("create", [])):
                if allowed(policy, action, arn, context("other", stack)):
                    failures.append(f"{resource.name}: {action} allowed on another app's {arn}")
            continue
        name = physical_name(resource.type, resource.name, resource.inputs)
        service = {"aws:sfn/stateMachine:StateMachine": "states"}.get(
            resource.type, resource.type.split(":")[1].split("/")[0]
        )
        arn = {
            "sqs": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{name}",
            "states": f"arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:{name}",
            "scheduler": f"arn:aws:scheduler:eu-west-1:{ACCOUNT}:schedule/default/{name}",
        }[service]
        if resource.type == "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy":
            arn = arn.rsplit(":", 1)[0] + ":" + str(resource.input("queueUrl")).rsplit("/", 1)[-1]
        for action in actions:
            if not allowed(policy, action, arn, context("shop", stack)):
                failures.append(f"{resource.name}: {action} refused on own {arn}")
            other = arn.replace(f"shop-{stack}", f"other-{stack}")
            if allowed(policy, action, other, context("shop", stack)):
                failures.append(f"{resource.name}: {action} allowed on {other}")
    assert not failures, "\n".join(failures)
