"""``python -m slipway deploy-policy --stack pr-<n>``: the policy of the one **preview deploy role** that runs
``pulumi up``/``destroy`` of every preview stack ``pr-*`` of an app (docs/previews.md), generated from a preview's
offline graph and the action table (``deploy_actions.json``), like the stacks' deploy policies.

What it allows, and only that:

- name-scoped types (``scope: name``): the table's create, change and delete actions on ARNs named
  ``<app>-pr-*`` (target groups, task definitions, log groups ``/slipway/<app>-pr-*/...``, secrets, roles); an
  entry's ``preview`` block names what differs for a preview: the source stack's cluster in a service's ARN and
  ``ecs:task-definition`` of a preview (services), ``ecs:cluster`` of the source stack (``RunTask``), the source
  stack's repository (image push and pull), and actions a preview must not have (``excluded``, with the reason);
- tag-scoped types (``scope: tag``: security groups and their rules, listener rules): a create only with the tag
  ``preview`` = ``pr-*`` in the request (``aws:RequestTag``; the graph's tag keys only, never ``app``/``stack``),
  change and delete only of resources tagged ``preview`` = ``pr-*`` (``aws:ResourceTag``), a tag change never
  dropping that tag; resources of the source stack a call names (its VPC; its HTTPS listener, the only listener a
  rule may be created on) only as the call's context, by the source stack's tags or by exact ARN;
- roles: created and written only with the previews' permissions boundary ``<app>-pr-boundary``, passed only to
  ECS tasks; the boundary itself (:func:`boundary_policy`) caps every preview role;
- Pulumi state: the ``pr-*`` stacks' own objects and locks (as a stack's deploy role has its own), the source
  stack's checkpoint read only (the preview's ``StackReference``); reads in the region.

Nothing else of the source stack: its load balancer, listeners (but ``CreateRule`` on the HTTPS one), security
groups, database, secrets (never its master secret: explicitly denied), roles, task definitions, services, log
groups and state are neither written nor deleted (tests/test_preview_deploy_policy.py evaluates every pair).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from . import deploy_policy as dp
from .offline import ResourceGraph

PREVIEW_TAG = "preview"
"""The tag every resource of a preview carries (``PreviewApp``: ``preview: pr-<n>``)."""
PREVIEW_VALUE = "pr-*"
SOURCE_STACK = "dev"
FILE_LABEL = "preview"
"""deploy/iam file names: ``deploy-policy-preview-N.json``, ``role-boundary-preview.json``,
``github-oidc-trust-preview.json``: one role for every ``pr-*`` stack."""
LISTENER_PLACEHOLDER = (
    "arn:aws:elasticloadbalancing:{region}:{account}:listener/app/LOAD_BALANCER_NAME/LOAD_BALANCER_ID/LISTENER_ID"
)
"""The source stack's HTTPS listener until ``--https-listener-arn`` names it (``pulumi stack output preview
--stack dev``: ``https_listener_arn``); the generated files carry it like ``ACCOUNT_ID``."""
LISTENER_ARN = re.compile(r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener/app/[\w-]+/\w+/\w+$")
GITHUB_SUBJECTS = ("pull_request", "ref:refs/heads/main")
"""OIDC subjects of preview-env.yml's jobs: ``pull_request`` (deploy, teardown; GitHub issues no OIDC token to a
fork's pull request: its id-token permission is read at most) and the default branch (the janitor, scheduled)."""
REVIEWED_TYPES = frozenset(
    {
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ecs/service:Service",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:lb/listenerRule:ListenerRule",
        "aws:lb/targetGroup:TargetGroup",
        "aws:secretsmanager/secret:Secret",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "docker:index/image:Image",
        "pulumi-python:dynamic/slipway:MigrationGate",
        "pulumi-python:dynamic/slipway:PreviewDatabaseGate",  # its source stack's preview-db machine only
    }
)
"""The types a preview's graph holds whose table entries were checked for a preview (what of the source stack
their calls name, what needs a ``preview`` block): a type added to the preview's graph later fails
:func:`generate` until it is reviewed and added here (tests/test_preview_deploy_policy.py)."""
TAGGING = dp.TAG_ACTIONS | {"elasticloadbalancing:AddTags"}
UNTAGGING = dp.UNTAG_ACTIONS | {"elasticloadbalancing:RemoveTags"}
CREATE_ACTION_KEY = {"ec2": "ec2:CreateAction", "elasticloadbalancing": "elasticloadbalancing:CreateAction"}
"""Condition key naming the creating call of a tag-on-create request; its values are API names without the
service prefix (EC2 and ELB user guides, "tag resources during creation")."""


@dataclass(frozen=True)
class PreviewNames:
    """What the preview deploy policy is scoped to."""

    app: str
    region: str
    account: str
    project: str = "slipway"
    source: str = SOURCE_STACK
    https_listener_arn: Optional[str] = None

    @property
    def stack(self) -> dp.StackNames:
        """Every ``pr-*`` stack as one: ``{prefix}`` = ``<app>-pr-*``."""
        return dp.StackNames(
            app=self.app,
            stack="pr-*",
            region=self.region,
            account=self.account,
            project=self.project,
            environment="preview",
        )

    @property
    def source_prefix(self) -> str:
        return f"{self.app}-{self.source}"

    @property
    def listener(self) -> str:
        return self.https_listener_arn or LISTENER_PLACEHOLDER.format(region=self.region, account=self.account)

    def fill(self, template: str) -> str:
        listener = self.listener
        return template.format(
            app=self.app,
            prefix=self.stack.prefix,
            region=self.region,
            account=self.account,
            source=self.source_prefix,
            https_listener=listener,
            https_listener_rules=listener.replace(":listener/", ":listener-rule/", 1) + "/*",
        )


def preview_names(
    stack: str,
    account: str = dp.ACCOUNT_PLACEHOLDER,
    https_listener_arn: Optional[str] = None,
    root: Optional[Path] = None,
) -> PreviewNames:
    """Names from the source stack's file (a preview has none): its app name, region and project."""
    from slipway_aws.preview import SOURCE_STACK as DEFAULT_SOURCE

    if https_listener_arn is not None and not LISTENER_ARN.match(https_listener_arn):
        raise dp.DeployPolicyError(
            f"--https-listener-arn {https_listener_arn}: not an ALB listener ARN"
            " (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>)"
        )
    source = dp.stack_names(DEFAULT_SOURCE, account=account, root=root)
    names = PreviewNames(
        app=source.project,
        region=source.region,
        account=account,
        project=source.project,
        source=DEFAULT_SOURCE,
        https_listener_arn=https_listener_arn,
    )
    if https_listener_arn and f"/app/{names.source_prefix}-" not in https_listener_arn:
        raise dp.DeployPolicyError(
            f"--https-listener-arn {https_listener_arn}: not a listener of {names.source_prefix}'s load balancer"
        )
    return names


def boundary_arn(names: PreviewNames) -> str:
    from slipway_aws.preview import boundary_name

    return f"arn:aws:iam::{names.account}:policy/{boundary_name(names.app)}"


def generate(
    graph: ResourceGraph,
    names: PreviewNames,
    table: Optional[Mapping[str, Any]] = None,
    state_bucket: str = dp.STATE_BUCKET_PLACEHOLDER,
) -> dict[str, Any]:
    """The preview deploy policy for a preview's ``graph``; raises DeployPolicyError for an uncovered type."""
    table = table or dp.load_table()
    entries = table["types"]
    present = [t for t in dp.resource_types(graph) if t not in table.get("not_aws", [])]
    missing = [t for t in present if t not in entries]
    if missing:
        raise dp.DeployPolicyError(
            f"no deploy actions for {', '.join(missing)}: add them to slipway/deploy_actions.json"
        )
    unreviewed = [t for t in present if t not in REVIEWED_TYPES]
    if unreviewed:
        raise dp.DeployPolicyError(
            f"{', '.join(unreviewed)}: not reviewed for the preview deploy policy (what of the source stack its calls"
            " name, whether it needs a preview block in slipway/deploy_actions.json): see REVIEWED_TYPES in"
            " slipway/preview_deploy_policy.py"
        )
    statements: list[dict[str, Any]] = [
        *_state(names, state_bucket),
        *dp._read_statements(table, names.stack),
        *_named(entries, present, names),
        *_tagged(entries, present, names, tag_keys(graph)),
        *_roles(entries, present, names),
        *_guards(names),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def tag_keys(graph: ResourceGraph) -> list[str]:
    """The tag keys a preview's create may set: those its graph's resources carry, never ``app``/``stack``."""
    keys = {str(k) for r in graph.resources if isinstance(r.inputs.get("tags"), dict) for k in r.inputs["tags"]}
    return sorted((keys | {PREVIEW_TAG}) - set(dp.STACK_TAGS))


def _state(names: PreviewNames, state_bucket: str) -> list[dict[str, Any]]:
    own = dp._state_statements(names.stack, state_bucket)
    source = {
        "Sid": "PulumiStateOfTheSourceStackReadOnly",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{state_bucket}/.pulumi/stacks/{names.project}/{names.source}.json",
    }
    return [*own, source]


def _named(entries: Mapping[str, Any], present: Iterable[str], names: PreviewNames) -> list[dict[str, Any]]:
    grouped: dict[tuple[tuple[str, ...], str], tuple[list[str], set[str]]] = {}
    for type_ in present:
        entry = entries[type_]
        if entry["scope"] != "name":
            continue
        preview = entry.get("preview", {})
        actions = dp._actions(entry) - {"iam:PassRole"} - set(dp.BOUNDED_ACTIONS) - set(preview.get("excluded", {}))
        arns = tuple(sorted({names.fill(a) for a in preview.get("arns", entry["arns"])}))
        conditions = preview.get("conditions", {})
        for action in actions:
            key = (arns, json.dumps(conditions.get(action), sort_keys=True))
            types, acts = grouped.setdefault(key, ([], set()))
            if type_ not in types:
                types.append(type_)
            acts.add(action)
    out = []
    for (arns, condition), (types, actions) in sorted(grouped.items(), key=lambda kv: (kv[1][0][0], kv[0][1])):
        statement: dict[str, Any] = {
            "Sid": dp._sid(types[0].rsplit(":", 1)[-1]) + ("ByName" if condition == "null" else "ByNameIf"),
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": list(arns) if len(arns) > 1 else arns[0],
        }
        if condition != "null":
            statement["Condition"] = _fill_values(json.loads(condition), names)
        out.append(statement)
    return _unique_sids(out)


def _fill_values(value: Any, names: PreviewNames) -> Any:
    if isinstance(value, dict):
        return {k: _fill_values(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_values(v, names) for v in value]
    return names.fill(value) if isinstance(value, str) else value


def _own_types(entries: Mapping[str, Any], present: Iterable[str]) -> set[str]:
    """Resource types of the tag-scoped calls that the preview's graph creates or adopts itself."""
    return {
        ref.lstrip("+~")
        for t in present
        if t in entries and entries[t]["scope"] == "tag"
        for p in ("create", "change", "delete")
        for c in dp.calls(entries[t], p)
        for ref in c.refs
        if ref.startswith(("+", "~"))
    }


def _request(keys: list[str]) -> dict[str, Any]:
    return {
        "StringLike": {f"aws:RequestTag/{PREVIEW_TAG}": PREVIEW_VALUE},
        "ForAllValues:StringEquals": {"aws:TagKeys": keys},
    }


def _own() -> dict[str, Any]:
    return {"StringLike": {f"aws:ResourceTag/{PREVIEW_TAG}": PREVIEW_VALUE}}


def _untagged() -> dict[str, Any]:
    """Only where no owner's tag exists yet: a new resource, or an untaggable child (a security-group rule)."""
    return {"Null": {f"aws:ResourceTag/{PREVIEW_TAG}": "true", "aws:ResourceTag/stack": "true"}}


def _source_tags(names: PreviewNames) -> dict[str, Any]:
    return {"StringEquals": {"aws:ResourceTag/app": names.app, "aws:ResourceTag/stack": names.source}}


def _tagged(
    entries: Mapping[str, Any], present: Iterable[str], names: PreviewNames, keys: list[str]
) -> list[dict[str, Any]]:
    """Per service and kind of request (create, tag at create, own, re-tag, untag, untagged child, source's
    resource named by a call): the actions and ARNs of the tag-scoped entries' calls, each with its conditions."""
    present = list(present)
    own_types = _own_types(entries, present)
    buckets: dict[tuple[str, str, str], tuple[set[str], set[str]]] = {}

    def add(svc: str, kind: str, extra: str, action: str, arn: str) -> None:
        actions, arns = buckets.setdefault((svc, kind, extra), (set(), set()))
        actions.add(action)
        arns.add(arn)

    for type_ in present:
        entry = entries[type_]
        if entry["scope"] != "tag":
            continue
        arns = entry.get("preview", {}).get("arns", {})
        for phase in ("create", "change", "delete"):
            creating_call = ""
            for i, call in enumerate(dp.calls(entry, phase)):
                svc = call.action.split(":")[0]
                creating = phase == "create" and i == 0 and entry["tagging"] == "request"
                if creating:
                    creating_call = call.action.split(":")[1]
                for ref in call.refs:
                    if ref == "*":
                        raise dp.DeployPolicyError(f"{type_}: {call.action} has no resource-level permission")
                    kind_of = ref.lstrip("+~")
                    arn = names.fill(arns.get(kind_of) or entry["arn_format"].replace("{type}", kind_of))
                    if ref.startswith("+") and call.action in TAGGING:
                        add(svc, "tag-at-create", creating_call, call.action, arn)
                    elif ref.startswith("+"):
                        add(svc, "create", "", call.action, arn)
                    elif ref.startswith("~"):
                        add(svc, "untagged", "", call.action, arn)
                    elif kind_of not in own_types:
                        source = "exact" if kind_of in arns else "tagged"
                        add(svc, f"source-{source}", "request" if creating else "", call.action, arn)
                    elif call.action in TAGGING:
                        add(svc, "retag", "", call.action, arn)
                    elif call.action in UNTAGGING:
                        add(svc, "untag", "", call.action, arn)
                    else:
                        add(svc, "own", "", call.action, arn)
    out = []
    for (svc, kind, extra), (actions, arn_set) in sorted(buckets.items()):
        condition: dict[str, Any]
        if kind == "create":
            condition = {**_request(keys), **_untagged()}
        elif kind == "tag-at-create":
            condition = {**_request(keys), **_untagged(), "StringEquals": {CREATE_ACTION_KEY[svc]: extra}}
        elif kind == "own":
            condition = _own()
        elif kind == "retag":
            condition = {
                **_own(),
                "StringLikeIfExists": {f"aws:RequestTag/{PREVIEW_TAG}": PREVIEW_VALUE},
                "ForAllValues:StringNotEquals": {"aws:TagKeys": list(dp.STACK_TAGS)},
            }
        elif kind == "untag":
            condition = {**_own(), "ForAllValues:StringNotEquals": {"aws:TagKeys": [PREVIEW_TAG]}}
        elif kind == "untagged":
            condition = _untagged()
        elif kind == "source-tagged":
            condition = {**_source_tags(names), **(_request(keys) if extra else {})}
        else:
            condition = _request(keys) if extra else {}
        statement: dict[str, Any] = {
            "Sid": _sid(svc, kind),
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": sorted(arn_set) if len(arn_set) > 1 else next(iter(arn_set)),
        }
        if condition:
            statement["Condition"] = condition
        out.append(statement)
    return _unique_sids(out)


KIND_SIDS = {
    "create": "CreateOnlyTaggedAsAPreview",
    "tag-at-create": "TagOnlyInTheCreatingCall",
    "own": "ChangeAndDeleteOnlyPreviewTagged",
    "retag": "RetagPreviewTaggedKeepingItAPreview",
    "untag": "UntagPreviewTaggedButNeverItsPreviewTag",
    "untagged": "UntaggedRulesOfPreviewGroups",
    "source-tagged": "InTheSourceStacksTaggedResources",
    "source-exact": "OnTheSourceStacksHttpsListenerOnly",
}


def _sid(svc: str, kind: str) -> str:
    return dp._sid(svc) + KIND_SIDS[kind]


def _unique_sids(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, int] = {}
    for st in statements:
        n = seen.get(st["Sid"], 0)
        seen[st["Sid"]] = n + 1
        if n:
            st["Sid"] = f"{st['Sid']}{n + 1}"
    return statements


def _roles(entries: Mapping[str, Any], present: Iterable[str], names: PreviewNames) -> list[dict[str, Any]]:
    present = list(present)
    if not any("iam:PassRole" in dp._actions(entries[t]) for t in present):
        return []
    own_roles = names.fill("arn:aws:iam::{account}:role/{prefix}-*")
    passed_to = dp._passed_to(entries, present)
    return dp.bounded_role_statements(own_roles, boundary_arn(names), passed_to, "Preview", "PreviewBoundary")


def _guards(names: PreviewNames) -> list[dict[str, Any]]:
    chain = [s for s in dp._guards(names.stack) if s["Sid"] == "NeverAssumeAnotherRoleOrEditATrustPolicy"]
    return [
        *chain,
        {
            "Sid": "NeverReadAnRdsManagedMasterSecret",
            "Effect": "Deny",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
            "Resource": f"arn:aws:secretsmanager:*:{names.account}:secret:rds!*",
        },
    ]


def boundary_policy(names: PreviewNames) -> dict[str, Any]:
    """The permissions boundary of every preview role (``<app>-pr-boundary``, created by the bootstrap): pull from
    the source stack's repository, write the previews' logs, read the previews' secrets, sign in to the database as
    a ``pr_<n>`` user only. Never the source stack's master secret: dev's own state machine creates a preview's
    database (components/preview_db.py), so no preview role needs it."""
    a, r = names.account, names.region
    prefix = names.stack.prefix
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "PullImagesAuth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "PullFromTheSourceStacksRepository",
                "Effect": "Allow",
                "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Resource": f"arn:aws:ecr:{r}:{a}:repository/{names.source_prefix}",
            },
            {
                "Sid": "WritePreviewLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"arn:aws:logs:{r}:{a}:log-group:/slipway/{prefix}/*",
            },
            {
                "Sid": "ReadPreviewSecrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": f"arn:aws:secretsmanager:{r}:{a}:secret:{prefix}-*",
            },
            {
                "Sid": "SignInAsAPreviewDatabaseUserOnly",
                "Effect": "Allow",
                "Action": "rds-db:connect",
                "Resource": f"arn:aws:rds-db:{r}:{a}:dbuser:*/pr_*",
            },
        ],
    }


def trust_policy(names: PreviewNames) -> dict[str, Any]:
    """Who may assume the preview deploy role: preview-env.yml's jobs of this repository only, one statement per
    exact OIDC subject (``pull_request`` events, and the default branch for the scheduled janitor)."""
    provider = f"arn:aws:iam::{names.account}:oidc-provider/token.actions.githubusercontent.com"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActions" + dp._sid(subject.split(":")[0]),
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": f"repo:GITHUB_OWNER/GITHUB_REPO:{subject}",
                    }
                },
            }
            for subject in GITHUB_SUBJECTS
        ],
    }


def write_files(target: Path, parts: list[dict[str, Any]], names: PreviewNames) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob(f"deploy-policy-{FILE_LABEL}-*.json"):
        old.unlink()
    for i, part in enumerate(parts, 1):
        (target / f"deploy-policy-{FILE_LABEL}-{i}.json").write_text(dp.render(part))
    (target / f"role-boundary-{FILE_LABEL}.json").write_text(dp.render(boundary_policy(names)))
    (target / f"github-oidc-trust-{FILE_LABEL}.json").write_text(dp.render(trust_policy(names)))


def main(args: Any, out: Any, err: Any) -> int:
    """``deploy-policy --stack pr-<n>``: the preview deploy role's policy (every ``pr-*`` stack's)."""
    from slipway_aws.config import ConfigError
    from slipway_aws.validation import ArgsError

    from .offline import StackFileError, run_stack

    try:
        names = preview_names(args.stack, account=args.account, https_listener_arn=args.https_listener_arn)
        policy = generate(run_stack(args.stack), names, state_bucket=args.state_bucket)
        parts = dp.split(policy)
    except (StackFileError, dp.DeployPolicyError, ConfigError, ArgsError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    if args.out_dir:
        write_files(Path(args.out_dir), parts, names)
        print(
            f"wrote {len(parts)} managed policies, the boundary and the trust policy of the preview deploy role"
            f" (every pr-* stack) to {args.out_dir}/",
            file=err,
        )
        return 0
    out.write(dp.render(policy))
    return 0
