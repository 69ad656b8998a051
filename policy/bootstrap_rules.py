"""Day-0 checks (the bootstrap program, ``bootstrap/``): the state bucket, the secrets keys and the GitHub OIDC trust.

Stack rules (properties of the whole graph): a bucket's versioning, encryption, public access block and policy are
separate resources that name the bucket, and ``protect`` / ``retain_on_delete`` are resource options, not inputs.
A graph that declares the GitHub OIDC provider is a bootstrap graph: every bucket in it holds Pulumi state.

Inside the Pulumi policy pack, ``retain_on_delete`` is not visible to policies (``PolicyResourceOptions`` has no such
field): there the protection rule checks ``protect`` only; the offline plan checks both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

try:
    from . import rules as base
except ImportError:  # run by Pulumi as ``python policy/``: this directory is sys.path[0]
    import rules as base  # type: ignore[no-redef]

T_BUCKET = "aws:s3/bucket:Bucket"
T_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
T_OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
GITHUB_HOST = "token.actions.githubusercontent.com"
GITHUB_URL = f"https://{GITHUB_HOST}"
AUDIENCE = "sts.amazonaws.com"
GITHUB_SUBJECT = re.compile(r"^repo:[A-Za-z0-9-]+/[A-Za-z0-9._-]+:(environment:[^*?]+|ref:refs/heads/[^*?]+)$")
"""One repository and one environment or one branch; no wildcard (``StringEquals`` matches literally anyway)."""

Found = list[tuple[Any, str]]


def _f(resource: Any, key: str) -> Any:
    return base._field(resource, key)


def _inputs(resource: Any) -> Mapping[str, Any]:
    inputs = _f(resource, "inputs")
    return inputs if isinstance(inputs, Mapping) else {}


def _of(resources: Sequence[Any], type_: str) -> list[Any]:
    return [r for r in resources if _f(r, "type") == type_]


def is_bootstrap(resources: Sequence[Any]) -> bool:
    return any(str(base.get(_inputs(r), "url")) == GITHUB_URL for r in _of(resources, T_OIDC))


def _naming(resources: Sequence[Any], type_: str, target: Any) -> list[Any]:
    """Resources of ``type_`` that depend on ``target`` (a bucket's configuration names the bucket)."""
    return [r for r in _of(resources, type_) if base._depends(r, _f(target, "urn"))]


def _bucket_rule(check: Callable[[Sequence[Any], Any], list[str]]) -> Callable[[Sequence[Any]], Found]:
    def run(resources: Sequence[Any]) -> Found:
        if not is_bootstrap(resources):
            return []
        return [(b, m) for b in _of(resources, T_BUCKET) for m in check(resources, b)]

    return run


def _versioned(resources: Sequence[Any], bucket: Any) -> list[str]:
    states = [
        base.get(_inputs(v), "versioningConfiguration", "status") for v in _naming(resources, T_VERSIONING, bucket)
    ]
    return [] if "Enabled" in states else ["state bucket is not versioned (no BucketVersioning with status Enabled)"]


def _config_passes(rule_id: str, type_: str, what: str) -> Callable[[Sequence[Any], Any], list[str]]:
    """The bucket has a ``type_`` resource, and the per-resource rule ``rule_id`` passes on it."""

    def check(resources: Sequence[Any], bucket: Any) -> list[str]:
        configs = _naming(resources, type_, bucket)
        if not configs:
            return [f"state bucket has no {what}"]
        rule = base.RULES_BY_ID[rule_id]
        return [m for c in configs for m in rule.check(type_, _inputs(c))]

    return check


def _protected(resources: Sequence[Any], resource: Any) -> list[str]:
    out = []
    if _f(resource, "protect") is not True:
        out.append("not protected (ResourceOptions protect=True)")
    retain = _f(resource, "retain_on_delete")
    retain = _f(resource, "retainOnDelete") if retain is None else retain
    if retain is False:
        out.append("not retained on delete (ResourceOptions retain_on_delete=True)")
    return out


def _keys_protected(resources: Sequence[Any]) -> Found:
    if not is_bootstrap(resources):
        return []
    return [(k, f"secrets key {m}") for k in _of(resources, base.T_KMS) for m in _protected(resources, k)]


def _key_rotation(resources: Sequence[Any]) -> Found:
    return [
        (k, "key rotation is off (enableKeyRotation)")
        for k in _of(resources, base.T_KMS)
        if base.get(_inputs(k), "customerMasterKeySpec", default="SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
        and base.get(_inputs(k), "enableKeyRotation") is not True
    ]


def trust_problems(trust: Any) -> list[str]:
    """What is wrong with the GitHub statements of one trust policy (empty when each is scoped)."""
    out = []
    for st in base.as_list(trust.get("Statement") if isinstance(trust, Mapping) else None):
        if not isinstance(st, Mapping):
            continue
        federated = [str(p) for p in base.as_list(base.get(st, "Principal", "Federated"))]
        if not any(p.endswith(f"oidc-provider/{GITHUB_HOST}") for p in federated):
            continue
        sid = st.get("Sid") or "(no Sid)"
        if st.get("Effect") != "Allow":
            continue
        if base.as_list(st.get("Action")) != ["sts:AssumeRoleWithWebIdentity"]:
            out.append(
                f"statement {sid} allows {base.as_list(st.get('Action'))}, not only sts:AssumeRoleWithWebIdentity"
            )
        equals = base.get(st, "Condition", "StringEquals", default={})
        if base.get(equals, f"{GITHUB_HOST}:aud") != AUDIENCE:
            out.append(f"statement {sid}: audience is not StringEquals {AUDIENCE}")
        subjects = base.as_list(base.get(equals, f"{GITHUB_HOST}:sub"))
        if not subjects or not all(isinstance(s, str) and GITHUB_SUBJECT.match(s) for s in subjects):
            out.append(
                f"statement {sid}: subject {subjects or 'missing'} is not StringEquals one repository's environment or"
                " branch (repo:<owner>/<name>:environment:<env>)"
            )
        for operator, values in (st.get("Condition") or {}).items():
            if operator != "StringEquals" and any(k.startswith(f"{GITHUB_HOST}:") for k in values or {}):
                out.append(f"statement {sid}: {operator} on a GitHub claim (only StringEquals is exact)")
    return out


def _github_trust(resources: Sequence[Any]) -> Found:
    found: Found = []
    for role in _of(resources, base.T_ROLE):
        found += [(role, m) for m in trust_problems(base.document(_inputs(role), "assumeRolePolicy"))]
    for provider in _of(resources, T_OIDC):
        inputs = _inputs(provider)
        if str(base.get(inputs, "url")) == GITHUB_URL and base.as_list(base.get(inputs, "clientIdLists")) != [AUDIENCE]:
            found.append(
                (provider, f"GitHub provider audiences are {base.get(inputs, 'clientIdLists')}, not [{AUDIENCE}]")
            )
    return found


def _stack_rule(
    id_: str, description: str, fsbp: Any, remediation: str, check: Callable[[Sequence[Any]], Found]
) -> None:
    base.STACK_RULES.append(base.StackRule(id_, description, fsbp, remediation, check))


_stack_rule(
    "state-bucket-versioned",
    "The Pulumi state bucket keeps every version of every state file",
    None,
    "add aws.s3.BucketVersioning with versioning_configuration status Enabled (AccountBootstrap does)",
    _bucket_rule(_versioned),
)
_stack_rule(
    "state-bucket-encrypted",
    "The Pulumi state bucket encrypts objects at rest (SSE-S3 or SSE-KMS)",
    None,
    "add aws.s3.BucketServerSideEncryptionConfiguration with sse_algorithm AES256 or aws:kms",
    _bucket_rule(_config_passes("s3-default-encryption", base.T_BUCKET_SSE, "default encryption")),
)
_stack_rule(
    "state-bucket-tls-only",
    "The Pulumi state bucket refuses requests without TLS",
    "S3.5",
    "add a bucket policy denying s3:* when aws:SecureTransport is false",
    _bucket_rule(_config_passes("s3-deny-insecure-transport", base.T_BUCKET_POLICY, "bucket policy")),
)
_stack_rule(
    "state-bucket-public-access-blocked",
    "The Pulumi state bucket blocks every form of public access",
    "S3.8",
    "add aws.s3.BucketPublicAccessBlock with all four settings true",
    _bucket_rule(_config_passes("s3-block-public-access", base.T_BUCKET_PAB, "public access block")),
)
_stack_rule(
    "state-bucket-protected",
    "The Pulumi state bucket survives a mistaken destroy (protect and retain_on_delete)",
    None,
    "declare the bucket with ResourceOptions(protect=True, retain_on_delete=True)",
    _bucket_rule(lambda resources, bucket: [f"state bucket {m}" for m in _protected(resources, bucket)]),
)
_stack_rule(
    "secrets-key-protected",
    "Each stack's Pulumi secrets key survives a mistaken destroy (losing it loses every stack secret)",
    None,
    "declare the key with ResourceOptions(protect=True, retain_on_delete=True)",
    _keys_protected,
)
_stack_rule(
    "kms-key-rotation",
    "Symmetric KMS keys rotate their key material yearly",
    "KMS.4",
    "set enable_key_rotation=True",
    _key_rotation,
)
_stack_rule(
    "github-oidc-trust-scoped",
    "Roles trusted from GitHub Actions accept only audience sts.amazonaws.com and one repository's environment",
    None,
    "StringEquals token.actions.githubusercontent.com:aud=sts.amazonaws.com and"
    " :sub=repo:<owner>/<name>:environment:<env>",
    _github_trust,
)
