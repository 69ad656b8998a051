"""The plan CLI: exit codes 0/1/2, findings, --cost, --diff Markdown, mermaid, and no ANSI codes off a TTY."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from slipway import plan


def run(*argv: str, tty: bool = False) -> tuple[int, str, str]:
    class Out(io.StringIO):
        def isatty(self) -> bool:
            return tty

    out, err = Out(), io.StringIO()
    code = plan.main(["plan", *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_prod_passes_with_findings_section() -> None:
    code, out, _ = run("--stack", "prod")
    assert code == 0
    assert "0 mandatory, 0 advisory" in out and "\033[" not in out


def test_dev_lists_trade_offs_and_cost_without_ansi_when_not_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    code, out, _ = run("--stack", "dev", "--cost")
    assert code == 0
    assert "ADVISORY" in out and "rds-multi-az" in out and "estimated monthly cost, stack dev" in out
    assert "dominated by:" in out and "\033[" not in out


def test_colour_on_a_tty_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\033[" in run("--stack", "prod", tty=True)[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in run("--stack", "prod", tty=True)[1]


def test_mandatory_finding_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    from slipway_policy import rules

    # hold the dev stack to prod levels: its trade-offs become mandatory failures
    monkeypatch.setattr(plan, "_environment", lambda stack, root=None: "prod")
    code, out, _ = run("--stack", "dev")
    assert code == 1 and "MANDATORY" in out and "rds-multi-az" in out
    assert rules.RULES_BY_ID["rds-multi-az"].level("prod") == "mandatory"


def test_bad_config_and_bad_flags_exit_2(tmp_path: Path) -> None:
    assert run("--stack", "nope")[0] == 2
    code, _, err = run("--stack", "dev", "--cost", "--assume", "bogus=1")
    assert code == 2 and "unknown assumption" in err
    code, _, err = run("--stack", "dev", "--diff", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err


def test_json_unchanged_and_mermaid() -> None:
    code, out, _ = run("--stack", "dev", "--json")
    doc = json.loads(out)
    assert code == 0 and set(doc) == {"stack", "resources", "outputs"}
    code, out, _ = run("--stack", "dev", "--format", "mermaid")
    assert code == 0 and out.startswith("```mermaid\nflowchart LR")


def test_diff_markdown_with_cost(tmp_path: Path) -> None:
    base = tmp_path / "dev.json"
    base.write_text(run("--stack", "dev", "--json")[1])
    code, out, _ = run("--stack", "prod", "--diff", str(base), "--cost")
    assert code == 0
    assert out.startswith("### slipway plan: `prod` against `dev`")
    assert "slipway-prod-net-nat-0" in out and "**Monthly cost: $" in out
    assert "#### Policy (prod): ✅ passes" in out and "\033[" not in out


def test_the_report_prints_every_distinct_fix_a_rule_gives() -> None:
    """A rule that names each finding's own key or field (a reusing team's, not slipway's) is printed as given."""
    from slipway.policy_report import render_text
    from slipway_policy.rules import Finding

    def finding(name: str, fix: str) -> Finding:
        return Finding("rds-multi-az", "advisory", f"urn:{name}", name, "aws:rds/instance:Instance", "off", fix, None)

    text = render_text(
        [
            finding("a", "set shop:dbMultiAz=true"),
            finding("b", "set WebAppArgs.db_multi_az=True"),
            finding("c", "set shop:dbMultiAz=true"),
        ],
        "dev",
        "dev",
    )
    assert text.count("fix: set shop:dbMultiAz=true") == 1 and "fix: set WebAppArgs.db_multi_az=True" in text
