"""Day 0 as code: per AWS account, what slipway's CI needs before its first deploy (docs/ci.md).

Run once per repository (and again when a stack's deploy policy changes): ``pulumi up`` in this directory. Offline:
``python -m slipway plan --cwd bootstrap --stack single`` (or ``multi``). The stack outputs are the GitHub variables
the workflows read; ``pulumi stack output ghCommands`` prints them as ``gh variable set`` lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
import slipway  # noqa: E402,F401 (installs the slipway_aws alias of components/)

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
from policies import (  # noqa: E402
    PROMOTION_SOURCE,
    StackDocuments,
    prefetch,
    preview_deploy_documents,
    stack_documents,
)
from settings import Settings, read  # noqa: E402

from slipway_aws.bootstrap import (  # noqa: E402
    STATE_BUCKET_NAME,
    AccountBootstrap,
    AccountBootstrapArgs,
    PreviewDeployIdentity,
    StackIdentity,
    backend_url,
)


def promotion_pull(settings: Settings, documents: StackDocuments, source: StackDocuments) -> dict[str, object]:
    """Multi-account: the promoted stack's deploy role reads the source stack's image from the source account by
    digest (what ``ImagePromotion`` calls on the source repository). The source repository's policy must also allow
    this role (docs/ci.md)."""
    account = settings.accounts[source.stack]
    prefix = f"{source.app}-{source.stack}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullPromotedImageFromSourceAccount",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages"],
                "Resource": [
                    f"arn:aws:ecr:{source.region}:{account}:repository/{prefix}",
                    f"arn:aws:ecr:{source.region}:{account}:repository/{prefix}-*",
                ],
            }
        ],
    }


def main() -> None:
    config = pulumi.Config()

    def get(key: str) -> str | None:
        namespace, name = key.split(":", 1)
        return config.get(name) if namespace == config.name else pulumi.Config(namespace).get(name)

    from pulumi.runtime.config import CONFIG, get_config_env

    settings = read(get, pulumi.get_stack(), ROOT, keys={*CONFIG.get(), *get_config_env()})
    buckets = {a: STATE_BUCKET_NAME.format(account=a) for a in settings.accounts_in_order()}
    prefetch([(s, settings.accounts[s], buckets[settings.accounts[s]]) for s in settings.stacks])
    documents = {
        s: stack_documents(s, settings.accounts[s], buckets[settings.accounts[s]], settings.repository)
        for s in settings.stacks
    }
    wrong_region = [d.stack for d in documents.values() if d.region != settings.region]
    if wrong_region:
        from slipway_aws.config import ConfigError

        raise ConfigError(
            [f"aws:region: {settings.region}\n    stacks {wrong_region} deploy to another region (their aws:region)"],
            pulumi.get_stack(),
        )

    environments: dict[str, dict[str, pulumi.Input[str]]] = {}
    repository: dict[str, pulumi.Input[str]] = {"AWS_REGION": settings.region}
    secrets_providers: dict[str, str] = {}
    multi = settings.mode == "multi-account"
    for account in settings.accounts_in_order():
        stacks = settings.stacks_in(account)
        label = f"{stacks[0]}-account" if multi else "account"
        provider = aws.Provider(
            label,
            region=settings.region,
            allowed_account_ids=[account],
            profile=settings.profiles.get(stacks[0]) or pulumi.Config("aws").get("profile"),
        )
        identities = []
        for s in stacks:
            d = documents[s]
            source = documents.get(PROMOTION_SOURCE)
            pull = (
                promotion_pull(settings, d, source)
                if multi and d.promoted and source and settings.accounts[source.stack] != account
                else None
            )
            identities.append(
                StackIdentity(
                    stack=s,
                    deploy_policies=d.policies,
                    boundary_name=d.boundary_name,
                    boundary_policy=d.boundary,
                    trust_policy=d.trust,
                    secrets_key_alias=d.secrets_key_alias,
                    extra_policy=pull,
                )
            )
        preview_here = [s for s in settings.preview_stacks if s in stacks]
        preview_deploy = None
        if settings.preview_listener_arn and "dev" in stacks:  # the live previews share dev (docs/previews.md)
            raw = preview_deploy_documents(
                account, buckets[account], settings.repository, settings.preview_listener_arn
            )
            preview_deploy = PreviewDeployIdentity(
                deploy_policies=raw["policies"],
                boundary_name=raw["boundaryName"],
                boundary_policy=raw["boundary"],
                trust_policy=raw["trust"],
            )
        boot = AccountBootstrap(
            label,
            AccountBootstrapArgs(
                account_id=account,
                region=settings.region,
                stacks=identities,
                preview_trust_policy=documents[stacks[0]].preview_trust if preview_here else None,
                preview_stacks=preview_here,
                preview_deploy=preview_deploy,
                state_bucket_name=buckets[account],
            ),
            opts=pulumi.ResourceOptions(providers={"aws": provider}),
        )
        for s in stacks:
            env = environments.setdefault(documents[s].environment, {})
            env["AWS_ROLE_ARN"] = boot.deploy_role_arns[s]
            if multi:
                env["PULUMI_BACKEND_URL"] = boot.backend_url
            secrets_providers[s] = boot.secrets_providers[s]
        if boot.preview_deploy_role_arn is not None:
            repository["AWS_PREVIEW_DEPLOY_ROLE_ARN"] = boot.preview_deploy_role_arn
        if preview_here and boot.preview_role_arn is not None:
            repository["AWS_PREVIEW_ROLE_ARN"] = boot.preview_role_arn
            if multi:
                environments.setdefault("preview", {})["PULUMI_BACKEND_URL"] = boot.backend_url
    if not multi:
        repository["PULUMI_BACKEND_URL"] = backend_url(buckets[settings.accounts_in_order()[0]], settings.region)

    pulumi.export("githubVariables", {"repository": repository, "environments": environments})
    pulumi.export("secretsProviders", secrets_providers)
    pulumi.export(
        "stateBackends", {s: backend_url(buckets[settings.accounts[s]], settings.region) for s in settings.stacks}
    )
    pulumi.export("ghCommands", gh_commands(repository, environments))


def gh_commands(
    repository: dict[str, pulumi.Input[str]], environments: dict[str, dict[str, pulumi.Input[str]]]
) -> pulumi.Output[str]:
    """The variables as ``gh variable set`` lines (run in a clone of the repository)."""
    rows: list[tuple[str, str, pulumi.Input[str]]] = [("", k, v) for k, v in sorted(repository.items())]
    rows += [(env, k, v) for env, values in sorted(environments.items()) for k, v in sorted(values.items())]

    def render(values: list[str]) -> str:
        lines = []
        for (env, key, _), value in zip(rows, values, strict=True):
            scope = f" --env {env}" if env else ""
            lines.append(f"gh variable set {key}{scope} --body '{value}'")
        return "\n".join(lines) + "\n"

    return pulumi.Output.all(*[v for _, _, v in rows]).apply(render)


main()
