"""The day-0 program (bootstrap/): planned offline for a single- and a multi-account configuration, its documents
equal to what slipway/deploy_policy.py generates, its policy checks failing on a weakened bucket, key or trust, and
bad configuration refused before any resource exists."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from slipway import deploy_policy as dp
from slipway.offline import ROOT, Resource, ResourceGraph, run_stack
from slipway_aws.bootstrap import AccountBootstrapArgs, StackIdentity, account_bootstrap_args
from slipway_aws.config import ConfigError
from slipway_aws.validation import ArgsError
from slipway_policy.rules import STACK_RULES, evaluate
from tests.conftest import _graph

BOOTSTRAP = ROOT / "bootstrap"
NS = "slipway-bootstrap"
DAY0_RULES = {
    "state-bucket-versioned",
    "state-bucket-encrypted",
    "state-bucket-tls-only",
    "state-bucket-public-access-blocked",
    "state-bucket-protected",
    "secrets-key-protected",
    "kms-key-rotation",
    "github-oidc-trust-scoped",
}
T_ROLE, T_POLICY, T_KEY = "aws:iam/role:Role", "aws:iam/policy:Policy", "aws:kms/key:Key"


@pytest.fixture(scope="module")
def single() -> ResourceGraph:
    return run_stack("single", root=BOOTSTRAP)


@pytest.fixture(scope="module")
def multi() -> ResourceGraph:
    return run_stack("multi", root=BOOTSTRAP)


def _named(graph: ResourceGraph, type_: str, name: str) -> Resource:
    found = [r for r in graph.by_type(type_) if r.input("name") == name]
    assert len(found) == 1, (type_, name, [r.input("name") for r in graph.by_type(type_)])
    return found[0]


def _subject(role: Resource) -> str:
    trust = role.json_input("assumeRolePolicy")
    return trust["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]


def _component(graph: ResourceGraph, resource: Resource) -> str:
    return graph.get(resource.parent).name if resource.parent else ""


# -- single account ------------------------------------------------------------------------------------------
def test_single_account_plans_everything_day_0_needs(single: ResourceGraph) -> None:
    (provider,) = single.by_type("pulumi:providers:aws")
    assert json.loads(provider.inputs["allowedAccountIds"]) == ["111111111111"]
    (oidc,) = single.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.input("url") == "https://token.actions.githubusercontent.com"
    assert oidc.input("clientIdLists") == ["sts.amazonaws.com"] and oidc.input("thumbprintLists") is None
    (bucket,) = single.by_type("aws:s3/bucket:Bucket")
    assert bucket.input("bucket") == "slipway-pulumi-state-111111111111"
    assert bucket.protect and bucket.retain_on_delete
    assert sorted(k.input("name") for k in single.by_type("aws:kms/alias:Alias")) == [
        "alias/slipway-dev",
        "alias/slipway-prod",
    ]
    assert all(k.input("enableKeyRotation") is True and k.protect for k in single.by_type(T_KEY))
    assert _subject(_named(single, T_ROLE, "slipway-github-deploy-dev")) == "repo:your-org/slipway:environment:dev"
    assert _subject(_named(single, T_ROLE, "slipway-github-deploy-prod")) == (
        "repo:your-org/slipway:environment:production"
    )
    assert _subject(_named(single, T_ROLE, "slipway-github-preview")) == "repo:your-org/slipway:environment:preview"
    assert {p.input("name") for p in single.by_type(T_POLICY)} >= {"slipway-dev-boundary", "slipway-prod-boundary"}


def test_no_bootstrap_resource_carries_a_stack_tag(single: ResourceGraph, multi: ResourceGraph) -> None:
    """Deploy roles may change and delete what is tagged with their stack: never their own key, bucket or role."""
    for graph in (single, multi):
        for r in graph.resources:
            assert not {"app", "stack"} & set(r.input("tags") or {}), r.name


def test_secrets_key_alias_is_the_one_prod_stack_file_names(single: ResourceGraph) -> None:
    provider = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["secretsprovider"]
    alias = provider.removeprefix("awskms://").split("?")[0]
    assert alias in {a.input("name") for a in single.by_type("aws:kms/alias:Alias")}
    assert single.outputs["secretsProviders"]["prod"] == provider


def _cached_run(stack: str, overrides: Any = None) -> ResourceGraph:
    """The session's cached stack graphs (tests/conftest.py), so this file plans each stack once."""
    return _graph(stack, tuple(sorted((overrides or {}).items())))


def _generated(stack: str, account: str) -> dict[str, Any]:
    names = dp.stack_names(stack, account=account)
    bucket = f"slipway-pulumi-state-{account}"
    environment = dp.GITHUB_ENVIRONMENTS.get(stack, stack)
    trust = json.loads(
        json.dumps(dp.trust_policy(names, environment)).replace("GITHUB_OWNER/GITHUB_REPO", "your-org/slipway")
    )
    return {
        "policies": dp.split(dp.generate(dp.policy_graph(stack, run=_cached_run), names, state_bucket=bucket)),
        "boundary": dp.boundary_policy(names),
        "trust": trust,
    }


@pytest.mark.parametrize(
    ("mode", "stack", "account"),
    [("single", "dev", "111111111111"), ("single", "prod", "111111111111"), ("multi", "prod", "222222222222")],
)
def test_deploy_roles_carry_exactly_what_deploy_policy_generates(
    single: ResourceGraph, multi: ResourceGraph, mode: str, stack: str, account: str
) -> None:
    graph = single if mode == "single" else multi
    want = _generated(stack, account)
    role = _named(graph, T_ROLE, f"slipway-github-deploy-{stack}")
    assert role.json_input("assumeRolePolicy") == want["trust"]
    parts = sorted(
        (p for p in graph.by_type(T_POLICY) if p.input("name").startswith(f"slipway-deploy-{stack}-")),
        key=lambda p: int(p.input("name").rsplit("-", 1)[1]),
    )
    assert [p.json_input("policy") for p in parts] == want["policies"]
    assert _named(graph, T_POLICY, f"slipway-{stack}-boundary").json_input("policy") == want["boundary"]
    attached = [
        a for a in graph.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if graph.depends_on(a, role)
    ]
    assert len(attached) == len(parts)
    assert [sum(graph.depends_on(a, p) for a in attached) for p in parts] == [1] * len(parts)  # each part once


# -- multi account -------------------------------------------------------------------------------------------
def test_multi_account_gives_each_stack_its_own_account(multi: ResourceGraph) -> None:
    providers = {p.name: json.loads(p.inputs["allowedAccountIds"]) for p in multi.by_type("pulumi:providers:aws")}
    assert providers == {"dev-account": ["111111111111"], "prod-account": ["222222222222"]}
    dev_role = _named(multi, T_ROLE, "slipway-github-deploy-dev")
    prod_role = _named(multi, T_ROLE, "slipway-github-deploy-prod")
    assert (_component(multi, dev_role), _component(multi, prod_role)) == ("dev-account", "prod-account")
    buckets = {_component(multi, b): b.input("bucket") for b in multi.by_type("aws:s3/bucket:Bucket")}
    assert buckets == {
        "dev-account": "slipway-pulumi-state-111111111111",
        "prod-account": "slipway-pulumi-state-222222222222",
    }
    assert len(multi.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")) == 2
    (preview,) = [r for r in multi.by_type(T_ROLE) if r.input("name") == "slipway-github-preview"]
    assert _component(multi, preview) == "dev-account"  # PR code never reads the prod account
    # the trust names the OIDC provider of the role's own account, and the policies its own account's ARNs
    assert "arn:aws:iam::222222222222:oidc-provider/" in prod_role.input("assumeRolePolicy")
    prod_parts = [p for p in multi.by_type(T_POLICY) if p.input("name").startswith("slipway-deploy-prod-")]
    assert prod_parts and not any("111111111111" in p.input("policy") for p in prod_parts)


def test_multi_account_prod_pulls_the_promoted_image_from_the_dev_account(multi: ResourceGraph) -> None:
    (pull,) = [r for r in multi.by_type("aws:iam/rolePolicy:RolePolicy") if "deploy-extra" in r.name]
    assert _component(multi, pull) == "prod-account"
    (statement,) = pull.json_input("policy")["Statement"]
    assert statement["Resource"][0] == "arn:aws:ecr:us-east-1:111111111111:repository/slipway-dev"
    assert "ecr:BatchGetImage" in statement["Action"] and not any(a.startswith("ecr:Put") for a in statement["Action"])


def _workflow_variables() -> set[str]:
    text = "".join(p.read_text() for p in (ROOT / ".github/workflows").glob("*.yml"))
    return set(re.findall(r"vars\.([A-Z_]+)", text))


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_outputs_are_the_variables_the_workflows_read(single: ResourceGraph, multi: ResourceGraph, mode: str) -> None:
    graph = single if mode == "single" else multi
    variables = graph.outputs["githubVariables"]
    exported = set(variables["repository"]) | {k for env in variables["environments"].values() for k in env}
    assert exported == {"AWS_REGION", "AWS_ROLE_ARN", "PULUMI_BACKEND_URL", "AWS_PREVIEW_ROLE_ARN"}
    assert exported <= _workflow_variables()
    assert set(variables["environments"]) >= {"dev", "production"}  # the environments deploy.yml names
    for env in ("dev", "production"):
        assert "AWS_ROLE_ARN" in variables["environments"][env]
    assert "gh variable set AWS_ROLE_ARN --env production --body" in graph.outputs["ghCommands"]


# -- policy checks -------------------------------------------------------------------------------------------
def _findings(resources: list[Resource]) -> set[str]:
    return {f.rule for f in evaluate(resources, "prod") if f.rule in DAY0_RULES}


def test_day0_rules_are_stack_rules_and_pass_on_both_plans(single: ResourceGraph, multi: ResourceGraph) -> None:
    assert DAY0_RULES <= {r.id for r in STACK_RULES}
    assert _findings(single.resources) == set()
    assert _findings(multi.resources) == set()


def _weaken(graph: ResourceGraph, type_: str, change: Any) -> list[Resource]:
    out = []
    for r in graph.resources:
        if r.type == type_:
            r = dataclasses.replace(r, inputs=dict(r.inputs))
            r = change(r)
            if r is None:
                continue
        out.append(r)
    return out


def _trust(edit: Any) -> Any:
    def change(role: Resource) -> Resource:
        trust = role.json_input("assumeRolePolicy")
        edit(trust["Statement"][0])
        role.inputs["assumeRolePolicy"] = json.dumps(trust)
        return role

    return change


def _set(key: str, value: Any) -> Any:
    def change(r: Resource) -> Resource:
        r.inputs[key] = value
        return r

    return change


WEAKENED = {
    "no versioning": ("aws:s3/bucketVersioning:BucketVersioning", lambda r: None, "state-bucket-versioned"),
    "versioning suspended": (
        "aws:s3/bucketVersioning:BucketVersioning",
        _set("versioningConfiguration", {"status": "Suspended"}),
        "state-bucket-versioned",
    ),
    "no encryption": (
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        lambda r: None,
        "state-bucket-encrypted",
    ),
    "no TLS deny": (
        "aws:s3/bucketPolicy:BucketPolicy",
        _set("policy", json.dumps({"Version": "2012-10-17", "Statement": []})),
        "state-bucket-tls-only",
    ),
    "public policies allowed": (
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        _set("blockPublicPolicy", False),
        "state-bucket-public-access-blocked",
    ),
    "bucket unprotected": (
        "aws:s3/bucket:Bucket",
        lambda r: dataclasses.replace(r, protect=False),
        "state-bucket-protected",
    ),
    "bucket deleted with the stack": (
        "aws:s3/bucket:Bucket",
        lambda r: dataclasses.replace(r, retain_on_delete=False),
        "state-bucket-protected",
    ),
    "key unprotected": (T_KEY, lambda r: dataclasses.replace(r, protect=False), "secrets-key-protected"),
    "key not rotated": (T_KEY, _set("enableKeyRotation", False), "kms-key-rotation"),
    "any audience": (
        T_ROLE,
        _trust(lambda s: s["Condition"]["StringEquals"].pop("token.actions.githubusercontent.com:aud")),
        "github-oidc-trust-scoped",
    ),
    "any repository of the owner": (
        T_ROLE,
        _trust(
            lambda s: s["Condition"].update(
                {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:your-org/*"}}
            )
        ),
        "github-oidc-trust-scoped",
    ),
    "any branch": (
        T_ROLE,
        _trust(
            lambda s: s["Condition"]["StringEquals"].update(
                {"token.actions.githubusercontent.com:sub": "repo:your-org/slipway:ref:refs/heads/*"}
            )
        ),
        "github-oidc-trust-scoped",
    ),
    "pull requests": (
        T_ROLE,
        _trust(
            lambda s: s["Condition"]["StringEquals"].update(
                {"token.actions.githubusercontent.com:sub": "repo:your-org/slipway:pull_request"}
            )
        ),
        "github-oidc-trust-scoped",
    ),
}


@pytest.mark.parametrize("case", sorted(WEAKENED))
def test_day0_rules_fail_on_a_weakened_bucket_key_or_trust(single: ResourceGraph, case: str) -> None:
    type_, change, rule = WEAKENED[case]
    assert rule in _findings(_weaken(single, type_, change))


def test_pack_sees_inputs_and_protect_of_the_bootstrap(single: ResourceGraph) -> None:
    """The policy pack hands stack rules the same fields: a bucket the pack sees unprotected is reported."""
    from pulumi_policy.policy import PolicyResource, PolicyResourceOptions, StackValidationArgs

    import slipway_policy.__main__ as pack

    def as_policy_resource(r: Resource, protect: bool) -> PolicyResource:
        opts = PolicyResourceOptions(protect, [], False, [], None, [], None)  # type: ignore[arg-type]
        deps = [_Dep(d) for d in r.dependencies]
        return PolicyResource(r.type, r.inputs, r.urn, r.name, opts, None, None, deps, {})  # type: ignore[arg-type]

    policies = {p.name: p for p in pack.build_policies("prod")}
    for protect, expected in ((True, 0), (False, 1)):
        resources = [as_policy_resource(r, protect or r.type != "aws:s3/bucket:Bucket") for r in single.resources]
        reported: list[str] = []

        def report(message: str, urn: Any = None, reported: list[str] = reported) -> None:
            reported.append(message)

        rule: Any = policies["state-bucket-protected"]
        rule.validate(StackValidationArgs(resources, None), report)
        assert len(reported) == expected


@dataclasses.dataclass
class _Dep:
    urn: str


# -- bad configuration ---------------------------------------------------------------------------------------
BAD_CONFIG: dict[str, tuple[dict[str, Any], str]] = {
    "repository without owner": ({f"{NS}:githubRepo": "slipway"}, "githubRepo"),
    "repository URL": ({f"{NS}:githubRepo": "https://github.com/your-org/slipway"}, "owner/name"),
    "unknown mode": ({f"{NS}:mode": "multi"}, "must be one of single-account, multi-account"),
    "single without account": ({f"{NS}:account": None}, "account: \n    is required"),
    "single with a short account": ({f"{NS}:account": "12345"}, "12-digit"),
    "multi with one account": (
        {f"{NS}:mode": "multi-account", f"{NS}:account": None, f"{NS}:accounts": json.dumps({"dev": "111111111111"})},
        "needs the 12-digit account of stack prod",
    ),
    "multi with one account twice": (
        {
            f"{NS}:mode": "multi-account",
            f"{NS}:account": None,
            f"{NS}:accounts": json.dumps({"dev": "111111111111", "prod": "111111111111"}),
        },
        "its own account",
    ),
    "misspelt key": ({f"{NS}:acount": "111111111111"}, f"did you mean {NS}:account?"),
    "unknown stack": ({f"{NS}:stacks": json.dumps(["dev", "staging"])}, "no stack file Pulumi.staging.yaml"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIG))
def test_bad_config_fails_before_any_resource(case: str) -> None:
    overrides, message = BAD_CONFIG[case]
    with pytest.raises(ConfigError) as caught:
        run_stack("single", root=BOOTSTRAP, overrides=overrides)
    assert message in str(caught.value)
    assert getattr(caught.value, "resources_registered") == 0  # noqa: B009 (set by the offline engine)


def test_a_region_other_than_the_stacks_fails_before_any_resource(single: ResourceGraph) -> None:
    with pytest.raises(ConfigError, match=r"stacks \['dev', 'prod'\] deploy to another region") as caught:
        run_stack("single", root=BOOTSTRAP, overrides={"aws:region": "eu-west-1"})
    assert getattr(caught.value, "resources_registered") == 0  # noqa: B009 (set by the offline engine)


def _identity(**changes: Any) -> StackIdentity:
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "Federated": "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
                },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": "repo:o/r:environment:dev",
                    }
                },
            }
        ]
    }
    base = StackIdentity("dev", [{"Statement": []}], "slipway-dev-boundary", {}, trust, "alias/slipway-dev")
    return dataclasses.replace(base, **changes)


def test_component_refuses_a_trust_of_another_account_and_stack_tags() -> None:
    account_bootstrap_args(AccountBootstrapArgs("111111111111", "us-east-1", [_identity()]))
    with pytest.raises(ArgsError) as caught:
        account_bootstrap_args(
            AccountBootstrapArgs(
                "222222222222", "us-east-1", [_identity()], tags={"stack": "dev"}, preview_stacks=["x"]
            )
        )
    text = str(caught.value)
    assert "must trust only arn:aws:iam::222222222222:oidc-provider" in text
    assert "must not carry app/stack" in text and "preview_stacks" in text
    with pytest.raises(ArgsError, match="alias"):
        account_bootstrap_args(
            AccountBootstrapArgs("111111111111", "us-east-1", [_identity(secrets_key_alias="alias/aws/s3")])
        )


def test_bootstrap_files_exist() -> None:
    for name in ("Pulumi.yaml", "Pulumi.single.yaml", "Pulumi.multi.yaml", "__main__.py"):
        assert (Path(BOOTSTRAP) / name).exists(), name


# -- contracts: every argument against botocore's models, every own IAM document against the linters --------------
def _api(op: str, member: str, convert: Any = lambda v: v) -> Any:
    return lambda value: {op: {member: convert(value)}}


def _tags(op: str) -> Any:
    return lambda tags: {op: {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}}


BOOTSTRAP_CONTRACTS: dict[str, tuple[str, dict[str, Any]]] = {
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": (
        "iam",
        {
            "url": _api("CreateOpenIDConnectProvider", "Url"),
            "clientIdLists": _api("CreateOpenIDConnectProvider", "ClientIDList"),
            "tags": _tags("CreateOpenIDConnectProvider"),
        },
    ),
    T_ROLE: (
        "iam",
        {
            "name": _api("CreateRole", "RoleName"),
            "assumeRolePolicy": _api("CreateRole", "AssumeRolePolicyDocument"),
            "maxSessionDuration": _api("CreateRole", "MaxSessionDuration"),
            "description": _api("CreateRole", "Description"),
            "tags": _tags("CreateRole"),
        },
    ),
    T_POLICY: (
        "iam",
        {
            "name": _api("CreatePolicy", "PolicyName"),
            "policy": _api("CreatePolicy", "PolicyDocument"),
            "description": _api("CreatePolicy", "Description"),
            "tags": _tags("CreatePolicy"),
        },
    ),
    "aws:iam/rolePolicy:RolePolicy": (
        "iam",
        {
            "name": _api("PutRolePolicy", "PolicyName"),
            "role": _api("PutRolePolicy", "RoleName"),
            "policy": _api("PutRolePolicy", "PolicyDocument"),
        },
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (
        "iam",
        {"role": _api("AttachRolePolicy", "RoleName"), "policyArn": _api("AttachRolePolicy", "PolicyArn")},
    ),
    "aws:kms/alias:Alias": (
        "kms",
        {"name": _api("CreateAlias", "AliasName"), "targetKeyId": _api("CreateAlias", "TargetKeyId")},
    ),
    "aws:s3/bucket:Bucket": (
        "s3",
        {
            "bucket": _api("CreateBucket", "Bucket"),
            "forceDestroy": None,  # provider-side: empty the bucket before DeleteBucket
            "tags": lambda tags: {"PutBucketTagging": {"Tagging": {"TagSet": _tags("x")(tags)["x"]["Tags"]}}},
        },
    ),
    "aws:s3/bucketVersioning:BucketVersioning": (
        "s3",
        {
            "bucket": _api("PutBucketVersioning", "Bucket"),
            "versioningConfiguration": _api(
                "PutBucketVersioning", "VersioningConfiguration", lambda v: {"Status": v["status"]}
            ),
        },
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (
        "s3",
        {
            "bucket": _api("PutBucketOwnershipControls", "Bucket"),
            "rule": _api(
                "PutBucketOwnershipControls",
                "OwnershipControls",
                lambda r: {"Rules": [{"ObjectOwnership": r["objectOwnership"]}]},
            ),
        },
    ),
    "aws:s3/bucketPolicy:BucketPolicy": (
        "s3",
        {"bucket": _api("PutBucketPolicy", "Bucket"), "policy": _api("PutBucketPolicy", "Policy")},
    ),
}


def _requests(resource: Resource) -> tuple[str, dict[str, dict[str, Any]]]:
    from tests import test_aws_contracts as contracts

    if resource.type in contracts.CONTRACTS:
        return contracts.CONTRACTS[resource.type][0], contracts.api_requests(resource)
    service_name, handlers = BOOTSTRAP_CONTRACTS[resource.type]
    requests: dict[str, dict[str, Any]] = {}
    for key in resource.inputs:
        if key.startswith("__"):
            continue
        assert key in handlers, f"{resource.name}: Pulumi input {key!r} has no API translation"
        value = resource.input(key)
        if handlers[key] is not None and value is not None:
            for operation, fragment in handlers[key](value).items():
                requests.setdefault(operation, {}).update(fragment)
    if "PutBucketTagging" in requests:  # the provider tags the bucket it created
        requests["PutBucketTagging"]["Bucket"] = resource.input("bucket")
    if "CreateAlias" in requests:  # the key's id, which AWS computes (unknown offline): a documented id format
        requests["CreateAlias"].setdefault("TargetKeyId", "1234abcd-12ab-34cd-56ef-1234567890ab")
    return service_name, requests


def test_every_bootstrap_argument_matches_botocores_models(single: ResourceGraph, multi: ResourceGraph) -> None:
    from tests import test_aws_contracts as contracts

    problems, checked = [], set()
    for graph in (single, multi):
        for resource in graph.resources:
            if not resource.custom or resource.type.startswith("pulumi:"):
                continue
            service_name, requests = _requests(resource)
            assert requests, resource.name
            for operation, request in requests.items():
                shape = contracts.input_shape(service_name, operation)
                problems += [f"{resource.name} {operation}: {v}" for v in contracts.shape_violations(request, shape)]
                checked.add(operation)
    assert problems == [], "\n".join(problems)
    assert {"CreateOpenIDConnectProvider", "CreateRole", "CreateKey", "PutBucketVersioning"} <= checked


def test_the_bootstraps_own_iam_documents_pass_parliament_and_policy_sentry(multi: ResourceGraph) -> None:
    """Trusts, key policies, the TLS-only bucket policy, the preview role's state read and the promotion pull;
    the deploy policies and boundaries are deploy_policy's, linted in tests/test_deploy_policy.py."""
    from tests import test_aws_contracts as contracts

    own = [
        (r, text, trust)
        for r, text, trust in contracts.iam_documents(multi)
        if r.type != T_POLICY and r.type != "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    ]
    assert len(own) >= 8
    problems = [f"{r.name}: {f}" for r, text, trust in own for f in contracts.iam_findings(r.type, text, trust)]
    assert problems == [], "\n".join(problems)


# -- the plan command ----------------------------------------------------------------------------------------
def test_plan_command_passes_with_the_bootstraps_policy_config(single: ResourceGraph) -> None:
    """`plan --cwd bootstrap` gates on the same levels as `pulumi up --policy-pack-config bootstrap/policy-config.json`:
    only the workload rule for exact secret ARNs is advisory (a deploy role creates secrets whose ARNs AWS completes
    with random characters), everything else stays mandatory."""
    import io

    from slipway.plan import main

    config = BOOTSTRAP / "policy-config.json"
    assert json.loads(config.read_text()) == {"iam-secrets-exact-arns": {"enforcementLevel": "advisory"}}
    args = ["plan", "--cwd", str(BOOTSTRAP), "--stack", "single"]
    out, err = io.StringIO(), io.StringIO()
    assert main([*args, "--policy-config", str(config)], out, err) == 0, out.getvalue()[-2000:]
    assert "0 mandatory" in out.getvalue() and "ADVISORY  iam-secrets-exact-arns" in out.getvalue()
    out = io.StringIO()
    assert main(args, out, io.StringIO()) == 1
    assert "MANDATORY iam-secrets-exact-arns" in out.getvalue()


def test_plan_refuses_an_unknown_level(tmp_path: Path) -> None:
    import io

    from slipway.plan import main

    bad = tmp_path / "levels.json"
    bad.write_text('{"kms-key-rotation": "off"}')
    err = io.StringIO()
    assert (
        main(["plan", "--cwd", str(BOOTSTRAP), "--stack", "single", "--policy-config", str(bad)], io.StringIO(), err)
        == 2
    )
    assert "use mandatory or advisory" in err.getvalue()


def test_project_file_documents_every_key_the_bootstrap_reads() -> None:
    from bootstrap.settings import KEYS

    project = yaml.safe_load((BOOTSTRAP / "Pulumi.yaml").read_text())
    assert set(project["config"]) == set(KEYS)
    assert all(
        "Default" in spec["description"] or "Required" in spec["description"] for spec in project["config"].values()
    )


# -- the preview deploy role (docs/previews.md) ------------------------------------------------------------------
LISTENER = (
    "arn:aws:elasticloadbalancing:us-east-1:111111111111:listener/app/slipway-dev-web-alb-1234567/0a1b2c3d4e5f6a7b/"
    "5e4d3c2b1a0f9e8d"
)


def test_the_preview_deploy_role_is_created_once_devs_listener_is_known(single: ResourceGraph) -> None:
    from slipway import preview_deploy_policy as pdp

    assert not [r for r in single.by_type(T_ROLE) if r.input("name") == "slipway-github-preview-deploy"]
    assert "AWS_PREVIEW_DEPLOY_ROLE_ARN" not in single.outputs["githubVariables"]["repository"]
    graph = run_stack("single", root=BOOTSTRAP, overrides={f"{NS}:previewListenerArn": LISTENER})
    role = _named(graph, T_ROLE, "slipway-github-preview-deploy")
    subjects = [
        st["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
        for st in role.json_input("assumeRolePolicy")["Statement"]
    ]
    assert subjects == ["repo:your-org/slipway:pull_request", "repo:your-org/slipway:ref:refs/heads/main"]
    names = pdp.preview_names("pr-1", account="111111111111", https_listener_arn=LISTENER)
    bucket = "slipway-pulumi-state-111111111111"
    expected = dp.split(pdp.generate(_graph("pr-1"), names, state_bucket=bucket))
    parts = [_named(graph, T_POLICY, f"slipway-deploy-preview-{n}") for n in range(1, len(expected) + 1)]
    assert [p.json_input("policy") for p in parts] == expected
    attached = {a.input("role") for a in graph.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert role.outputs.get("name", role.input("name")) in attached
    assert _named(graph, T_POLICY, "slipway-pr-boundary").json_input("policy") == pdp.boundary_policy(names)
    assert "AWS_PREVIEW_DEPLOY_ROLE_ARN" in graph.outputs["githubVariables"]["repository"]
    assert "gh variable set AWS_PREVIEW_DEPLOY_ROLE_ARN --body" in graph.outputs["ghCommands"]
    with pytest.raises(ConfigError, match="previewListenerArn"):
        run_stack("single", root=BOOTSTRAP, overrides={f"{NS}:previewListenerArn": "arn:aws:nope"})


def test_component_refuses_a_preview_deploy_identity_trusting_another_account_or_too_many_policies() -> None:
    from slipway_aws.bootstrap import PreviewDeployIdentity

    trust = _identity().trust_policy
    ok = PreviewDeployIdentity([{"Statement": []}], "slipway-pr-boundary", {}, trust)
    account_bootstrap_args(AccountBootstrapArgs("111111111111", "us-east-1", [_identity()], preview_deploy=ok))
    bad = dataclasses.replace(ok, deploy_policies=[{"Statement": []}] * 11, boundary_name="no spaces allowed")
    with pytest.raises(ArgsError) as caught:
        account_bootstrap_args(AccountBootstrapArgs("222222222222", "us-east-1", [_identity()], preview_deploy=bad))
    text = str(caught.value)
    assert "preview_deploy.trust_policy" in text and "at most 10" in text and "preview_deploy.boundary_name" in text
