"""Policy findings of the offline plan, for a terminal and for a pull-request comment.

The rules are ``policy/rules.py`` (the same functions the Pulumi policy pack runs); this module only presents
``evaluate``'s findings: mandatory first, grouped by rule, with the resource, the message and every distinct fix the
rule gives (a rule names the user's own config key or Args field; findings of one rule may need different fixes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import groupby

from slipway_policy.rules import RULES, Finding

Style = Callable[[str, str], str]


def _plain(text: str, _code: str) -> str:
    return text


def counts(findings: Sequence[Finding]) -> tuple[int, int]:
    mandatory = sum(1 for f in findings if f.mandatory)
    return mandatory, len(findings) - mandatory


def render_text(findings: Sequence[Finding], stack: str, environment: str, style: Style = _plain) -> str:
    mandatory, advisory = counts(findings)
    head = (
        f"policy: {len(RULES)} rules, environment {environment}: {mandatory} mandatory, {advisory} advisory finding(s)"
    )
    lines = [style(head, "1;31" if mandatory else "1;32" if not advisory else "1;33")]
    width = max((len(f.name) for f in findings), default=0)
    for (level, rule), group in groupby(findings, key=lambda f: (f.level, f.rule)):
        items = list(group)
        fsbp = f" [{items[0].fsbp}]" if items[0].fsbp else ""
        tag = style(f"{level.upper():<9}", "31" if level == "mandatory" else "33")
        lines.append(f"  {tag} {style(rule, '1')}{fsbp}")
        for f in items:
            lines.append(f"    {f.name:<{width}}  {f.message}")
        for fix in dict.fromkeys(f.remediation for f in items):  # each distinct fix the rule gives, in order
            lines.append(f"    fix: {fix}")
    if not findings:
        lines.append(f"  stack {stack} passes every rule")
    return "\n".join(lines)


def render_markdown(findings: Sequence[Finding], stack: str, environment: str) -> str:
    mandatory, advisory = counts(findings)
    verdict = "❌ blocked" if mandatory else "✅ passes"
    lines = [f"#### Policy ({environment}): {verdict} — {mandatory} mandatory, {advisory} advisory"]
    if findings:
        lines += ["", "| level | rule | FSBP | resource | finding | fix |", "|---|---|---|---|---|---|"]
        for f in findings:
            cells = (f.level, f"`{f.rule}`", f.fsbp or "", f"`{f.name}`", f.message, f.remediation)
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
