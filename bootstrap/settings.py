"""The bootstrap's configuration (``slipway-bootstrap:*`` in ``Pulumi.<stack>.yaml``), every problem reported at once
before any resource is registered."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

NAMESPACE = "slipway-bootstrap"
MODES = ("single-account", "multi-account")
KEYS = (
    "githubRepo",
    "mode",
    "account",
    "accounts",
    "profiles",
    "stacks",
    "previewRole",
    "previewStacks",
    "previewListenerArn",
)
DEFAULT_STACKS = ("dev", "prod")
GITHUB_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")
"""``owner/name``: GitHub owners are letters, digits and single inner hyphens (at most 39); names letters, digits,
``.``, ``_`` and ``-``."""
ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Settings:
    repository: str
    """``owner/name`` of the GitHub repository whose workflows deploy."""
    mode: str
    """single-account (every stack in one account) or multi-account (one account per stack)."""
    region: str
    accounts: dict[str, str]
    """Stack -> the account it deploys into."""
    stacks: tuple[str, ...] = DEFAULT_STACKS
    profiles: dict[str, str] = field(default_factory=dict)
    """Stack -> AWS CLI profile used to reach its account (default: the default credentials, or aws:profile)."""
    preview_role: bool = True
    preview_stacks: tuple[str, ...] = DEFAULT_STACKS
    preview_listener_arn: Optional[str] = None
    """dev's HTTPS listener (``pulumi stack output preview --stack dev``: ``https_listener_arn``): set, the
    bootstrap creates the preview deploy role of the live ``pr-*`` stacks (docs/previews.md); unset, none."""

    def accounts_in_order(self) -> list[str]:
        return list(dict.fromkeys(self.accounts[s] for s in self.stacks))

    def stacks_in(self, account: str) -> list[str]:
        return [s for s in self.stacks if self.accounts[s] == account]


def read(get: Callable[[str], Optional[str]], stack: str, root: Path, keys: Iterable[str] = ()) -> Settings:
    """``get(key)`` returns the raw config text of ``<namespace>:<key>`` or ``aws:region``; ``keys`` are every key
    the stack sets (a key of our namespace that we do not read is refused, with the closest one we do read).
    Raises ConfigError with every problem at once."""
    from slipway_aws.config import ConfigError
    from slipway_aws.validation import closest

    problems: list[str] = []
    for key in sorted(k for k in keys if k.startswith(f"{NAMESPACE}:") and k.split(":", 1)[1] not in KEYS):
        guess = closest(key.split(":", 1)[1], KEYS)
        hint = f"; did you mean {NAMESPACE}:{guess}?" if guess else f" (it reads {', '.join(KEYS)})"
        problems.append(f"{key}: {get(key)}\n    the bootstrap reads no key named {key}{hint}\n    fix: remove it")

    def say(key: str, value: Any, why: str, fix: str) -> None:
        shown = "" if value is None else value
        problems.append(f"{key}: {shown}\n    {why}\n    fix: {fix}")

    def obj(key: str, kind: type) -> Any:
        raw = get(f"{NAMESPACE}:{key}")
        if raw is None or raw == "":
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if not isinstance(value, kind):
            say(f"{NAMESPACE}:{key}", raw, f"must be a {'mapping' if kind is dict else 'list'}", _example(key))
            return None
        return value

    repository = get(f"{NAMESPACE}:githubRepo") or ""
    if not GITHUB_REPO.match(repository):
        say(f"{NAMESPACE}:githubRepo", repository, "must be the GitHub repository as owner/name", "your-org/slipway")
    mode = get(f"{NAMESPACE}:mode") or "single-account"
    if mode not in MODES:
        say(f"{NAMESPACE}:mode", mode, f"must be one of {', '.join(MODES)}", f"{NAMESPACE}:mode: single-account")
    region = get("aws:region") or ""
    if not region:
        say("aws:region", None, "is required: the region of the state bucket and keys (the stacks' aws:region)", "")
    stacks = tuple(obj("stacks", list) or DEFAULT_STACKS)
    for s in stacks:
        if not isinstance(s, str) or not (root / f"Pulumi.{s}.yaml").exists():
            say(f"{NAMESPACE}:stacks", list(stacks), f"no stack file Pulumi.{s}.yaml in {root}", '["dev", "prod"]')
    accounts: dict[str, str] = {}
    single, several = get(f"{NAMESPACE}:account"), obj("accounts", dict)
    if mode == "single-account":
        if several is not None:
            say(f"{NAMESPACE}:accounts", several, "is for multi-account; single-account takes `account`", "")
        if not single or not ACCOUNT_ID.match(single):
            say(f"{NAMESPACE}:account", single, "is required: the 12-digit account of every stack", "123456789012")
        else:
            accounts = {s: single for s in stacks}
    elif mode == "multi-account":
        if single:
            say(f"{NAMESPACE}:account", single, "is for single-account; multi-account takes `accounts`", "")
        given = several or {}
        for s in stacks:
            value = str(given.get(s, ""))
            if not ACCOUNT_ID.match(value):
                say(f"{NAMESPACE}:accounts", given, f"needs the 12-digit account of stack {s}", _example("accounts"))
            else:
                accounts[s] = value
        for extra in sorted(set(given) - set(stacks)):
            say(f"{NAMESPACE}:accounts", given, f"names {extra}, which is not in stacks {list(stacks)}", "")
        if len(set(accounts.values())) != len(accounts):
            say(f"{NAMESPACE}:accounts", given, "multi-account gives each stack its own account", "")
    profiles = obj("profiles", dict) or {}
    for s in sorted(set(profiles) - set(stacks)):
        say(f"{NAMESPACE}:profiles", profiles, f"names {s}, which is not in stacks {list(stacks)}", "")
    preview_role = (get(f"{NAMESPACE}:previewRole") or "true").lower()
    if preview_role not in ("true", "false"):
        say(f"{NAMESPACE}:previewRole", preview_role, "must be true or false", f"{NAMESPACE}:previewRole: true")
    default_preview = stacks if mode == "single-account" else stacks[:1]
    preview_stacks = tuple(obj("previewStacks", list) or default_preview) if preview_role == "true" else ()
    for s in preview_stacks:
        if s not in stacks:
            say(f"{NAMESPACE}:previewStacks", list(preview_stacks), f"{s} is not in stacks {list(stacks)}", "")
    if len({accounts.get(s) for s in preview_stacks}) > 1:
        say(
            f"{NAMESPACE}:previewStacks",
            list(preview_stacks),
            "must all live in one account: preview.yml assumes one preview role (AWS_PREVIEW_ROLE_ARN)",
            f'{NAMESPACE}:previewStacks: ["{stacks[0]}"]',
        )
    listener = get(f"{NAMESPACE}:previewListenerArn") or None
    if listener is not None:
        from slipway.preview_deploy_policy import LISTENER_ARN

        if not LISTENER_ARN.match(listener):
            say(
                f"{NAMESPACE}:previewListenerArn",
                listener,
                "must be dev's HTTPS listener ARN (arn:aws:elasticloadbalancing:...:listener/app/<name>/<id>/<id>)",
                "pulumi stack output preview --stack dev  # https_listener_arn",
            )
        if "dev" not in stacks:
            say(f"{NAMESPACE}:previewListenerArn", listener, "previews share stack dev, which is not in stacks", "")
    if problems:
        raise ConfigError(problems, stack)
    return Settings(
        repository=repository,
        mode=mode,
        region=region,
        accounts=accounts,
        stacks=stacks,
        profiles={str(k): str(v) for k, v in profiles.items()},
        preview_role=preview_role == "true",
        preview_stacks=preview_stacks,
        preview_listener_arn=listener,
    )


def _example(key: str) -> str:
    examples: Mapping[str, str] = {
        "accounts": '{"dev": "111111111111", "prod": "222222222222"}',
        "profiles": '{"dev": "dev-admin", "prod": "prod-admin"}',
        "stacks": '["dev", "prod"]',
        "previewStacks": '["dev"]',
    }
    return f"{NAMESPACE}:{key}: {examples.get(key, '')}"
