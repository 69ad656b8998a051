"""Knobs: Args fields that are also stack-file keys, with their default per profile and their range in one place.

A field declared with :func:`knob` is, at once:

- a keyword of the Args dataclass (``None`` means "the profile's value");
- a stack-file key, its field name in camelCase (``min_tasks`` -> ``<project>:minTasks``), or the ``key`` given;
- its default for each profile (``dev``, ``prod``) and its range or choices, which the Args check at construction
  and the stack file's reader (:mod:`components.config`) reports in the stack file's own words;
- a row of the README's configuration table and an entry of ``Pulumi.yaml``'s ``config:`` schema
  (``python -m slipway.schema``), its documentation being the field's docstring.

So a new knob is one field with its docstring, plus the place that uses it.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from .validation import Checks

PROFILES = ("dev", "prod")
_SAME: Any = object()


@dataclass(frozen=True)
class Knob:
    """How one Args field reads from a stack file and what it defaults to."""

    dev: Any
    """The value under the dev profile (cheap, disposable)."""
    prod: Any
    """The value under the prod profile (highly available, protected)."""
    lo: Optional[int] = None
    """Smallest whole number allowed (integers only); None: the Args' own rules check the value."""
    hi: Optional[int] = None
    """Largest whole number allowed (integers only)."""
    choices: tuple[str, ...] = ()
    """The values allowed (text only); empty: any text the field's own rules accept."""
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Spellings people use for one of ``choices`` (``amd64`` -> ``x86_64``): suggested as the fix."""
    key: Optional[str] = None
    """The stack-file key when it is not the field in camelCase; with a ``:`` a key of another namespace
    (``aws:region``)."""
    mapping: bool = False
    """The stack-file value is a YAML mapping (Pulumi's project schema cannot declare one)."""

    def rule_text(self) -> str:
        """The range or the choices in words ("" when the Args' own rules say it)."""
        if self.choices:
            return f"One of {', '.join(self.choices)}."
        if self.lo is not None:
            return f"From {self.lo} to {self.hi}." if self.hi is not None else f"At least {self.lo}."
        return ""

    def default(self, profile: str) -> Any:
        return self.prod if profile == "prod" else self.dev


def knob(
    default: Any = None,
    *,
    dev: Any = _SAME,
    prod: Any = _SAME,
    lo: Optional[int] = None,
    hi: Optional[int] = None,
    choices: tuple[str, ...] = (),
    aliases: Optional[Mapping[str, str]] = None,
    key: Optional[str] = None,
    mapping: bool = False,
) -> Any:
    """A dataclass field (default None: the profile's value) that is also a stack-file key."""
    spec = Knob(
        dev=default if dev is _SAME else dev,
        prod=default if prod is _SAME else prod,
        lo=lo,
        hi=hi,
        choices=choices,
        aliases=dict(aliases or {}),
        key=key,
        mapping=mapping,
    )
    return dataclasses.field(default=None, metadata={"knob": spec})


def knobs(cls: type) -> dict[str, Knob]:
    """The knobs of an Args dataclass, by field name, in declaration order."""
    return {f.name: f.metadata["knob"] for f in dataclasses.fields(cls) if "knob" in f.metadata}


def camel(name: str) -> str:
    """``min_tasks`` -> ``minTasks``."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def snake(key: str) -> str:
    """``minTasks`` -> ``min_tasks``."""
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)


def key_of(name: str, spec: Knob) -> str:
    """The stack-file key of a knob field (without the project's namespace unless it lives in another one)."""
    return spec.key or camel(name)


def kind(cls: type, name: str) -> type:
    """The plain type a knob holds: int, bool, str, or the class a mapping value becomes."""
    tp = next(f.type for f in dataclasses.fields(cls) if f.name == name)  # the Args modules use real annotations
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    return tp if isinstance(tp, type) else str


def resolve(cls: type, values: Mapping[str, Any], profile: str) -> dict[str, Any]:
    """``values`` with every knob left None replaced by ``profile``'s value."""
    out = dict(values)
    for name, spec in knobs(cls).items():
        if out.get(name) is None:
            out[name] = spec.default(profile if profile in PROFILES else "prod")
    return out


def check_knobs(cls: type, v: Mapping[str, Any], c: Checks, n: Callable[[str], str]) -> None:
    """Each knob's own type, range and choices (``n`` names a field the way the caller's user spells it)."""
    for name, spec in knobs(cls).items():
        value, tp = v.get(name), kind(cls, name)
        if value is None:
            continue
        if tp is bool:
            if not isinstance(value, bool) and _plain_scalar(value):
                guess = str(value).strip().lower() in ("true", "yes", "on", "1")
                c.bad(n(name), value, "must be true or false", (n(name), guess))
        elif tp is int and spec.lo is not None:  # without a range the Args' own rules check it (cpu, memory)
            c.int_range(n(name), value, spec.lo, spec.hi)
        elif tp is str:
            if _plain_scalar(value) and not isinstance(value, str):
                c.bad(n(name), value, "must be text", (n(name), str(value)))
            elif spec.choices:
                c.one_of(n(name), value, spec.choices, aliases=spec.aliases)


def _plain_scalar(value: Any) -> bool:
    from .validation import plain

    return plain(value)
