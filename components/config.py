"""The stack file, read as WebAppArgs: one schema from ``Pulumi.<stack>.yaml`` to the component.

The keys of a stack are WebAppArgs' knobs (:mod:`components.knobs`), each its field name in camelCase in the
project's namespace (``slipway:minTasks`` here, ``shop:minTasks`` in a project named shop), plus ``environment`` for
the profile and the AWS provider's ``aws:region`` and ``aws:profile``. :func:`read_stack_config` (behind
``WebAppArgs.from_config``) parses the text Pulumi hands the program, refuses keys nobody reads (``minTask``,
``minTasks`` without the namespace, ``app:minTasks``, ``aws:regoin``) with a did-you-mean, and runs WebAppArgs' own
rules with the keys as names, so a bad stack file fails with ONE error listing every bad key, its value as written,
why, and a line to paste into ``Pulumi.<stack>.yaml``, before any resource is registered.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

import pulumi
import yaml

from .knobs import PROFILES, Knob, key_of, kind, knobs
from .validation import UNKNOWN, Checks, Dialect, Problem, closest, normalized

NAMESPACE = "slipway"
"""This repository's project name, so its keys' namespace."""
PROFILE_KEY = "environment"
"""The key of ``WebAppArgs.profile``."""
ENVIRONMENTS = PROFILES
# Namespaces whose keys are someone else's (providers, the engine): only a key that is one of ours, spelt
# differently, is refused there (and, in ``aws``, a key the AWS provider does not have).
FOREIGN_NAMESPACES = ("aws", "pulumi", "docker", "random", "tls", "command")
RESTORE_FIELDS = {
    "time": "time",
    "snapshot": "snapshot",
    "recoveryPoint": "recovery_point",
    "sourceIdentifier": "source_identifier",
    "keepSource": "keep_source",
}
# Valid stand-ins, by field, for knobs whose value is a `secure:` ciphertext the offline engine cannot decrypt.
_PLACEHOLDERS = {
    "domain": "secure-placeholder.example.com",
    "hosted_zone_id": "ZSECUREPLACEHOLDER0",
    "certificate_arn": "arn:aws:acm:{region}:123456789012:certificate/00000000-0000-4000-8000-000000000000",
    "alarm_email": "secure-placeholder@example.com",
    "image_uri": "123456789012.dkr.ecr.{region}.amazonaws.com/secure-placeholder@sha256:" + "0" * 64,
    "db_restore": '{"time": "latest"}',
    "app_name": "app",
    "log_level": "INFO",
    "web_concurrency": "1",
    "awake_hours": "MON-FRI 07:00-20:00",
}


class ConfigError(pulumi.RunError):
    """Raised with every invalid key at once. A RunError prints without a Python traceback in the CLI."""

    def __init__(self, problems: list[str], stack: str) -> None:
        self.problems = problems
        self.stack = stack
        lines = "\n".join(f"  - {p}" for p in problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(
            f"invalid configuration for stack '{stack}' ({count}); the fixes go in Pulumi.{stack}.yaml under "
            f"`config:` (or `pulumi config set KEY VALUE`):\n{lines}"
        )


def stack_keys(cls: Optional[type] = None) -> dict[str, str]:
    """Key (without namespace, or with its own) -> WebAppArgs field, ``environment`` first."""
    from .webapp_args import WebAppArgs

    target = cls or WebAppArgs
    return {PROFILE_KEY: "profile", **{key_of(name, spec): name for name, spec in knobs(target).items()}}


@functools.cache
def aws_provider_keys() -> frozenset[str]:
    """The settings of the AWS provider's ``aws:`` namespace, as pulumi-aws declares them (its ``config/vars.py``)."""
    import importlib.util

    spec = importlib.util.find_spec("pulumi_aws")
    origin = Path(spec.origin) if spec and spec.origin else None
    text = (origin.parent / "config" / "vars.py").read_text() if origin else ""
    return frozenset(re.findall(r"__config__\.get\w*\('(\w+)'\)", text))


def secure_placeholder(key: str, environment: Optional[str], region: Optional[str]) -> Optional[str]:
    """A value that passes ``key``'s own checks, standing in offline for a ``secure:`` value (None: not a knob)."""
    namespace, _, name = key.rpartition(":")
    fields = stack_keys()
    if not namespace or namespace in FOREIGN_NAMESPACES or name not in fields:
        return None
    profile = environment if environment in PROFILES else "dev"
    if name == PROFILE_KEY:
        return profile
    field = fields[name]
    default = knobs_of_webapp()[field].default(profile)
    if default is not None:
        return config_string(default)
    return _PLACEHOLDERS.get(field, "placeholder").replace("{region}", region or "us-east-1")


def knobs_of_webapp() -> dict[str, Knob]:
    from .webapp_args import WebAppArgs

    return knobs(WebAppArgs)


def _current_config() -> dict[str, Any]:
    """Every key the engine hands the current stack (the stack file's and ``PULUMI_CONFIG``'s), full names."""
    from pulumi.runtime.config import CONFIG, get_config, get_config_env

    return {key: get_config(key) for key in {*CONFIG.get(), *get_config_env()}}


def refuse_unknown_keys(stack: str, namespace: str, allowed: Mapping[str, str]) -> None:
    """A stack whose program reads only ``allowed`` keys of ``namespace`` (key -> what it is for; a preview stack):
    any other key of the namespace is a :class:`ConfigError` with a did-you-mean, before any resource."""
    from .validation import closest

    prefix = f"{namespace}:"
    keys = sorted(k[len(prefix) :] for k in _current_config() if k.startswith(prefix))
    problems = []
    for key in (k for k in keys if k not in allowed):
        guess = closest(key, allowed)
        hint = (
            f"did you mean {prefix}{guess}?"
            if guess
            else "it takes only " + ", ".join(f"{prefix}{k} ({why})" for k, why in allowed.items())
        )
        problems.append(f"{prefix}{key}: not a key of this stack; {hint}")
    if problems:
        raise ConfigError(problems, stack)


def read_stack_config(cls: type, namespace: str, program: Mapping[str, Any], own_keys: Sequence[str] = ()) -> Any:
    """The current stack's configuration as ``cls`` (WebAppArgs): see :meth:`WebAppArgs.from_config`."""
    everything = _current_config()
    prefix = f"{namespace}:"
    ours = {
        k[len(prefix) :]: v
        for k, v in everything.items()
        if k.startswith(prefix) and v is not None and k[len(prefix) :] not in own_keys
    }
    others = {k: v for k, v in everything.items() if not k.startswith(prefix) and v is not None}
    return from_mapping(pulumi.get_stack(), ours, others, namespace=namespace, program=program, cls=cls)


def from_mapping(
    stack: str,
    values: Mapping[str, Any],
    other_keys: Optional[Mapping[str, Any]] = None,
    *,
    namespace: str = NAMESPACE,
    program: Optional[Mapping[str, Any]] = None,
    cls: Optional[type] = None,
) -> Any:
    """Validate raw (string) config values of ``namespace`` (keys without the prefix) for ``stack``; ``other_keys``
    are the stack's keys outside it, full names (``aws:region``). ``program``: fields set by the program (defaults
    the stack file overrides). Return WebAppArgs, or raise :class:`ConfigError` listing every problem."""
    from .webapp_args import WebAppArgs

    return _Reader(cls or WebAppArgs, stack, namespace, values, other_keys or {}, program or {}).build()


MISSING: Any = object()
"""The value of a key that is not set at all."""


def config_string(value: Any) -> str:
    """A YAML value as Pulumi hands it to the program: booleans lowercase, objects as JSON, the rest as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def yaml_value(value: Any) -> str:
    """``value`` as one writes it in a stack file: ``false``, ``256``, ``lots``; quoted only when YAML needs it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    text = str(value)
    try:
        parsed = yaml.safe_load(f"k: {text}")
    except yaml.YAMLError:
        parsed = None
    if text and text == text.strip() and isinstance(parsed, dict) and config_string(parsed.get("k")) == text:
        return text
    return yaml.safe_dump(text, default_style="'").strip().removesuffix("\n...")


class ConfigDialect(Dialect):
    """Problems as stack-file lines: the line as written, why, and a line to paste instead."""

    def __init__(self, namespace: str = NAMESPACE, verbatim: frozenset[str] | set[str] = frozenset()) -> None:
        self.namespace = namespace
        self.verbatim = verbatim
        """Keys shown as written (outside the namespace, or without any)."""

    def key(self, field: str) -> str:
        if ":" in field or field in self.verbatim or field.startswith("WebAppArgs."):
            return field
        return f"{self.namespace}:{field}"

    def value(self, value: Any) -> str:
        from .database import RestoreSpec

        if isinstance(value, RestoreSpec):
            inverse = {f: k for k, f in RESTORE_FIELDS.items()}
            defaults = RestoreSpec.__dataclass_fields__
            value = {inverse[f]: getattr(value, f) for f in inverse if getattr(value, f) != defaults[f].default}
        return yaml_value(value)

    def setting(self, field: str, value: Any) -> str:
        if value is None:
            return f"delete the {self.key(field)} line"
        return f"{self.key(field)}: {self.value(value)}"

    def render(self, problem: Problem) -> str:
        if problem.value is MISSING or problem.value is None:
            head = f"{self.key(problem.field)} is not set"
        else:
            head = self.setting(problem.field, problem.value)
        lines = [head, f"    {problem.reason}"]
        for i, fix in enumerate(problem.fixes):
            settings = fix if isinstance(fix, list) else [fix]
            for j, setting in enumerate(settings):
                text = setting if isinstance(setting, str) else self.setting(*setting)
                label = ("fix:" if i == 0 else "or: ") if j == 0 else "    "
                lines.append(f"    {label} {text}")
        return "\n".join(lines)


class _Reader:
    """Collects every problem of a stack's configuration instead of stopping at the first."""

    def __init__(
        self,
        cls: type,
        stack: str,
        namespace: str,
        values: Mapping[str, Any],
        others: Mapping[str, Any],
        program: Mapping[str, Any],
    ) -> None:
        self.cls, self.stack, self.namespace, self.program = cls, stack, namespace, dict(program)
        self.raw = {k: config_string(v) for k, v in values.items()}
        self.others = {k: config_string(v) for k, v in others.items()}
        self.fields = stack_keys(cls)
        self.local = {k: f for k, f in self.fields.items() if ":" not in k}
        self.knobs = knobs(cls)
        self.c = Checks()
        self.misspelt: dict[str, str] = {}

    def name(self, field: str) -> str:
        """How a problem names ``field``: its key (``minTasks``, ``aws:region``), or the program's keyword."""
        keys = {f: k for k, f in self.fields.items()}
        return keys.get(field, f"WebAppArgs.{field}")

    def build(self) -> Any:
        self.unknown_keys()
        profile = self.environment()
        self.blank_values(profile)
        stack_values = self.parse(profile)
        if "image_uri" in stack_values and "build_context" in self.program:
            self.program["build_context"] = None  # the stack promotes an image: the program's build is not used
        values = {**self.program, **stack_values, "profile": profile}
        if not self.others.get("aws:region", "").strip() and values.get("region") is None:
            self.c.bad("aws:region", MISSING, "the AWS region of the stack's resources", ("aws:region", "us-east-1"))
        from .webapp_args import check

        merged = {**_field_defaults(self.cls), **values}
        self.c.problems.extend(check(self.cls, merged, self.stack, n=self.name))
        if self.c.problems:
            dialect = ConfigDialect(self.namespace, verbatim={*self.others, *(k for k in self.fields if ":" in k)})
            raise ConfigError(_unique(dialect.render(p) for p in self.c.problems), self.stack)
        return self.cls(**values)

    # -- keys ---------------------------------------------------------------------------------------------------
    def unknown_keys(self) -> None:
        ns = self.namespace
        for key in sorted(set(self.raw) - set(self.local)):
            self.misplaced(key, key, self.raw[key], f"{ns} reads no key named {key}")
        for full, value in sorted(self.others.items()):
            namespace, _, name = full.rpartition(":")
            if ":" in full and full in self.fields:
                continue
            if not namespace:
                self.misplaced(full, name, value, "has no namespace, so nothing reads it")
            elif namespace == "aws" and name not in aws_provider_keys():
                guess = closest(name, aws_provider_keys())
                if any(normalized(name) == normalized(k) for k in self.local) and guess is None:
                    self.misplaced(full, name, value, "is in the aws namespace, which is the AWS provider's", True)
                elif guess is not None:
                    self.c.bad(
                        full,
                        value,
                        f"the AWS provider has no setting {name}; did you mean aws:{guess}?",
                        (f"aws:{guess}", value),
                    )
                else:
                    self.c.bad(full, value, f"the AWS provider has no setting {name}", "delete this line")
            elif namespace not in FOREIGN_NAMESPACES or any(normalized(name) == normalized(k) for k in self.local):
                self.misplaced(full, name, value, f"is in the {namespace} namespace, which {ns} does not read", True)

    def misplaced(self, field: str, name: str, value: str, why: str, foreign: bool = False) -> None:
        ns = self.namespace
        guess = closest(name, self.local)
        if guess is None:
            if not foreign:  # a key in someone else's namespace that looks like none of ours is theirs
                self.c.bad(
                    field,
                    value,
                    f"{why}; the keys are WebAppArgs' fields (README.md, Configuration)",
                    "delete this line",
                )
            return
        self.misspelt[guess] = value
        hint = " (keys are camelCase)" if normalized(guess) == normalized(name) and guess != name else ""
        if guess in self.raw:
            self.c.bad(field, value, f"{why}; did you mean {ns}:{guess}? It is set already{hint}", "delete this line")
        else:
            self.c.bad(field, value, f"{why}; did you mean {ns}:{guess}?{hint}", (f"{ns}:{guess}", value))

    def environment(self) -> str:
        """The profile to apply; a missing or misspelt environment is a problem, and the closest profile is used
        so the remaining keys are still checked."""
        fallback = self.stack if self.stack in PROFILES else "dev"
        env = self.raw.pop(PROFILE_KEY, None)
        if env is None:
            misspelt = self.misspelt.get(PROFILE_KEY)
            if misspelt is None:
                why = "picks the profile whose defaults apply: dev or prod"
                self.c.bad(PROFILE_KEY, MISSING, why, (PROFILE_KEY, fallback))
            elif misspelt in PROFILES:
                return misspelt
            return fallback
        if not env.strip():
            why = "is blank: Pulumi passes an empty value; it picks the profile: dev or prod"
            self.c.bad(PROFILE_KEY, env, why, (PROFILE_KEY, fallback))
            return fallback
        if not self.c.one_of(PROFILE_KEY, env, PROFILES):
            return closest(env, PROFILES) or fallback
        return env

    def blank_values(self, profile: str) -> None:
        for key in sorted(k for k in self.raw if k in self.local):
            if self.raw[key].strip():
                continue
            spec = self.knobs[self.local[key]]
            default = spec.default(profile)
            if default is not None:
                why = f"is blank: Pulumi passes an empty value, not the default ({yaml_value(default)})"
                self.c.bad(key, self.raw[key], why, (key, default), "delete this line for the default")
            else:
                self.c.bad(key, self.raw[key], "is blank; delete this line to leave it unset", "delete this line")
            del self.raw[key]

    # -- values -------------------------------------------------------------------------------------------------
    def parse(self, profile: str) -> dict[str, Any]:
        """Typed values by field of the keys set; a value that cannot be parsed is recorded and becomes UNKNOWN
        (checks that involve it are skipped)."""
        out: dict[str, Any] = {}
        texts = {**{k: v for k, v in self.raw.items() if k in self.local}}
        texts.update({k: v for k, v in self.others.items() if k in self.fields and k != PROFILE_KEY})
        for key, raw in texts.items():
            field = self.fields[key]
            spec, tp = self.knobs[field], kind(self.cls, field)
            default = spec.default(profile)
            if spec.mapping:
                out[field] = self.restore(key, raw)
            elif tp is int:
                if re.fullmatch(r"-?\d+", raw.strip()):
                    out[field] = int(raw)
                else:
                    span = f" from {spec.lo} to {spec.hi}" if spec.lo is not None and spec.hi is not None else ""
                    fix = default if default is not None else spec.lo if spec.lo is not None else 1
                    self.c.bad(key, raw, f"must be a whole number{span}", (key, fix))
                    out[field] = UNKNOWN
            elif tp is bool:
                if raw in ("true", "false"):
                    out[field] = raw == "true"
                else:
                    lower = raw.lower()
                    guess = lower in ("true", "yes", "on", "1") if lower in _BOOLISH else bool(default)
                    hint = " (lowercase)" if lower in ("true", "false") else ""
                    self.c.bad(key, raw, f"must be true or false{hint}", (key, guess))
                    out[field] = UNKNOWN
            else:
                out[field] = raw
        return out

    def restore(self, key: str, raw: Any) -> Any:
        """``dbRestore`` -> RestoreSpec; every problem recorded with a line to paste instead."""
        from .database import RestoreSpec

        example = (key, {"time": "latest"})
        try:
            value = json.loads(raw) if isinstance(raw, str) and raw.lstrip().startswith("{") else raw
        except ValueError:
            value = raw
        if not isinstance(value, dict):
            self.c.bad(key, raw, "must be a mapping: {time: ...}, {snapshot: ...} or {recoveryPoint: ...}", example)
            return UNKNOWN
        unknown = sorted(set(value) - set(RESTORE_FIELDS))
        if unknown:
            kept = {k: v for k, v in value.items() if k in RESTORE_FIELDS} or example[1]
            self.c.bad(key, value, f"has no field {', '.join(unknown)}; use {', '.join(RESTORE_FIELDS)}", (key, kept))
            return UNKNOWN
        try:
            return RestoreSpec(**{RESTORE_FIELDS[k]: v for k, v in value.items()})
        except (TypeError, ValueError) as err:
            self.c.bad(key, value, str(err).removeprefix("restore: "), example)
            return UNKNOWN


_BOOLISH = ("true", "false", "yes", "no", "on", "off", "1", "0")


def _field_defaults(cls: type) -> dict[str, Any]:
    import dataclasses

    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def _unique(lines: Any) -> list[str]:
    return list(dict.fromkeys(lines))
