"""Compare two plan documents (``ResourceGraph.to_json()``): resources added, removed and changed, as Markdown.

Resources match by URN. When the two documents are different stacks (prod against dev), the stack name is
normalised out of URNs and values (``slipway-dev-db`` and ``slipway-prod-db`` are the same resource) and so are the
generated ids and name suffixes that only differ because the names do, so what remains are real differences
(``inputs.multiAz``, ``inputs.instanceClass``, the NAT gateways prod adds). JSON-document inputs (container
definitions, IAM policies) are compared parsed, so a change shows as ``inputs.containerDefinitions[0].cpu``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from .cost import Estimate, money

IGNORED_KEYS = {"__provider"}
# a generated id or name suffix: 6+ hex characters with at least one digit and one letter (never a plain number)
_HEX_ID = re.compile(
    r"(?<![A-Za-z0-9])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{6,}(?![A-Za-z0-9])"
    r"|(?<=-)[0-9a-f]{7}(?![A-Za-z0-9])"
)  # Pulumi's 7-hex auto-name suffix, even all digits
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any


@dataclass
class ChangedResource:
    key: str
    name: str
    type: str
    changes: list[Change]


@dataclass
class PlanDiff:
    base_stack: str
    head_stack: str
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[ChangedResource] = field(default_factory=list)
    unchanged: int = 0
    norm: Optional[Normaliser] = field(default=None, repr=False)

    def key(self, urn: str) -> str:
        return self.norm.text(urn) if self.norm else urn

    def added_names(self) -> list[str]:
        return [r["name"] for r in self.added]

    def removed_names(self) -> list[str]:
        return [r["name"] for r in self.removed]

    def changed_resource(self, name_contains: str, type_: Optional[str] = None) -> ChangedResource:
        found = [c for c in self.changed if name_contains in c.name and (type_ is None or c.type == type_)]
        if len(found) != 1:
            raise LookupError(f"expected one changed resource *{name_contains}*, found {[c.name for c in found]}")
        return found[0]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


class Normaliser:
    def __init__(self, base_stack: str, head_stack: str) -> None:
        self.cross = base_stack != head_stack
        names = sorted({base_stack, head_stack}, key=len, reverse=True)
        self.stack_re = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, names)) + r")(?![A-Za-z0-9])")

    def text(self, value: str) -> str:
        if not self.cross:
            return value
        value = self.stack_re.sub("{stack}", value)
        value = _DIGEST.sub("sha256:{digest}", value)
        return _HEX_ID.sub("{id}", value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


def _parse_documents(value: Any) -> Any:
    """JSON strings (policies, container definitions) become structures so paths go inside them."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return _parse_documents(json.loads(value))
        except ValueError:
            return value
    if isinstance(value, Mapping):
        return {k: _parse_documents(v) for k, v in value.items() if k not in IGNORED_KEYS}
    if isinstance(value, list):
        return [_parse_documents(v) for v in value]
    return value


def compare(before: Any, after: Any, path: str, norm: Callable[[Any], Any]) -> list[Change]:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        out = []
        for key in list(before) + [k for k in after if k not in before]:
            out += compare(before.get(key), after.get(key), f"{path}.{key}", norm)
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            out += compare(b, a, f"{path}[{i}]", norm)
        return out
    return [] if norm(before) == norm(after) else [Change(path, before, after)]


def diff(base: Mapping[str, Any], head: Mapping[str, Any]) -> PlanDiff:
    """What ``head`` changes relative to ``base`` (both ``to_json()`` documents)."""
    base_stack, head_stack = str(base.get("stack", "")), str(head.get("stack", ""))
    n = Normaliser(base_stack, head_stack)
    before = {n.text(r["urn"]): r for r in base.get("resources", [])}
    after = {n.text(r["urn"]): r for r in head.get("resources", [])}
    result = PlanDiff(base_stack, head_stack, norm=n)
    for key, r in after.items():
        if key not in before:
            result.added.append(r)
            continue
        changes = compare(
            _parse_documents(before[key].get("inputs") or {}),
            _parse_documents(r.get("inputs") or {}),
            "inputs",
            n.value,
        )
        if changes:
            result.changed.append(ChangedResource(key, r["name"], r["type"], changes))
        else:
            result.unchanged += 1
    result.removed = [r for key, r in before.items() if key not in after]
    return result


# -- Markdown -------------------------------------------------------------------------------------------------
def _short(value: Any, limit: int = 60) -> str:
    text = "(unset)" if value is None else value if isinstance(value, str) else json.dumps(value, default=str)
    text = text.replace("|", "\\|").replace("`", "'").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _urn_of(r: Mapping[str, Any]) -> str:
    return str(r.get("urn", ""))


def render_markdown(
    d: PlanDiff, base_cost: Optional[Estimate] = None, head_cost: Optional[Estimate] = None, max_changes: int = 12
) -> str:
    with_cost = base_cost is not None and head_cost is not None
    b_cost = base_cost.by_urn() if base_cost else {}
    h_cost = head_cost.by_urn() if head_cost else {}
    title = (
        f"### slipway plan: `{d.head_stack}` against `{d.base_stack}`"
        if d.base_stack != d.head_stack
        else f"### slipway plan diff: `{d.head_stack}`"
    )
    lines = [
        title,
        "",
        f"**{len(d.added)} to add, {len(d.changed)} to change, {len(d.removed)} to remove** ({d.unchanged} unchanged)",
    ]
    if with_cost:
        assert base_cost is not None and head_cost is not None
        delta = head_cost.total - base_cost.total
        lines.append(
            f"\n**Monthly cost: {money(base_cost.total)} → {money(head_cost.total)} ({money(delta, signed=True)})**"
        )
    if d.empty:
        lines.append("\nNo changes.")

    def table(title: str, rows: Sequence[Mapping[str, Any]], sign: int, costs: Mapping[str, float]) -> None:
        if not rows:
            return
        lines.extend(
            [
                "",
                f"#### {title}",
                "",
                "| resource | type |" + (" monthly |" if with_cost else ""),
                "|---|---|" + ("---:|" if with_cost else ""),
            ]
        )
        for r in sorted(rows, key=lambda r: (r["type"], r["name"])):
            cell = f" {money(sign * costs.get(_urn_of(r), 0.0), signed=True)} |" if with_cost else ""
            lines.append(f"| `{r['name']}` | `{r['type']}` |{cell}")

    table("Added", d.added, 1, h_cost)
    table("Removed", d.removed, -1, b_cost)
    b_by_key = {d.key(u): v for u, v in b_cost.items()}
    h_by_key = {d.key(u): v for u, v in h_cost.items()}
    if d.changed:
        lines.extend(["", "#### Changed", ""])
        for c in sorted(d.changed, key=lambda c: (c.type, c.name)):
            delta = h_by_key.get(c.key, 0.0) - b_by_key.get(c.key, 0.0)
            extra = f" — {money(delta, signed=True)}/month" if with_cost and abs(delta) >= 0.005 else ""
            lines.append(f"- `{c.name}` (`{c.type}`){extra}")
            for ch in c.changes[:max_changes]:
                lines.append(f"  - `{ch.path}`: `{_short(ch.before)}` → `{_short(ch.after)}`")
            if len(c.changes) > max_changes:
                lines.append(f"  - … and {len(c.changes) - max_changes} more")
    return "\n".join(lines)
