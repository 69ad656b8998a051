"""The preview deploy role's policy (slipway/preview_deploy_policy.py), with every condition evaluated
(slipway/iam_eval.py):

(a) every provider call of every resource of the pr-123 graph, phase by phase in the provider's order, with the
    request's context (the preview's tags on create, the resource's tags after), is allowed;
(b) every write action of the policy against every resource of dev (its graph's, its listeners and load balancer,
    its listener rules not tagged as a preview, its state, key, RDS-managed master secret and boundary), with the
    contexts a caller may choose, is refused, but for the few writes a preview needs on dev (named below);
(c) no listener rule on another listener, no role passed but a preview's to ECS tasks, no role without the
    previews' boundary;
(d) a resource type of the pr graph the policy does not cover fails.
Each check is also run on a policy with one condition dropped, and finds it.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from slipway import deploy_policy as dp
from slipway import preview_deploy_policy as pdp
from slipway.iam_eval import allowed
from slipway.mocks import physical_name
from slipway.offline import ACCOUNT, Resource, ResourceGraph
from tests.conftest import _graph
from tests.test_deploy_calls import _concrete, _request_tags, _resource_tags
from tests.test_deploy_isolation import Target, _for_action, _targets, _write_actions
from tests.test_deploy_policy import CONCRETE, _fits, _formats

TABLE = dp.load_table()
REGION = "us-east-1"
PR = "pr-123"
DEV_TAGS = {"app": "slipway", "stack": "dev"}
HTTPS_ID, HTTP_ID = "5e4d3c2b1a0f9e8d", "1a2b3c4d5e6f7a8b"  # tests/test_deploy_isolation.py names both 9f8e...


def _a(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}"


@functools.cache
def _graphs() -> tuple[ResourceGraph, ResourceGraph]:
    return _graph(PR), _graph("dev")


@functools.cache
def _load_balancer() -> str:
    (listener, *_rest) = [r for r in _graphs()[1].by_type("aws:lb/listener:Listener") if r.input("port") == 443]
    return str(listener.input("loadBalancerArn"))


def _listener(listener_id: str, load_balancer: str | None = None) -> str:
    return (load_balancer or _load_balancer()).replace(":loadbalancer/", ":listener/") + f"/{listener_id}"


@functools.cache
def _names() -> pdp.PreviewNames:
    return pdp.preview_names(PR, account=ACCOUNT, https_listener_arn=_listener(HTTPS_ID))


@functools.cache
def _policy() -> dict[str, Any]:
    return pdp.generate(_graphs()[0], _names())


def _boundary() -> str:
    return pdp.boundary_arn(_names())


# -- (a) every call allowed -----------------------------------------------------------------------------------------
def _tags(resource: Resource) -> dict[str, str]:
    tags = resource.inputs.get("tags") or {"preview": PR}  # untaggable children: their group's preview tag
    return {str(k): str(v) for k, v in tags.items()}


def _name_scoped(resource: Resource) -> list[tuple[str, str, str, dict[str, Any]]]:
    entry = TABLE["types"][resource.type]
    arns = CONCRETE[resource.type](resource, physical_name(resource.type, resource.name, resource.inputs))
    ctx: dict[str, Any] = {
        "aws:RequestedRegion": REGION,
        "iam:PassedToService": "ecs-tasks.amazonaws.com",
        "iam:PermissionsBoundary": _boundary(),
    }
    if resource.inputs.get("cluster"):
        ctx["ecs:cluster"] = resource.input("cluster")  # RunTask (Service Authorization Reference)
    if resource.inputs.get("taskDefinition"):
        ctx["ecs:task-definition"] = resource.input("taskDefinition")  # CreateService, UpdateService
    excluded = entry.get("preview", {}).get("excluded", {})
    out = []
    for phase in ("create", "change", "delete"):
        for action in entry.get(phase, []):
            if action in excluded:
                continue
            relevant = [a for a in arns if any(_fits(a, f) for f in _formats(action))] or arns[:1]
            out += [(phase, action, arn, ctx) for arn in relevant]
    return out


def _tag_scoped(resource: Resource) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Each call's requests in the provider's order: the new resource with the preview's tags in the request, the
    preview's own resources with their tags, untagged children without, dev's resources with dev's tags."""
    entry = TABLE["types"][resource.type]
    own_types = pdp._own_types(TABLE["types"], dp.resource_types(_graphs()[0]))
    overrides = entry.get("preview", {}).get("arns", {})
    tags, base = _tags(resource), {"aws:RequestedRegion": REGION}
    out = []
    for phase in ("create", "change", "delete"):
        creating = None
        for i, call in enumerate(dp.calls(entry, phase)):
            first = phase == "create" and i == 0 and entry["tagging"] == "request"
            creating = call.action.split(":")[1] if first else creating
            for ref in call.refs:
                kind = ref.lstrip("+~")
                arn = _concrete(_names().fill(overrides.get(kind) or entry["arn_format"].replace("{type}", kind)))
                if ref.startswith("+"):
                    ctx = {**base, **_request_tags(tags)}
                    if call.action in pdp.TAGGING:
                        ctx[pdp.CREATE_ACTION_KEY[call.action.split(":")[0]]] = creating or ""
                elif ref.startswith("~"):
                    ctx = dict(base)
                elif kind not in own_types:  # dev's VPC or listener, named by the call
                    ctx = {**base, **_resource_tags(DEV_TAGS), **(_request_tags(tags) if first else {})}
                else:
                    ctx = {**base, **_resource_tags(tags)}
                    if call.action in pdp.TAGGING:
                        ctx.update(_request_tags({"Name": "renamed"}))
                    if call.action in pdp.UNTAGGING:
                        ctx["aws:TagKeys"] = ["Name"]
                out.append((phase, call.action, arn, ctx))
    return out


def _refusals(policy: dict[str, Any]) -> tuple[list[str], int]:
    failures, count = [], 0
    for resource in _graphs()[0].resources:
        if not resource.custom or resource.type in TABLE["not_aws"]:
            continue
        scoped = _tag_scoped if TABLE["types"][resource.type]["scope"] == "tag" else _name_scoped
        for phase, action, arn, ctx in scoped(resource):
            count += 1
            if not allowed(policy, action, arn, ctx):
                failures.append(f"{resource.name} {phase}: {action} on {arn} with {sorted(ctx)}")
    return failures, count


def test_every_call_of_every_preview_resource_is_allowed_with_its_conditions_evaluated() -> None:
    failures, count = _refusals(_policy())
    assert not failures, f"{len(failures)} refused:\n" + "\n".join(failures[:40])
    assert count > 100, count


def test_the_only_call_left_out_is_stopping_a_gates_task_in_devs_cluster() -> None:
    excluded = {a for e in TABLE["types"].values() for a in e.get("preview", {}).get("excluded", {})}
    assert excluded == {"ecs:StopTask"}
    task = _a("ecs", "task/slipway-dev-cluster-9c97910/0123456789abcdef0123456789abcdef")
    assert not allowed(_policy(), "ecs:StopTask", task, {"aws:RequestedRegion": REGION})


@pytest.mark.parametrize(
    ("sid", "key"),
    [
        ("Ec2CreateOnlyTaggedAsAPreview", "StringLike"),
        ("ElasticloadbalancingTagOnlyInTheCreatingCall", "StringEquals"),
        ("WritePreviewRolesOnlyWithThePreviewBoundary", "StringEquals"),
    ],
)
def test_a_wrong_condition_is_refused_by_the_call_check(sid: str, key: str) -> None:
    """The per-call check can fail: a condition asking for something else (the ``stack`` tag the deploy roles use,
    another create action, dev's boundary) refuses the preview's own calls."""
    wrong = copy.deepcopy(_policy())
    (statement,) = [s for s in wrong["Statement"] if s["Sid"] == sid]
    block = statement["Condition"][key]
    for k in list(block):
        block[k] = (
            "stack"
            if "RequestTag" in k
            else "CreateListener"
            if "CreateAction" in k
            else dp.boundary_arn(dp.stack_names("dev", account=ACCOUNT))
        )
    assert _refusals(wrong)[0]


# -- (b) nothing of dev written ---------------------------------------------------------------------------------------
def _dev_targets() -> tuple[Target, ...]:
    """dev's graph, state, key, master secret and boundary (tests/test_deploy_isolation.py), and what that file's
    ARNs cannot tell apart: dev's HTTP and HTTPS listeners, its load balancer, its own listener rules."""
    dev_ctx = tuple(sorted(_resource_tags({**DEV_TAGS, "managed-by": "pulumi/slipway"}).items()))
    rule = _listener(HTTPS_ID).replace(":listener/", ":listener-rule/")
    extra = [
        Target("dev's HTTPS listener", ((_listener(HTTPS_ID), dev_ctx),)),
        Target("dev's HTTP listener", ((_listener(HTTP_ID), dev_ctx),)),
        Target("dev's load balancer", ((_load_balancer(), dev_ctx),)),
        Target("dev's rule on its HTTPS listener", ((f"{rule}/0a1b2c3d4e5f6a7b", dev_ctx),)),
        Target("an untagged rule on dev's HTTPS listener", ((f"{rule}/0a1b2c3d4e5f6a7c", ()),)),
    ]
    return (*_targets("dev"), *extra)


def _variants() -> list[dict[str, Any]]:
    """Request contexts the preview deploy role may choose: none, a preview's tags, dev's tags, boundaries. Not
    ``ec2:CreateAction``/``elasticloadbalancing:CreateAction``: AWS sets them only inside a creating call, for the
    resource it creates (which does not exist before)."""
    out: list[dict[str, Any]] = [{}]
    for tags, boundary in (({"preview": PR, "managed-by": "pulumi/slipway"}, _boundary()), (DEV_TAGS, None)):
        out.append(
            {
                **_request_tags(tags),
                "iam:PermissionsBoundary": boundary or dp.boundary_arn(dp.stack_names("dev", account=ACCOUNT)),
                "iam:PassedToService": "ecs-tasks.amazonaws.com",
            }
        )
    return out


NEEDED_ON_DEV = {
    ("s3:GetObject", "state stacks/slipway/dev.json"): "its StackReference reads dev's checkpoint (not history)",
    ("elasticloadbalancing:CreateRule", "dev's HTTPS listener"): "a preview's rule (docs/previews.md)",
    ("ec2:CreateSecurityGroup", ":vpc/"): "the preview gates' groups in dev's VPC (authorized on the VPC too)",
    **{
        (a, "stateMachine:slipway-dev-preview-db"): "the database-creating gate starts dev's preview-db state machine,"
        " whose input dev validates (components/preview_db.py)"
        for a in ("states:StartExecution", "states:DescribeExecution")
    },
    **{
        (a, "repository/slipway-dev"): "the preview's image, pushed to dev's repository (tag pr-<n>-...)"
        for a in TABLE["types"]["docker:index/image:Image"]["create"]
    },
}
"""Writes the preview deploy role must have on dev (action, part of the target's label): nothing else."""


def _writes_on_dev(policy: dict[str, Any]) -> tuple[list[str], int]:
    found, count = [], 0
    targets, variants = _dev_targets(), _variants()
    for action in _write_actions(policy):
        if action in ("secretsmanager:CreateSecret",):  # an existing name is refused (ResourceExistsException)
            continue
        narrowed = _for_action(policy, action)
        service = action.split(":")[0]
        same = [t for t in targets if any(arn.split(":")[2] == service for arn, _ in t.parts)]
        for target in same:
            count += 1
            for extra in variants:
                ctx = {"aws:RequestedRegion": REGION, **extra}
                if all(allowed(narrowed, action, arn, {**ctx, **c}) for arn, c in target.requests()):
                    if not any(a == action and part in target.label for a, part in NEEDED_ON_DEV):
                        found.append(f"{action} on {target.label} with {sorted(extra)}")
                    break
    return sorted(set(found)), count


def test_no_write_on_any_of_devs_resources_but_the_rule_its_groups_and_its_image() -> None:
    found, count = _writes_on_dev(_policy())
    assert not found, f"{len(found)} writes on dev:\n" + "\n".join(found[:40])
    labels = {t.label for t in _dev_targets()}
    assert any("rds!db-" in label or "master secret" in label for label in labels)
    assert any(":task-definition/slipway-dev" in label for label in labels)
    assert count > 500, count


def test_needed_writes_on_dev_really_are_allowed() -> None:
    """What NEEDED_ON_DEV excuses is what the policy allows: the list is not wider than the policy."""
    policy, tags = _policy(), {"preview": PR, "managed-by": "pulumi/slipway"}
    ctx = {"aws:RequestedRegion": REGION, **_request_tags(tags)}
    assert allowed(policy, "elasticloadbalancing:CreateRule", _listener(HTTPS_ID), ctx)
    vpc = {**ctx, **_resource_tags(DEV_TAGS)}
    assert allowed(policy, "ec2:CreateSecurityGroup", _a("ec2", "vpc/vpc-0123456789abcdef0"), vpc)
    assert allowed(policy, "ecr:PutImage", _a("ecr", "repository/slipway-dev"), ctx)
    assert allowed(policy, "states:StartExecution", _a("states", "stateMachine:slipway-dev-preview-db"), ctx)
    assert not allowed(policy, "states:StartExecution", _a("states", "stateMachine:slipway-dev-job"), ctx)


@pytest.mark.parametrize(
    ("sid", "drop"),
    [
        ("ElasticloadbalancingChangeAndDeleteOnlyPreviewTagged", "Condition"),
        ("Ec2ChangeAndDeleteOnlyPreviewTagged", "Condition"),
    ],
)
def test_the_dev_check_finds_a_write_when_a_condition_is_dropped(sid: str, drop: str) -> None:
    """Without its tag condition, the preview role could delete dev's listener rules or revoke dev's group rules."""
    leaky = copy.deepcopy(_policy())
    (statement,) = [s for s in leaky["Statement"] if s["Sid"] == sid]
    del statement[drop]
    assert _writes_on_dev(leaky)[0]


def test_never_devs_master_secret_state_or_secrets() -> None:
    policy, ctx = _policy(), {"aws:RequestedRegion": REGION}
    master = _a("secretsmanager", "secret:rds!db-0a1b2c3d-0000-4000-8000-000000000000-AbCdEf")
    dev_db = _a("rds", "db:slipway-dev-db")
    rds_tag = {"aws:ResourceTag/aws:rds:primaryDBInstanceArn": dev_db}
    assert not allowed(policy, "secretsmanager:GetSecretValue", master, {**ctx, **rds_tag})
    assert not allowed(policy, "secretsmanager:GetSecretValue", _a("secretsmanager", "secret:slipway-dev-x-AbCdEf"))
    state = "arn:aws:s3:::STATE_BUCKET/.pulumi"
    assert allowed(policy, "s3:GetObject", f"{state}/stacks/slipway/dev.json", ctx), "its StackReference"
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert not allowed(policy, action, f"{state}/stacks/slipway/dev.json", ctx)
        assert not allowed(policy, action, f"{state}/locks/organization/slipway/dev/1.json", ctx)
        assert allowed(policy, action, f"{state}/stacks/slipway/pr-7.json", ctx)
        assert allowed(policy, action, f"{state}/locks/organization/slipway/pr-7/1.json", ctx)
        assert not allowed(policy, action, f"{state}/stacks/slipway/prod.json", ctx)


# -- (c) listener, pass role, boundary -------------------------------------------------------------------------------
def _escapes(policy: dict[str, Any]) -> list[str]:
    """What the preview role must never do: a rule on another listener, pass a role that is not a preview's or to
    another service, create or write a role without the previews' boundary."""
    found = []
    ctx = {"aws:RequestedRegion": REGION, **_request_tags({"preview": PR, "managed-by": "pulumi/slipway"})}
    other_lb = _a("elasticloadbalancing", "loadbalancer/app/slipway-prod-web-alb-1234567/0a1b2c3d4e5f6a7b")
    for listener in (_listener(HTTP_ID), _listener("0000000000000000"), _listener(HTTPS_ID, other_lb)):
        if allowed(policy, "elasticloadbalancing:CreateRule", listener, ctx):
            found.append(f"CreateRule on {listener}")
    roles = {
        "slipway-dev-task-1234567": "ecs-tasks.amazonaws.com",
        "slipway-prod-execution-1234567": "ecs-tasks.amazonaws.com",
        "slipway-github-deploy-dev": "ecs-tasks.amazonaws.com",
        "slipway-pr-123-task-1234567": "lambda.amazonaws.com",
    }
    for role, service in roles.items():
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
        if allowed(policy, "iam:PassRole", arn, {**ctx, "iam:PassedToService": service}):
            found.append(f"PassRole {role} to {service}")
    own = f"arn:aws:iam::{ACCOUNT}:role/slipway-pr-123-task-1234567"
    for boundary in (None, dp.boundary_arn(dp.stack_names("dev", account=ACCOUNT)), "arn:aws:iam::aws:policy/Admin"):
        bctx = {**ctx, **({"iam:PermissionsBoundary": boundary} if boundary else {})}
        for action in dp.BOUNDED_ACTIONS:
            if allowed(policy, action, own, bctx):
                found.append(f"{action} with boundary {boundary}")
    return found


def test_no_rule_on_another_listener_no_foreign_role_passed_no_role_without_the_boundary() -> None:
    assert not _escapes(_policy())
    ctx = {"aws:RequestedRegion": REGION, "iam:PassedToService": "ecs-tasks.amazonaws.com"}
    own = f"arn:aws:iam::{ACCOUNT}:role/slipway-pr-123-task-1234567"
    assert allowed(_policy(), "iam:PassRole", own, ctx)
    assert allowed(_policy(), "iam:CreateRole", own, {**ctx, "iam:PermissionsBoundary": _boundary()})


@pytest.mark.parametrize(
    "mutate",
    [
        "listener any",
        "passrole any service",
        "role any boundary",
    ],
)
def test_the_escape_check_finds_a_dropped_condition(mutate: str) -> None:
    leaky = copy.deepcopy(_policy())
    by_sid = {s["Sid"]: s for s in leaky["Statement"]}
    if mutate == "listener any":
        by_sid["ElasticloadbalancingOnTheSourceStacksHttpsListenerOnly"]["Resource"] = _listener("*")
    elif mutate == "passrole any service":
        del by_sid["PassPreviewRolesToTheirServices"]["Condition"]
    else:
        del by_sid["WritePreviewRolesOnlyWithThePreviewBoundary"]["Condition"]
    assert _escapes(leaky)


def test_runs_tasks_and_services_only_of_preview_task_definitions_in_devs_cluster() -> None:
    policy, ctx = _policy(), {"aws:RequestedRegion": REGION}
    dev_cluster, prod_cluster = _a("ecs", "cluster/slipway-dev-cluster-9c97910"), _a("ecs", "cluster/slipway-prod-c")
    own_td, dev_td = _a("ecs", "task-definition/slipway-pr-9-web:3"), _a("ecs", "task-definition/slipway-dev-web:3")
    assert allowed(policy, "ecs:RunTask", own_td, {**ctx, "ecs:cluster": dev_cluster})
    assert not allowed(policy, "ecs:RunTask", own_td, {**ctx, "ecs:cluster": prod_cluster})
    assert not allowed(policy, "ecs:RunTask", dev_td, {**ctx, "ecs:cluster": dev_cluster})
    service = _a("ecs", "service/slipway-dev-cluster-9c97910/slipway-pr-9-service-1234567")
    assert allowed(policy, "ecs:CreateService", service, {**ctx, "ecs:task-definition": own_td})
    assert not allowed(policy, "ecs:CreateService", service, {**ctx, "ecs:task-definition": dev_td})
    elsewhere = _a("ecs", "service/slipway-prod-c/slipway-pr-9-service-1234567")
    assert not allowed(policy, "ecs:CreateService", elsewhere, {**ctx, "ecs:task-definition": own_td})


# -- (d) coverage ----------------------------------------------------------------------------------------------------
def test_every_type_of_the_preview_graph_is_covered_and_a_new_one_fails() -> None:
    graph = _graphs()[0]
    types = {r.type for r in graph.resources if r.custom and r.type not in TABLE["not_aws"]}
    assert types <= set(TABLE["types"]), sorted(types - set(TABLE["types"]))
    evaluated = {
        r.type
        for r in graph.resources
        if r.type in types and (_tag_scoped if TABLE["types"][r.type]["scope"] == "tag" else _name_scoped)(r)
    }
    assert evaluated == types, sorted(types - evaluated)
    assert types == pdp.REVIEWED_TYPES, sorted(pdp.REVIEWED_TYPES ^ types)
    new = Resource(
        urn="urn:pulumi:pr-123::slipway::aws:sqs/queue:Queue::q",
        type="aws:sqs/queue:Queue",
        name="slipway-pr-123-q",
        parent=None,
        inputs={},
        dependencies=[],
        custom=True,
    )
    assert new.type in TABLE["types"], "in the table (the companions'), yet never reviewed for a preview"
    with pytest.raises(dp.DeployPolicyError, match="aws:sqs/queue:Queue: not reviewed"):
        pdp.generate(ResourceGraph(stack=PR, resources=[*graph.resources, new], outputs={}), _names())
    table = {**TABLE, "types": {k: v for k, v in TABLE["types"].items() if k != "aws:lb/listenerRule:ListenerRule"}}
    with pytest.raises(dp.DeployPolicyError, match="listenerRule"):
        pdp.generate(graph, _names(), table)


def test_every_statement_resource_fits_its_actions_and_the_documents_pass_policy_sentry() -> None:
    from tests.test_aws_contracts import policy_sentry_findings

    problems = []
    for st in _policy()["Statement"]:
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        resources = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
        if resources == ["*"] or st["Effect"] == "Deny":
            continue
        for action in actions:
            if not any(_fits(r, f) for r in resources for f in _formats(action)):
                problems.append(f"{st['Sid']}: {action} never applies to {resources}")
    parts = dp.split(_policy())
    problems += [f for doc in [*parts, pdp.boundary_policy(_names())] for f in policy_sentry_findings(doc, trust=False)]
    problems += policy_sentry_findings(pdp.trust_policy(_names()), trust=True)
    assert not problems, "\n".join(problems)
    assert len(parts) <= 10


# -- the boundary and the trust --------------------------------------------------------------------------------------
def test_the_boundary_allows_what_each_preview_role_is_given_and_nothing_of_devs_own() -> None:
    graph, boundary = _graphs()[0], pdp.boundary_policy(_names())
    dev_db = {"aws:ResourceTag/aws:rds:primaryDBInstanceArn": _a("rds", "db:slipway-dev-db")}
    roles = graph.by_type("aws:iam/role:Role")
    assert {r.input("permissionsBoundary") for r in roles} == {_boundary()}
    missing = []
    for attached in graph.by_type("aws:iam/rolePolicy:RolePolicy"):
        for st in json.loads(attached.input("policy"))["Statement"]:
            actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
            resources = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
            for action, resource in itertools.product(actions, resources):
                if not allowed(boundary, action, resource, dev_db if "rds!db-" in resource else {}):
                    missing.append(f"{attached.name}: {action} on {resource}")
    assert not missing, "\n".join(missing)
    assert not allowed(boundary, "secretsmanager:GetSecretValue", _a("secretsmanager", "secret:slipway-dev-key-AbC"))
    assert not allowed(boundary, "rds-db:connect", _a("rds-db", "dbuser:db-ABC/app"))
    prod_db = {"aws:ResourceTag/aws:rds:primaryDBInstanceArn": _a("rds", "db:slipway-prod-db")}
    master = _a("secretsmanager", "secret:rds!db-0a1b-AbCdEf")
    assert not allowed(boundary, "secretsmanager:GetSecretValue", master, prod_db)


def test_the_trust_admits_this_repositorys_pull_requests_and_default_branch_only() -> None:
    from slipway.iam_eval import principal_trusted

    trust = json.loads(json.dumps(pdp.trust_policy(_names())).replace("GITHUB_OWNER/GITHUB_REPO", "acme/app"))
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"

    def trusted(sub: str, aud: str = "sts.amazonaws.com") -> bool:
        ctx = {"token.actions.githubusercontent.com:sub": sub, "token.actions.githubusercontent.com:aud": aud}
        return principal_trusted(trust, provider, "Federated", "sts:AssumeRoleWithWebIdentity", ctx)

    assert trusted("repo:acme/app:pull_request") and trusted("repo:acme/app:ref:refs/heads/main")
    for sub in (
        "repo:someone/app:pull_request",  # a fork's own workflows
        "repo:acme/app:ref:refs/heads/feature",
        "repo:acme/app:environment:dev",
        "repo:acme/app-other:pull_request",
    ):
        assert not trusted(sub), sub
    assert not trusted("repo:acme/app:pull_request", aud="https://github.com/acme")


# -- CLI and committed files -------------------------------------------------------------------------------------------
def test_cli_prints_the_preview_policy_and_writes_its_files(tmp_path: Path) -> None:
    import io

    from slipway.plan import main

    out, err = io.StringIO(), io.StringIO()
    listener = _listener(HTTPS_ID).replace(ACCOUNT, "111122223333")
    argv = ["deploy-policy", "--stack", "pr-5", "--account", "111122223333", "--https-listener-arn", listener]
    assert main(argv, out=out, err=err) == 0, err.getvalue()
    assert listener in out.getvalue() and "slipway-pr-*" in out.getvalue()
    assert main(["deploy-policy", "--stack", "pr-5", "--out-dir", str(tmp_path)], out=out, err=err) == 0
    assert sorted(p.name for p in tmp_path.iterdir())[-2:] == [
        "github-oidc-trust-preview.json",
        "role-boundary-preview.json",
    ]
    assert main(["deploy-policy", "--stack", "pr-5", "--https-listener-arn", "arn:nope"], out=out, err=err) == 2
    assert main(["deploy-policy", "--stack", "dev", "--https-listener-arn", listener], out=out, err=err) == 2


def test_the_committed_preview_files_are_what_the_generator_prints() -> None:
    root = Path(__file__).resolve().parents[1] / "deploy" / "iam"
    names = pdp.preview_names(PR)
    committed = sorted(root.glob("deploy-policy-preview-*.json"))
    expected = dp.split(pdp.generate(_graphs()[0], names))
    hint = "run: python -m slipway deploy-policy --stack pr-1 --out-dir deploy/iam"
    assert [json.loads(p.read_text()) for p in committed] == expected, hint
    assert json.loads((root / "role-boundary-preview.json").read_text()) == pdp.boundary_policy(names), hint
    assert json.loads((root / "github-oidc-trust-preview.json").read_text()) == pdp.trust_policy(names), hint
