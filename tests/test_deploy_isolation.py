"""Isolation and escalation, with every condition evaluated (slipway/iam_eval.py).

1. Direct: every write or delete action the dev role's policy allows, against every prod resource (in the state prod's
   deploy leaves it: tagged ``stack=prod``), prod's state objects and lock, prod's secrets-provider key, prod's secrets
   (its own and RDS's managed master secret), prod's roles and boundary — with no request tags, with dev's, with
   prod's — is refused. Then again after every tag change the dev role may make (the closure is computed, not
   assumed).
2. Escalation: from the dev deploy role, through every edge a principal can take (assume a role, pass a role into
   RunTask/CreateService/a task definition, write a role's policies within its boundary, create a role, edit a trust
   policy, edit the boundary), no principal it reaches may read prod's secrets or state or delete prod's resources.
   The same from prod to dev.
"""

from __future__ import annotations

import functools
import itertools
import json
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from slipway import deploy_policy
from slipway.deploy_policy import boundary_arn, boundary_policy, load_table, stack_names
from slipway.iam_eval import allowed, principal_trusted
from slipway.mocks import physical_name
from slipway.offline import ACCOUNT, Resource
from tests.test_deploy_calls import CONCRETE, _policy, _policy_graph, _promotion_target, _self_type

TABLE = load_table()
REGION = "us-east-1"
CREATE_ONLY_UNSCOPED = {
    "kms:CreateKey": "creates a new key; names no existing one",
    "acm:RequestCertificate": "requests a new certificate",
    "servicediscovery:CreatePrivateDnsNamespace": "creates a new namespace",
    "backup-storage:MountCapsule": "a dependent action of creating a vault",
}
"""Actions with no resource-level permission a stack's policy may hold: each only creates something new."""
UNSCOPABLE_REACH = {
    "sns:Unsubscribe": "the provider's delete of a subscription; IAM has no resource type or condition for it",
    "sns:SetSubscriptionAttributes": "the provider's update of a subscription; no resource type either",
}
"""Actions no IAM policy can confine to one stack: granted only to a stack whose graph subscribes to its topic (prod,
for the alarm e-mails); dev's role has neither. The account-per-environment topology removes this reach."""
CREATE_ONLY_NAMED = {"secretsmanager:CreateSecret": "an existing name is refused (ResourceExistsException)"}
"""Actions granted on a name pattern that can only create: on an existing resource of that name AWS refuses them."""


@dataclass(frozen=True)
class Target:
    """One resource of the other stack: the (ARN, context) of each resource a call on it must be allowed on."""

    label: str
    parts: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]

    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        return [(arn, dict(ctx)) for arn, ctx in self.parts]


def _ctx(**kv: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(kv.items()))


def _tags_ctx(tags: dict[str, str]) -> dict[str, str]:
    return {f"aws:ResourceTag/{k}": v for k, v in tags.items()}


def _a(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}"


def _resource_targets(resource: Resource, stack: str, n: int) -> list[Target]:
    entry = TABLE["types"][resource.type]
    tags = {str(k): str(v) for k, v in (resource.inputs.get("tags") or {"app": "slipway", "stack": stack}).items()}
    stack_tags = {"app": "slipway", "stack": stack}
    if entry["scope"] == "name":
        name = physical_name(resource.type, resource.name, resource.inputs)
        concrete = {**CONCRETE, "pulumi-python:dynamic/slipway:ImagePromotion": _promotion_target}
        return [
            Target(f"{resource.name} {arn}", ((arn, tuple(sorted(_tags_ctx(tags).items()))),))
            for arn in concrete[resource.type](resource, name)
        ]
    self_type = _self_type(entry)
    names = stack_names(stack, account=ACCOUNT)
    if any("~security-group-rule" in c for p in entry["calls"].values() for c in p):
        rule = deploy_policy.ref_arn(entry, "security-group-rule", names).replace("*", f"sgr-0a{n:015d}")
        group = deploy_policy.ref_arn(entry, "security-group", names).replace("*", f"sg-0a{n:015d}")
        parts = ((rule, ()), (group, tuple(sorted(_tags_ctx(stack_tags).items()))))
        return [Target(f"{resource.name} {rule}", parts)]
    if self_type is None:
        return []  # an association: its calls name a route table and a subnet, both targets of their own
    arn = deploy_policy.ref_arn(entry, self_type, names).replace("*", f"id-0a{n:015d}", 1)
    arn = arn.replace(":*:", f":{REGION}:")
    own = tags if entry["tagging"] != "none" else stack_tags
    return [Target(f"{resource.name} {arn}", ((arn, tuple(sorted(_tags_ctx(own).items()))),))]


@functools.cache
def _targets(stack: str) -> tuple[Target, ...]:
    """Everything of ``stack`` another stack's role must not write: its resources, state, lock, key, secrets."""
    graph = _policy_graph(stack)
    out: list[Target] = []
    for n, resource in enumerate(r for r in graph.resources if r.custom and r.type not in TABLE["not_aws"]):
        out += _resource_targets(resource, stack, n)
    bucket = "arn:aws:s3:::STATE_BUCKET/.pulumi"
    for key in (
        f"stacks/slipway/{stack}.json",
        f"stacks/slipway/{stack}.json.bak",
        f"history/slipway/{stack}/{stack}-1700000000.history.json",
        f"backups/slipway/{stack}/{stack}.1700000000.json",
        f"locks/organization/slipway/{stack}/0b1c2d3e.json",
    ):
        out.append(Target(f"state {key}", ((f"{bucket}/{key}", ()),)))
    alias = _ctx(**{"kms:ResourceAliases": [f"alias/slipway-{stack}"]})
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d-{stack}-secrets-provider"
    tagged = tuple(sorted(alias + tuple(_tags_ctx({"app": "slipway", "stack": stack}).items())))
    out.append(Target(f"{stack}'s secrets-provider key (tagged)", ((key, tagged),)))
    out.append(Target(f"{stack}'s secrets-provider key (left untagged)", ((key, alias),)))
    db = graph.one("aws:rds/instance:Instance").input("identifier")
    master = _a("secretsmanager", "secret:rds!db-0a1b2c3d-0000-4000-8000-000000000000-AbCdEf")
    rds_tag = _ctx(**{"aws:ResourceTag/aws:rds:primaryDBInstanceArn": _a("rds", f"db:{db}")})
    out.append(Target(f"{stack}'s RDS-managed master secret", ((master, rds_tag),)))
    out.append(Target(f"{stack}'s boundary", ((boundary_arn(stack_names(stack, account=ACCOUNT)), ()),)))
    return tuple(out)


def _write_actions(policy: dict[str, Any]) -> list[str]:
    reads = set(TABLE["read"]["actions"]) | {
        a for e in TABLE["types"].values() for a in e.get("source", {}).get("actions", [])
    }
    out = set()
    for st in policy["Statement"]:
        if st["Effect"] != "Allow":
            continue
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if st["Sid"] == "NoResourceLevelPermissionInRegion":
            unknown = set(actions) - set(CREATE_ONLY_UNSCOPED) - set(UNSCOPABLE_REACH)
            assert not unknown, f"unscoped actions that act on existing resources: {unknown}"
            continue
        out.update(a for a in actions if a not in reads)
    return sorted(out)


def _variants(caller: str, other: str) -> list[dict[str, Any]]:
    """Request contexts a caller may choose: no tags, its own stack's, the other stack's; boundaries either way."""
    out: list[dict[str, Any]] = [{}]
    for stack in (caller, other):
        tags = {"app": "slipway", "stack": stack}
        out.append(
            {
                **{f"aws:RequestTag/{k}": v for k, v in tags.items()},
                "aws:TagKeys": sorted(tags),
                "ec2:CreateAction": "CreateVpc",
                "iam:PermissionsBoundary": boundary_arn(stack_names(stack, account=ACCOUNT)),
                "iam:PassedToService": "ecs-tasks.amazonaws.com",
            }
        )
    return out


def _for_action(policy: dict[str, Any], action: str) -> dict[str, Any]:
    """The statements that can apply to ``action`` (the others cannot change its decision): keeps the search fast."""
    from slipway.iam_eval import action_matches

    def hits(st: dict[str, Any]) -> bool:
        if "NotAction" in st:
            return True
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        return any(action_matches(p, action) for p in actions)

    return {**policy, "Statement": [st for st in policy["Statement"] if hits(st)]}


def _writes_on(policy: dict[str, Any], targets: tuple[Target, ...], caller: str, other: str) -> list[str]:
    found = []
    variants = _variants(caller, other)
    for action in _write_actions(policy):
        if action in CREATE_ONLY_NAMED:
            continue
        narrowed = _for_action(policy, action)
        service = action.split(":")[0]
        # AWS authorizes an action only against ARNs of its own service: other pairs are no request at all
        same_service = [t for t in targets if any(arn.split(":")[2] == service for arn, _ in t.parts)]
        for target, extra in itertools.product(same_service, variants):
            base = {"aws:RequestedRegion": REGION, **extra}
            if all(allowed(narrowed, action, arn, {**base, **ctx}) for arn, ctx in target.requests()):
                found.append(f"{action} on {target.label} with {sorted(extra)}")
    return sorted(set(found))


def _retaggable(policy: dict[str, Any], targets: tuple[Target, ...], caller: str) -> list[Target]:
    """Targets whose tags the caller may change to its own stack's."""
    tags = {"aws:RequestTag/app": "slipway", "aws:RequestTag/stack": caller, "aws:TagKeys": ["app", "stack"]}
    actions = [a for a in _write_actions(policy) if a in deploy_policy.TAG_ACTIONS or a.endswith(":TagResource")]

    def mine(t: Target) -> bool:
        return all(ctx.get("aws:ResourceTag/stack") == caller for _, ctx in t.requests())

    def same_service(a: str, t: Target) -> bool:
        return any(arn.split(":")[2] == a.split(":")[0] for arn, _ in t.parts)

    return [
        t
        for t in targets
        if not mine(t)
        and any(
            same_service(a, t)
            and all(
                allowed(policy, a, arn, {"aws:RequestedRegion": REGION, **ctx, **tags}) for arn, ctx in t.requests()
            )
            for a in actions
        )
    ]


def _as_retagged(target: Target, caller: str) -> Target:
    parts = []
    for arn, ctx in target.parts:
        values = dict(ctx)
        values.update({"aws:ResourceTag/app": "slipway", "aws:ResourceTag/stack": caller})
        parts.append((arn, tuple(sorted(values.items()))))
    return Target(target.label + f" (re-tagged stack={caller})", tuple(parts))


@pytest.mark.parametrize(("caller", "other"), [("dev", "prod"), ("prod", "dev")])
def test_a_stacks_role_can_write_or_delete_nothing_of_the_other_stack_even_after_its_tag_changes(
    caller: str, other: str
) -> None:
    policy, targets = _policy(caller), _targets(other)
    if caller == "dev":
        assert not set(UNSCOPABLE_REACH) & set(json.dumps(policy).split('"')), "dev's role has no unscopable reach"
    assert len(targets) > 60 and len(_write_actions(policy)) > 100, "the check covers the whole stack"
    direct = _writes_on(policy, targets, caller, other)
    assert not direct, f"{len(direct)} writes on {other}:\n" + "\n".join(direct[:40])
    # the closure of tag changes: re-tag whatever may be re-tagged, until nothing more can be
    current = list(targets)
    for _ in range(3):
        retaggable = _retaggable(policy, tuple(current), caller)
        if not retaggable:
            break
        current = [_as_retagged(t, caller) if t in retaggable else t for t in current]
    else:
        pytest.fail("tag changes do not converge")
    assert not _retaggable(policy, tuple(current), caller), "no tag of the other stack can be changed"
    after = _writes_on(policy, tuple(current), caller, other)
    assert not after, f"{len(after)} writes on {other} after tag changes:\n" + "\n".join(after[:40])
    meta = "arn:aws:s3:::STATE_BUCKET/.pulumi/meta.yaml"
    assert not any(allowed(policy, a, meta, {}) for a in ("s3:PutObject", "s3:DeleteObject")), "shared: read only"


def test_the_check_finds_a_write_when_there_is_one() -> None:
    """Unconditioned tagging (the previous table's) is found: dev re-tags prod's VPC, then may delete it."""
    policy = _policy("dev")
    leaky = {
        **policy,
        "Statement": [
            *policy["Statement"],
            {"Sid": "Leak", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": f"arn:aws:ec2:{REGION}:*:*"},
        ],
    }
    vpc = next(t for t in _targets("prod") if ":vpc/" in t.label)
    assert _retaggable(leaky, (vpc,), "dev") == [vpc]
    assert _writes_on(leaky, (_as_retagged(vpc, "dev"),), "dev", "prod")
    assert not _writes_on(policy, (vpc,), "dev", "prod")


# -- escalation -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    name: str
    arn: str
    identity: tuple[dict[str, Any], ...] = field(hash=False)
    boundary: dict[str, Any] | None = field(default=None, hash=False)

    def may(self, action: str, arn: str, ctx: dict[str, Any]) -> bool:
        return allowed(list(self.identity), action, arn, {"aws:RequestedRegion": REGION, **ctx}, self.boundary)


def _roles_of(stack: str) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """(name, trust policy, inline policies) of every role the stack creates."""
    import json

    graph = _policy_graph(stack)
    out = []
    for role in graph.by_type("aws:iam/role:Role"):
        name = role.outputs["name"]
        inline = [
            json.loads(p.input("policy"))
            for p in graph.by_type("aws:iam/rolePolicy:RolePolicy")
            if p.input("role") == name
        ]
        out.append((name, json.loads(role.input("assumeRolePolicy")), inline))
    return out


ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _reachable(caller: str) -> list[Principal]:
    """Every principal the caller's deploy role can become or act through, each at the most it could be given."""
    names = stack_names(caller, account=ACCOUNT)
    deploy = Principal(
        f"{caller} deploy role", f"arn:aws:iam::{ACCOUNT}:role/slipway-github-deploy-{caller}", (_policy(caller),)
    )
    boundary = boundary_policy(names)
    reached = [deploy]
    # roles the deploy role may write (its own, created or existing) hold whatever it puts in them, capped by the
    # boundary it must set: model each as "allow everything" under that boundary
    own_role = f"arn:aws:iam::{ACCOUNT}:role/{names.prefix}-anything"
    bounded = {"iam:PermissionsBoundary": boundary_arn(names)}
    if deploy.may("iam:PutRolePolicy", own_role, bounded) or deploy.may("iam:CreateRole", own_role, bounded):
        reached.append(Principal(f"{caller} role written by its deploy role", own_role, (ALLOW_ALL,), boundary))
    for name, _trust, inline in _roles_of(caller):
        reached.append(
            Principal(f"{caller} role {name}", f"arn:aws:iam::{ACCOUNT}:role/{name}", tuple(inline), boundary)
        )
    return reached


def _escalations(caller: str, other: str) -> list[str]:
    reached = _reachable(caller)
    other_names = stack_names(other, account=ACCOUNT)
    other_roles = _roles_of(other)
    found = []
    for p in reached:
        for name, trust, _inline in other_roles:
            role = f"arn:aws:iam::{ACCOUNT}:role/{name}"
            if p.may("sts:AssumeRole", role, {}) and principal_trusted(trust, p.arn):
                found.append(f"{p.name} assumes {name}")
            for service in deploy_policy.PASSED_TO:
                if p.may("iam:PassRole", role, {"iam:PassedToService": service}):
                    found.append(f"{p.name} passes {name} to {service}")
            for action in (
                "iam:PutRolePolicy",
                "iam:AttachRolePolicy",
                "iam:UpdateAssumeRolePolicy",
                "iam:DeleteRolePermissionsBoundary",
            ):
                for boundary in (boundary_arn(other_names), boundary_arn(stack_names(caller, account=ACCOUNT))):
                    if p.may(action, role, {"iam:PermissionsBoundary": boundary}):
                        found.append(f"{p.name}: {action} on {name}")
        for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
            if p.may(action, boundary_arn(other_names), {}):
                found.append(f"{p.name}: {action} on {other}'s boundary")
        if p.may(
            "iam:CreateRole",
            f"arn:aws:iam::{ACCOUNT}:role/{other_names.prefix}-x",
            {"iam:PermissionsBoundary": boundary_arn(other_names)},
        ):
            found.append(f"{p.name} creates a role under {other}'s boundary")
        sensitive = [t for t in _targets(other) if any(w in t.label for w in ("secret", "state", "key"))]
        for target in sensitive:
            for action in (
                "secretsmanager:GetSecretValue",
                "kms:Decrypt",
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
            ):
                if all(p.may(action, arn, ctx) for arn, ctx in target.requests()):
                    found.append(f"{p.name}: {action} on {target.label}")
        other_secret = _a("secretsmanager", f"secret:{other_names.prefix}-app-secrets-AbCdEf")
        if p.may("secretsmanager:GetSecretValue", other_secret, {}):
            found.append(f"{p.name} reads {other_secret}")
    return found


@pytest.mark.parametrize(("caller", "other"), [("dev", "prod"), ("prod", "dev")])
def test_no_escalation_path_reaches_the_other_stacks_secrets_state_or_roles(caller: str, other: str) -> None:
    reached = _reachable(caller)
    assert len(reached) >= 5, [p.name for p in reached]
    found = _escalations(caller, other)
    assert not found, "\n".join(found)


def test_the_escalation_search_finds_a_role_passed_across_stacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """With PassRole on every role (no name scope), the dev deploy role could run a task as prod's task role."""
    leaky = {
        **_policy("dev"),
        "Statement": [
            *_policy("dev")["Statement"],
            {"Sid": "Leak", "Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"},
        ],
    }
    original = _policy
    monkeypatch.setattr(sys.modules[__name__], "_policy", lambda stack: leaky if stack == "dev" else original(stack))
    found = _escalations("dev", "prod")
    assert any("passes slipway-prod-task" in f for f in found), found


def test_the_escalation_search_finds_the_chain_of_issue_18() -> None:
    """The previous boundary (GetSecretValue on every ``rds!db-*``) let a role the dev deploy role writes read prod's
    master password: the search finds exactly that."""
    names = stack_names("dev", account=ACCOUNT)
    old = boundary_policy(names)
    old["Statement"] = [s for s in old["Statement"] if s["Sid"] != "ReadOwnDatabasesManagedMasterSecret"]
    old["Statement"].append(
        {
            "Sid": "Old",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": _a("secretsmanager", "secret:rds!db-*"),
        }
    )
    role = Principal("dev role", f"arn:aws:iam::{ACCOUNT}:role/slipway-dev-x", (ALLOW_ALL,), old)
    master = next(t for t in _targets("prod") if "master secret" in t.label)
    assert all(role.may("secretsmanager:GetSecretValue", arn, ctx) for arn, ctx in master.requests())
    fixed = Principal("dev role", role.arn, (ALLOW_ALL,), boundary_policy(names))
    assert not any(fixed.may("secretsmanager:GetSecretValue", arn, ctx) for arn, ctx in master.requests())
