"""An IAM policy evaluator that evaluates conditions from the request's context, following AWS's documented logic.

Sources (AWS IAM User Guide): "Policy evaluation logic" (explicit deny > allow > implicit deny; identity policy and
permissions boundary must both allow), "IAM JSON policy elements: Condition operators" (string, ARN, numeric, Bool,
Null operators; ``...IfExists``; negated operators match when the key is absent), "Single-valued vs. multivalued
context keys" (``ForAllValues`` is true for an absent or empty key, ``ForAnyValue`` false), "IAM JSON policy
elements: Action" (action names are case-insensitive) and "Resource" (ARNs case-sensitive, ``*``/``?`` wildcards).

What it does not model: SCPs/RCPs, session policies, resource-based policies granting cross-account access, policy
variables (``${aws:username}``) and date/IP operators (a policy using one raises :class:`UnsupportedPolicyError`, so a
silent mis-evaluation is impossible). ``tests/test_iam_eval.py`` holds it against the guide's examples.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Union

ContextValue = Union[str, bool, int, Sequence[str]]


class UnsupportedPolicyError(ValueError):
    """The policy uses an element or operator this evaluator does not implement."""


class Decision(Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Request:
    """One authorization: ``action`` (``service:Name``) on ``resource`` (an ARN, or ``*``) with its context keys
    (``aws:RequestTag/k``, ``aws:TagKeys`` (a list), ``aws:ResourceTag/k`` as the resource is at that moment,
    ``iam:PassedToService``, ``iam:PermissionsBoundary``, ``aws:RequestedRegion`` ...). Keys are case-insensitive."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def value(self, key: str) -> list[str] | None:
        """The key's values as strings, or None when the request has no such key."""
        wanted = key.lower()
        for k, v in self.context.items():
            if k.lower() == wanted:
                if isinstance(v, bool):
                    return ["true" if v else "false"]
                if isinstance(v, (str, int)):
                    return [str(v)]
                return [str(x) for x in v]
        return None


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(regex, re.DOTALL if case_sensitive else re.IGNORECASE | re.DOTALL)


def _wildcard(pattern: str, text: str, case_sensitive: bool = True) -> bool:
    """``*`` = any run of characters (``/`` and ``:`` included), ``?`` = one character; nothing else is special."""
    return _compiled(pattern, case_sensitive).fullmatch(text) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Action names are case-insensitive; service prefixes too."""
    return _wildcard(pattern, action, case_sensitive=False)


def resource_matches(pattern: str, arn: str) -> bool:
    if "${" in pattern:
        raise UnsupportedPolicyError(f"policy variables are not evaluated: {pattern}")
    return _wildcard(pattern, arn)


def _arn_like(pattern: str, arn: str) -> bool:
    """ArnLike: each of the six colon-delimited components is matched separately."""
    p, a = pattern.split(":", 5), arn.split(":", 5)
    if len(p) != 6 or len(a) != 6:
        return False
    return all(_wildcard(x, y) for x, y in zip(p, a, strict=True))


def _number(text: str) -> float:
    return float(text)


_BASE: dict[str, Any] = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: _wildcard(p, v),
    "ArnEquals": lambda p, v: p == v,
    "ArnLike": _arn_like,
    "NumericEquals": lambda p, v: _number(v) == _number(p),
    "NumericLessThan": lambda p, v: _number(v) < _number(p),
    "NumericLessThanEquals": lambda p, v: _number(v) <= _number(p),
    "NumericGreaterThan": lambda p, v: _number(v) > _number(p),
    "NumericGreaterThanEquals": lambda p, v: _number(v) >= _number(p),
    "Bool": lambda p, v: p.lower() == v.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _condition(operator: str, key: str, policy_values: Any, request: Request) -> bool:
    qualifier = None
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
        if qualifier not in ("ForAllValues", "ForAnyValue"):
            raise UnsupportedPolicyError(f"unknown set qualifier {qualifier}")
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    if if_exists:
        operator = operator[: -len("IfExists")]
    wanted = [str(x).lower() if isinstance(x, bool) else str(x) for x in _as_list(policy_values)]
    values = request.value(key)
    if operator == "Null":
        if qualifier or if_exists:
            raise UnsupportedPolicyError("Null takes no qualifier")
        absent = values is None or values == []
        return all((w.lower() == "true") == absent for w in wanted)
    negated = operator in _NEGATED
    base = _NEGATED.get(operator, operator)
    if base not in _BASE:
        raise UnsupportedPolicyError(f"condition operator {operator} is not evaluated")
    match = _BASE[base]

    def one(value: str) -> bool:
        hit = any(match(p, value) for p in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in values or [])
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values or [])
    if values is None:
        return if_exists or negated
    return all(one(v) for v in values) if negated else any(one(v) for v in values)


def conditions_hold(block: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    """Every operator, and every key under it, must hold (AND); a key's policy values are alternatives (OR)."""
    return all(_condition(op, key, vals, request) for op, keys in block.items() for key, vals in keys.items())


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement:
        hit = any(action_matches(p, request.action) for p in _as_list(statement["Action"]))
    elif "NotAction" in statement:
        hit = not any(action_matches(p, request.action) for p in _as_list(statement["NotAction"]))
    else:
        raise UnsupportedPolicyError("statement without Action or NotAction")
    if not hit:
        return False
    if "Resource" in statement:
        hit = any(resource_matches(p, request.resource) for p in _as_list(statement["Resource"]))
    elif "NotResource" in statement:
        hit = not any(resource_matches(p, request.resource) for p in _as_list(statement["NotResource"]))
    else:
        hit = True  # trust policies have no Resource
    return hit and conditions_hold(statement.get("Condition", {}), request)


def _statements(policies: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [s for p in policies for s in _as_list(p["Statement"])]


def decide(policies: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    """One policy set (e.g. the identity policies of a role): explicit deny > allow > implicit deny."""
    allowed = False
    for statement in _statements(policies):
        if statement_applies(statement, request):
            if statement["Effect"] == "Deny":
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def evaluate(
    identity: Sequence[Mapping[str, Any]],
    request: Request,
    boundary: Mapping[str, Any] | None = None,
) -> Decision:
    """A principal's decision: its identity policies, capped by its permissions boundary when it has one (both must
    allow; an explicit deny in either wins)."""
    decisions = [decide(identity, request)]
    if boundary is not None:
        decisions.append(decide([boundary], request))
    if Decision.EXPLICIT_DENY in decisions:
        return Decision.EXPLICIT_DENY
    return Decision.ALLOW if all(d is Decision.ALLOW for d in decisions) else Decision.IMPLICIT_DENY


def allowed(
    identity: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    action: str,
    resource: str,
    context: Mapping[str, ContextValue] | None = None,
    boundary: Mapping[str, Any] | None = None,
) -> bool:
    policies = [identity] if isinstance(identity, Mapping) else list(identity)
    return evaluate(policies, Request(action, resource, context or {}), boundary) is Decision.ALLOW


def principal_trusted(
    trust: Mapping[str, Any],
    principal: str,
    kind: str = "AWS",
    action: str = "sts:AssumeRole",
    context: Mapping[str, ContextValue] | None = None,
) -> bool:
    """Does a role's trust policy let ``principal`` (an ARN for ``AWS``, a service name for ``Service``, a provider
    ARN for ``Federated``) call ``action``? ``"*"`` and account-root principals (``arn:aws:iam::ACCOUNT:root``,
    which delegate to every principal of that account) are honoured."""
    request = Request(action, "*", context or {})
    allowed_ = False
    for statement in _statements([trust]):
        given = statement.get("Principal", {})
        names = ["*"] if given == "*" else _as_list(given.get(kind, []))
        account = principal.split(":")[4] if principal.startswith("arn:") else None
        roots = (account, f"arn:aws:iam::{account}:root") if kind == "AWS" and account else ()
        hit = any(n in ("*", principal) or n in roots for n in names)
        if hit and statement_applies({k: v for k, v in statement.items() if k != "Principal"}, request):
            if statement["Effect"] == "Deny":
                return False
            allowed_ = True
    return allowed_
