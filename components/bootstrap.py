"""AccountBootstrap: what one AWS account needs before CI can deploy slipway's stacks into it ("day 0").

Per account: the GitHub Actions OpenID Connect provider, the Pulumi state bucket (versioned, SSE-S3, TLS only,
public access blocked, ACLs off, ``protect`` and ``retain_on_delete``), and per stack deployed into the account: the
permissions boundary of the stack's roles, the deploy role (trusted from one GitHub environment of one repository,
with the deploy policies attached) and a KMS key with its alias for the stack's Pulumi secrets provider (rotation
on, ``protect`` and ``retain_on_delete``). Optionally the read-only preview role for pull requests, and the
preview deploy role of the live ``pr-*`` stacks with their roles' boundary.

The documents (deploy policies, boundary, trust) come in through the Args: the bootstrap program builds them from
``slipway/deploy_policy.py`` (``bootstrap/policies.py``), so this component never reads stack files.

Nothing here carries the ``app``/``stack`` tags the deploy policies scope changes and deletes to: a deploy role can
therefore never change or schedule the deletion of its own secrets key, state bucket or boundary.

The GitHub provider has no thumbprint list: IAM validates ``token.actions.githubusercontent.com`` against its own
library of trusted root CAs and ignores configured thumbprints (IAM ``CreateOpenIDConnectProvider``: ThumbprintList
is optional; the pulumi-aws ``thumbprint_lists`` documentation names GitHub among those providers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from .docs import document_fields
from .s3 import private_and_encrypted
from .validation import REGION, Checks

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"
STATE_BUCKET_NAME = "slipway-pulumi-state-{account}"
DEPLOY_ROLE_NAME = "slipway-github-deploy-{stack}"
DEPLOY_POLICY_NAME = "slipway-deploy-{stack}-{n}"
PREVIEW_ROLE_NAME = "slipway-github-preview"
PREVIEW_DEPLOY_ROLE_NAME = "slipway-github-preview-deploy"
PREVIEW_DEPLOY_POLICY_NAME = "slipway-deploy-preview-{n}"
READ_ONLY_ACCESS = "arn:aws:iam::aws:policy/ReadOnlyAccess"
MAX_SESSION_SECONDS = 3600
MANAGED_POLICIES_PER_ROLE = 10  # IAM's default quota of managed policies attached to one role (boundary excluded)
TAGS = {"managed-by": "slipway-bootstrap"}

ACCOUNT_ID = re.compile(r"^\d{12}$")
STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
BUCKET_NAME = re.compile(r"^(?!xn--)(?!.*-s3alias$)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
KEY_ALIAS = re.compile(r"^alias/(?!aws/)[a-zA-Z0-9/_-]{1,250}$")
IAM_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")


def oidc_provider_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}"


def backend_url(bucket: str, region: str) -> str:
    """The ``pulumi login`` URL of an S3 state bucket (Pulumi's DIY backend, AWS SDK v2)."""
    return f"s3://{bucket}?region={region}&awssdk=v2"


def secrets_provider(alias: str, region: str) -> str:
    """The ``--secrets-provider`` of a stack whose secrets are encrypted with the KMS key ``alias``."""
    return f"awskms://{alias}?region={region}"


@document_fields
@dataclass(frozen=True)
class StackIdentity:
    """The deploy identity of one app stack in this account."""

    stack: str
    """Stack name (``dev``, ``prod``): names the deploy role ``slipway-github-deploy-<stack>``. Required."""
    deploy_policies: Sequence[Mapping[str, Any]]
    """The deploy role's policy documents, each within IAM's managed-policy size, attached together. Required."""
    boundary_name: str
    """Name of the permissions boundary every role of the stack carries (``<appName>-<stack>-boundary``). Required."""
    boundary_policy: Mapping[str, Any]
    """The boundary's document. Required."""
    trust_policy: Mapping[str, Any]
    """Who may assume the deploy role: one GitHub environment of one repository, audience sts.amazonaws.com.
    Required."""
    secrets_key_alias: str
    """Alias of the stack's KMS key for Pulumi secrets (``alias/slipway-<stack>``). Required."""
    extra_policy: Optional[Mapping[str, Any]] = None
    """An inline policy added to the deploy role (multi-account: pulling dev's image for a promotion). Default
    None."""


@document_fields
@dataclass(frozen=True)
class PreviewDeployIdentity:
    """The one deploy role of every live preview stack ``pr-*`` (docs/previews.md)."""

    deploy_policies: Sequence[Mapping[str, Any]]
    """The preview deploy policy (slipway/preview_deploy_policy.py), in managed-policy-sized parts. Required."""
    boundary_name: str
    """Name of the permissions boundary of every preview's roles (``<appName>-pr-boundary``). Required."""
    boundary_policy: Mapping[str, Any]
    """The boundary's document. Required."""
    trust_policy: Mapping[str, Any]
    """Who may assume the role: preview-env.yml's jobs of one repository (pull requests, its default branch).
    Required."""


@document_fields
@dataclass(frozen=True)
class AccountBootstrapArgs:
    """What to create in one account."""

    account_id: str
    """The 12-digit account everything is created in; trust policies must name its OIDC provider. Required."""
    region: str
    """Region of the state bucket and the KMS keys (the stacks' ``aws:region``). Required."""
    stacks: Sequence[StackIdentity]
    """The stacks deployed into this account (at least one). Required."""
    preview_trust_policy: Optional[Mapping[str, Any]] = None
    """Trust of the read-only preview role (one GitHub environment); None creates no preview role. Default None."""
    preview_stacks: Sequence[str] = ()
    """Stacks whose secrets key the preview role may decrypt (a real ``pulumi preview`` reads their config).
    Default none."""
    preview_deploy: Optional[PreviewDeployIdentity] = None
    """The preview deploy role (``slipway-github-preview-deploy``, with its boundary) that preview-env.yml assumes
    as ``AWS_PREVIEW_DEPLOY_ROLE_ARN``; None creates none. Default None."""
    state_bucket_name: Optional[str] = None
    """Name of the state bucket. Default ``slipway-pulumi-state-<account_id>``."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags on every taggable resource (never ``app``/``stack``: see the module docstring). Default none."""

    @property
    def bucket_name(self) -> str:
        return self.state_bucket_name or STATE_BUCKET_NAME.format(account=self.account_id)


def _federated(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    value = principal.get("Federated") if isinstance(principal, Mapping) else None
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def check_trust(c: Checks, field_name: str, trust: Mapping[str, Any], account_id: str) -> None:
    """Every statement trusts only this account's GitHub provider, for audience sts.amazonaws.com and one subject
    ``repo:<owner>/<name>:...`` without wildcards."""
    statements = trust.get("Statement") if isinstance(trust, Mapping) else None
    if not isinstance(statements, list) or not statements:
        c.bad(field_name, trust, "must be a policy document with at least one statement")
        return
    for st in statements:
        federated = _federated(st)
        if federated != [oidc_provider_arn(account_id)]:
            c.bad(field_name, federated, f"must trust only {oidc_provider_arn(account_id)}")
        equals = (st.get("Condition") or {}).get("StringEquals") or {}
        if equals.get(f"{GITHUB_OIDC_HOST}:aud") != STS_AUDIENCE:
            c.bad(field_name, equals.get(f"{GITHUB_OIDC_HOST}:aud"), f"audience must be exactly {STS_AUDIENCE}")
        subject = equals.get(f"{GITHUB_OIDC_HOST}:sub")
        if not isinstance(subject, str) or "*" in subject or not re.match(r"^repo:[^/:]+/[^/:]+:.+", subject):
            c.bad(field_name, subject, "subject must be one exact repo:<owner>/<name>:<environment or ref>")


def account_bootstrap_args(args: AccountBootstrapArgs) -> None:
    """Every bad field at once (``ArgsError``), before any resource exists."""
    c = Checks()
    c.matches("account_id", args.account_id, ACCOUNT_ID, "a 12-digit AWS account id", "123456789012")
    c.matches("region", args.region, REGION, "an AWS region", "us-east-1")
    c.matches("state_bucket_name", args.bucket_name, BUCKET_NAME, "a valid S3 bucket name", "slipway-pulumi-state")
    names = [s.stack for s in args.stacks]
    if not names:
        c.bad("stacks", names, "must name at least one stack")
    if len(set(names)) != len(names):
        c.bad("stacks", names, "must not name a stack twice")
    for s in args.stacks:
        c.matches("stacks.stack", s.stack, STACK_NAME, "a stack name (lowercase, digits, '-')", "dev")
        c.matches("stacks.secrets_key_alias", s.secrets_key_alias, KEY_ALIAS, "a KMS alias/...", "alias/slipway-dev")
        c.matches("stacks.boundary_name", s.boundary_name, IAM_NAME, "an IAM policy name", "slipway-dev-boundary")
        if not s.deploy_policies:
            c.bad("stacks.deploy_policies", [], f"stack {s.stack} has no deploy policy")
        if len(s.deploy_policies) > MANAGED_POLICIES_PER_ROLE:
            c.bad(
                "stacks.deploy_policies",
                len(s.deploy_policies),
                f"IAM attaches at most {MANAGED_POLICIES_PER_ROLE} managed policies to a role",
            )
        check_trust(c, f"stacks[{s.stack}].trust_policy", s.trust_policy, args.account_id)
    if args.preview_trust_policy is not None:
        check_trust(c, "preview_trust_policy", args.preview_trust_policy, args.account_id)
    if args.preview_deploy is not None:
        p = args.preview_deploy
        c.matches(
            "preview_deploy.boundary_name", p.boundary_name, IAM_NAME, "an IAM policy name", "slipway-pr-boundary"
        )
        if not p.deploy_policies:
            c.bad("preview_deploy.deploy_policies", [], "the preview deploy role has no policy")
        if len(p.deploy_policies) > MANAGED_POLICIES_PER_ROLE:
            c.bad(
                "preview_deploy.deploy_policies",
                len(p.deploy_policies),
                f"IAM attaches at most {MANAGED_POLICIES_PER_ROLE} managed policies to a role",
            )
        check_trust(c, "preview_deploy.trust_policy", p.trust_policy, args.account_id)
    unknown = sorted(set(args.preview_stacks) - set(names))
    if unknown:
        c.bad("preview_stacks", unknown, f"must name stacks of this account ({', '.join(names)})")
    if args.preview_stacks and args.preview_trust_policy is None:
        c.bad("preview_stacks", list(args.preview_stacks), "needs preview_trust_policy (no preview role otherwise)")
    if {"app", "stack"} & set(args.tags):
        c.bad("tags", dict(args.tags), "must not carry app/stack: deploy roles may change resources tagged so")
    c.raise_for("AccountBootstrapArgs")


def tls_only_policy(bucket_arn: str) -> str:
    """Bucket policy: refuse every request made without TLS (FSBP S3.5)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def state_read_policy(bucket: str) -> str:
    """Inline policy of the preview role: read the state objects (a preview takes no lock in the DIY backend)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ListTheStateBucket",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                    "Resource": f"arn:aws:s3:::{bucket}",
                },
                {
                    "Sid": "ReadStateObjects",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/.pulumi/*",
                },
            ],
        }
    )


def key_policy(account_id: str, deploy_role_arn: str, preview_role_arn: Optional[str]) -> str:
    """A stack's secrets key: the account's IAM policies decide for administrators (AWS's default key policy
    statement), the stack's deploy role encrypts and decrypts, the preview role (when given) only decrypts."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "EnableIamPolicies",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "StackDeployRoleEncryptsItsSecrets",
            "Effect": "Allow",
            "Principal": {"AWS": deploy_role_arn},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            "Resource": "*",
        },
    ]
    if preview_role_arn:
        statements.append(
            {
                "Sid": "PreviewRoleDecrypts",
                "Effect": "Allow",
                "Principal": {"AWS": preview_role_arn},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


class AccountBootstrap(pulumi.ComponentResource):
    """The OIDC provider, the state bucket, and per stack its boundary, deploy role and secrets key."""

    def __init__(self, name: str, args: AccountBootstrapArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        account_bootstrap_args(args)
        super().__init__("slipway:aws:AccountBootstrap", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        tags = {**TAGS, **args.tags}
        bucket_name = args.bucket_name

        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-github-oidc",
            url=GITHUB_OIDC_URL,
            client_id_lists=[STS_AUDIENCE],
            tags=tags,
            opts=child,
        )
        self.oidc_provider_arn = provider.arn
        self._state_bucket(name, bucket_name, tags, kept)
        self.state_bucket = bucket_name
        self.backend_url = backend_url(bucket_name, args.region)

        preview_arn: Optional[pulumi.Output[str]] = None
        if args.preview_trust_policy is not None:
            preview = aws.iam.Role(
                f"{name}-preview",
                name=PREVIEW_ROLE_NAME,
                assume_role_policy=json.dumps(args.preview_trust_policy),
                max_session_duration=MAX_SESSION_SECONDS,
                description="slipway: read-only pulumi preview of pull requests (GitHub OIDC)",
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[provider]),
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-preview-read-only", role=preview.name, policy_arn=READ_ONLY_ACCESS, opts=child
            )
            aws.iam.RolePolicy(
                f"{name}-preview-state",
                name="slipway-read-state",
                role=preview.name,
                policy=state_read_policy(bucket_name),
                opts=child,
            )
            preview_arn = preview.arn
        self.preview_role_arn = preview_arn
        self.preview_deploy_role_arn: Optional[pulumi.Output[str]] = None
        if args.preview_deploy is not None:
            self.preview_deploy_role_arn = self._preview_deploy_role(name, args.preview_deploy, tags, provider).arn

        self.deploy_role_arns: dict[str, pulumi.Output[str]] = {}
        self.secrets_providers: dict[str, str] = {}
        for identity in args.stacks:
            role = self._deploy_role(name, identity, tags, provider, child)
            self.deploy_role_arns[identity.stack] = role.arn
            reader = preview_arn if identity.stack in args.preview_stacks else None
            key = aws.kms.Key(
                f"{name}-{identity.stack}-secrets",
                description=f"slipway {identity.stack}: Pulumi secrets provider",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=pulumi.Output.all(role.arn, reader).apply(lambda a: key_policy(args.account_id, a[0], a[1])),
                tags=tags,
                opts=kept,
            )
            aws.kms.Alias(
                f"{name}-{identity.stack}-secrets-alias",
                name=identity.secrets_key_alias,
                target_key_id=key.key_id,
                opts=child,
            )
            self.secrets_providers[identity.stack] = secrets_provider(identity.secrets_key_alias, args.region)
        self.register_outputs(
            {
                "oidcProviderArn": self.oidc_provider_arn,
                "stateBucket": bucket_name,
                "deployRoleArns": self.deploy_role_arns,
                "previewRoleArn": preview_arn,
                "previewDeployRoleArn": self.preview_deploy_role_arn,
            }
        )

    def _preview_deploy_role(
        self,
        name: str,
        identity: PreviewDeployIdentity,
        tags: Mapping[str, str],
        provider: aws.iam.OpenIdConnectProvider,
    ) -> aws.iam.Role:
        """The previews' boundary and the preview deploy role with its policies attached."""
        child = pulumi.ResourceOptions(parent=self)
        aws.iam.Policy(
            f"{name}-preview-boundary",
            name=identity.boundary_name,
            description="slipway previews: permissions boundary of every role a pr-* stack creates",
            policy=json.dumps(identity.boundary_policy),
            tags=dict(tags),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-preview-deploy",
            name=PREVIEW_DEPLOY_ROLE_NAME,
            assume_role_policy=json.dumps(identity.trust_policy),
            max_session_duration=MAX_SESSION_SECONDS,
            description="slipway: pulumi up/destroy of the pr-* preview stacks from GitHub Actions (OIDC)",
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[provider]),
        )
        for n, document in enumerate(identity.deploy_policies, 1):
            policy = aws.iam.Policy(
                f"{name}-preview-deploy-{n}",
                name=PREVIEW_DEPLOY_POLICY_NAME.format(n=n),
                description=f"slipway previews: deploy policy part {n} of {len(identity.deploy_policies)}",
                policy=json.dumps(document),
                tags=dict(tags),
                opts=child,
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-preview-deploy-{n}-attach", role=role.name, policy_arn=policy.arn, opts=child
            )
        return role

    def _state_bucket(self, name: str, bucket_name: str, tags: Mapping[str, str], kept: pulumi.ResourceOptions) -> None:
        bucket = aws.s3.Bucket(f"{name}-state", bucket=bucket_name, force_destroy=False, tags=dict(tags), opts=kept)
        aws.s3.BucketOwnershipControls(
            f"{name}-state-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=kept,
        )
        block = private_and_encrypted(
            bucket,
            public_access_name=f"{name}-state-public-access",
            encryption_name=f"{name}-state-encryption",
            opts=kept,
        )
        aws.s3.BucketVersioning(
            f"{name}-state-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=kept,
        )
        aws.s3.BucketPolicy(
            f"{name}-state-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(tls_only_policy),
            opts=pulumi.ResourceOptions.merge(kept, pulumi.ResourceOptions(depends_on=[block])),
        )

    def _deploy_role(
        self,
        name: str,
        identity: StackIdentity,
        tags: Mapping[str, str],
        provider: aws.iam.OpenIdConnectProvider,
        child: pulumi.ResourceOptions,
    ) -> aws.iam.Role:
        stack = identity.stack
        aws.iam.Policy(
            f"{name}-{stack}-boundary",
            name=identity.boundary_name,
            description=f"slipway {stack}: permissions boundary of every role the stack creates",
            policy=json.dumps(identity.boundary_policy),
            tags=dict(tags),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-{stack}-deploy",
            name=DEPLOY_ROLE_NAME.format(stack=stack),
            assume_role_policy=json.dumps(identity.trust_policy),
            max_session_duration=MAX_SESSION_SECONDS,
            description=f"slipway {stack}: pulumi up from GitHub Actions (OIDC), generated least privilege",
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[provider]),
        )
        for n, document in enumerate(identity.deploy_policies, 1):
            policy = aws.iam.Policy(
                f"{name}-{stack}-deploy-{n}",
                name=DEPLOY_POLICY_NAME.format(stack=stack, n=n),
                description=f"slipway {stack}: deploy policy part {n} of {len(identity.deploy_policies)}",
                policy=json.dumps(document),
                tags=dict(tags),
                opts=child,
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-{stack}-deploy-{n}-attach", role=role.name, policy_arn=policy.arn, opts=child
            )
        if identity.extra_policy is not None:
            aws.iam.RolePolicy(
                f"{name}-{stack}-deploy-extra",
                name=f"slipway-deploy-{stack}-extra",
                role=role.name,
                policy=json.dumps(identity.extra_policy),
                opts=child,
            )
        return role
