"""The bootstrap's one bridge to ``slipway/deploy_policy.py``: the documents of each stack's deploy identity.

:func:`stack_documents` is the adapter: everything the bootstrap attaches to a deploy role (its policies, its
trust, the stack's permissions boundary, the secrets key alias) comes from deploy_policy's public functions
(``stack_names``, ``policy_graph``, ``generate``, ``split``, ``boundary_policy``, ``trust_policy``), never from a copy.

It runs them in a child Python process: they run the app stack's own program under the offline engine, which holds
one global Pulumi runtime and lock, and the bootstrap program is itself running in that runtime (for real under
``pulumi up``, or offline under ``python -m slipway plan --cwd bootstrap``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository: the app's Pulumi project, whose stack files the deploy policies are generated from."""
REPO_PLACEHOLDER = "GITHUB_OWNER/GITHUB_REPO"
PREVIEW_ENVIRONMENT = "preview"
"""The GitHub environment of preview.yml's real ``pulumi preview`` job."""
PROMOTION_SOURCE = "dev"
"""The stack whose image deploy.yml promotes (by digest) to the promoted stacks."""


class PolicyGenerationError(Exception):
    """deploy_policy refused a stack (unknown stack file, uncovered resource type): its message, verbatim."""


@dataclass(frozen=True)
class StackDocuments:
    stack: str
    app: str
    region: str
    environment: str
    """GitHub environment whose jobs may assume the stack's deploy role."""
    promoted: bool
    """deploy.yml deploys this stack by promoting PROMOTION_SOURCE's image."""
    policies: list[dict[str, Any]]
    boundary_name: str
    boundary: dict[str, Any]
    trust: dict[str, Any]
    preview_trust: dict[str, Any]
    secrets_key_alias: str


def with_repository(document: Mapping[str, Any], repository: str) -> dict[str, Any]:
    """``document`` with deploy_policy's ``GITHUB_OWNER/GITHUB_REPO`` placeholder replaced by ``owner/name``."""
    text = json.dumps(document)
    if REPO_PLACEHOLDER not in text:
        raise PolicyGenerationError(f"the trust policy names no {REPO_PLACEHOLDER} to replace: {text}")
    result: dict[str, Any] = json.loads(text.replace(REPO_PLACEHOLDER, repository))
    return result


def stack_documents(stack: str, account: str, state_bucket: str, repository: str) -> StackDocuments:
    """The deploy identity of ``stack`` in ``account`` with its state in ``state_bucket`` (the adapter)."""
    raw = _generated(stack, account, state_bucket)
    return StackDocuments(
        stack=stack,
        app=raw["app"],
        region=raw["region"],
        environment=raw["environment"],
        promoted=raw["promoted"],
        policies=raw["policies"],
        boundary_name=raw["boundaryName"],
        boundary=raw["boundary"],
        trust=with_repository(raw["trust"], repository),
        preview_trust=with_repository(raw["previewTrust"], repository),
        secrets_key_alias=raw["secretsKeyAlias"],
    )


_GENERATED: dict[str, dict[str, Any]] = {}
"""Each stack's documents with the account and state bucket left as deploy_policy's placeholders: generated once
per stack (the offline plan is the slow part), filled in per account and bucket by :func:`_generated`."""


def prefetch(requests: list[tuple[str, str, str]]) -> None:
    """Generate the documents of the stacks of several ``(stack, account, state_bucket)`` at once, one child process
    per stack not generated yet, run side by side (each plans an app stack offline: seconds of CPU)."""
    todo = [stack for stack in dict.fromkeys(stack for stack, _, _ in requests) if stack not in _GENERATED]
    children = [
        (
            stack,
            subprocess.Popen(  # noqa: S603 (our own interpreter and module, arguments validated by the caller)
                [sys.executable, str(Path(__file__).resolve()), stack],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
        for stack in todo
    ]
    failures = []
    for stack, child in children:
        stdout, stderr = child.communicate()
        if child.returncode != 0:
            message = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {child.returncode}"
            failures.append(f"deploy policy of stack {stack}: {message}")
        else:
            _GENERATED[stack] = json.loads(stdout)
    if failures:
        raise PolicyGenerationError("; ".join(failures))


def _generated(stack: str, account: str, state_bucket: str) -> dict[str, Any]:
    """The stack's documents for ``account`` and ``state_bucket``; the policy is split into managed-policy-sized
    documents after the real values are in (an account id is longer than its placeholder)."""
    from slipway import deploy_policy as dp

    prefetch([(stack, account, state_bucket)])
    text = json.dumps(_GENERATED[stack])
    text = text.replace(dp.ACCOUNT_PLACEHOLDER, account).replace(dp.STATE_BUCKET_PLACEHOLDER, state_bucket)
    documents: dict[str, Any] = json.loads(text)
    documents["policies"] = dp.split(documents.pop("policy"))
    return documents


def generate(stack: str, account: str, state_bucket: str) -> dict[str, Any]:
    """deploy_policy's documents for one stack, as JSON-ready values, the policy whole (``policy``); the child
    process calls it with the placeholders."""
    from slipway import deploy_policy as dp
    from slipway_aws.iam import BOUNDARY_POLICY_NAME

    names = dp.stack_names(stack, account=account)
    environment = dp.GITHUB_ENVIRONMENTS.get(stack, stack)
    return {
        "app": names.app,
        "region": names.region,
        "environment": environment,
        "promoted": stack in dp.PROMOTED_STACKS,
        "policy": dp.generate(dp.policy_graph(stack), names, state_bucket=state_bucket),
        "boundaryName": BOUNDARY_POLICY_NAME.format(prefix=names.prefix),
        "boundary": dp.boundary_policy(names),
        "trust": dp.trust_policy(names, environment),
        "previewTrust": dp.trust_policy(names, PREVIEW_ENVIRONMENT),
        "secretsKeyAlias": names.secrets_key_alias or f"alias/{names.app}-{stack}",
    }


def preview_deploy_documents(account: str, state_bucket: str, repository: str, listener_arn: str) -> dict[str, Any]:
    """The preview deploy role's documents (slipway/preview_deploy_policy.py), from a preview's offline graph, in a
    child process like :func:`stack_documents`: ``policies``, ``boundaryName``, ``boundary``, ``trust``."""
    child = subprocess.run(  # noqa: S603 (our own interpreter and module, arguments validated by the caller)
        [sys.executable, str(Path(__file__).resolve()), "--preview", account, state_bucket, listener_arn],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        lines = child.stderr.strip().splitlines()
        raise PolicyGenerationError(f"preview deploy policy: {lines[-1] if lines else child.returncode}")
    raw: dict[str, Any] = json.loads(child.stdout)
    raw["trust"] = with_repository(raw["trust"], repository)
    return raw


def generate_preview(account: str, state_bucket: str, listener_arn: str) -> dict[str, Any]:
    """In the child process: the preview deploy role's documents, as JSON-ready values."""
    from slipway import deploy_policy as dp
    from slipway import preview_deploy_policy as pdp
    from slipway.offline import run_stack
    from slipway_aws.preview import boundary_name

    names = pdp.preview_names("pr-1", account=account, https_listener_arn=listener_arn)
    policy = pdp.generate(run_stack("pr-1"), names, state_bucket=state_bucket)
    return {
        "policies": dp.split(policy),
        "boundaryName": boundary_name(names.app),
        "boundary": pdp.boundary_policy(names),
        "trust": pdp.trust_policy(names),
    }


def _child(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    import slipway  # noqa: F401 (installs the slipway_aws alias of components/)
    from slipway.deploy_policy import DeployPolicyError
    from slipway.offline import StackFileError

    try:
        if argv[0] == "--preview":
            documents = generate_preview(*argv[1:])
        else:
            from slipway.deploy_policy import ACCOUNT_PLACEHOLDER, STATE_BUCKET_PLACEHOLDER

            (stack,) = argv
            documents = generate(stack, ACCOUNT_PLACEHOLDER, STATE_BUCKET_PLACEHOLDER)
    except (StackFileError, DeployPolicyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump(documents, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
