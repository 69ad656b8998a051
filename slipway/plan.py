"""``python -m slipway plan --stack dev``: the stack's resources, offline, as a tree, JSON or a Mermaid diagram, with
policy findings, an estimated monthly bill (``--cost``) and a Markdown diff against a saved plan (``--diff``).

Exit status: 0 on success, 1 when a mandatory policy rule fails, 2 when the stack's configuration, its stack file
(missing, or not YAML: one line naming file, line and column), a component's Args, a ``--diff`` base or an
``--assume`` override is invalid, with the error on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional, TextIO

from . import cost as costs
from . import diagram, diff
from .offline import ROOT, Resource, ResourceGraph, SecretValue, StackFileError, load_config, run_stack

if str(ROOT) not in sys.path:  # the policy pack (policy/) and components/ live at the project root
    sys.path.insert(0, str(ROOT))

# The inputs worth a glance per type (the JSON output has all of them).
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone"),
    "aws:ec2/natGateway:NatGateway": ("subnetId",),
    "aws:ecr/repository:Repository": ("imageTagMutability", "imageScanningConfiguration.scanOnPush"),
    "docker:index/image:Image": ("imageName", "build.platform"),
    "aws:rds/instance:Instance": (
        "engineVersion",
        "instanceClass",
        "multiAz",
        "backupRetentionPeriod",
        "deletionProtection",
        "storageEncrypted",
        "publiclyAccessible",
    ),
    "aws:rds/parameterGroup:ParameterGroup": ("family",),
    "aws:lb/loadBalancer:LoadBalancer": ("dropInvalidHeaderFields", "enableDeletionProtection"),
    "aws:lb/listener:Listener": ("port", "protocol", "sslPolicy", "defaultActions.0.type"),
    "aws:lb/targetGroup:TargetGroup": (
        "deregistrationDelay",
        "healthCheck.path",
        "healthCheck.interval",
        "healthCheck.healthyThreshold",
    ),
    "aws:ecs/service:Service": (
        "desiredCount",
        "deploymentMinimumHealthyPercent",
        "deploymentMaximumPercent",
        "deploymentCircuitBreaker.rollback",
        "healthCheckGracePeriodSeconds",
    ),
    "aws:ecs/taskDefinition:TaskDefinition": ("family", "cpu", "memory", "runtimePlatform.cpuArchitecture"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("metricName", "threshold"),
    "aws:appautoscaling/target:Target": ("minCapacity", "maxCapacity"),
    "aws:secretsmanager/secret:Secret": ("recoveryWindowInDays",),
    "aws:acm/certificate:Certificate": ("domainName", "validationMethod"),
}


def setting(resource: Resource, dotted: str) -> Any:
    path: list[str | int] = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    return resource.input(*path)


def summary(resource: Resource) -> str:
    keys = KEY_SETTINGS.get(resource.type, ())
    parts = []
    for key in keys:
        value = setting(resource, key)
        if value is not None:
            label = "action" if key.endswith(".type") else key.split(".")[-1]
            parts.append(f"{label}={value if isinstance(value, str) else json.dumps(value)}")
    return "  ".join(parts)


def short_type(type_: str) -> str:
    """``aws:ecs/service:Service`` -> ``aws:ecs:Service``."""
    parts = type_.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        return f"{parts[0]}:{parts[1].split('/')[0]}:{parts[2]}"
    return type_


class Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text


def render_tree(graph: ResourceGraph, out: TextIO, color: bool) -> None:
    style = Style(color)
    known = {r.urn for r in graph.resources}
    roots = [r for r in graph.resources if r.parent not in known]
    width = max(len(short_type(r.type)) for r in graph.resources) + 2
    print(
        style(
            f"stack {graph.stack}: {len(graph.resources)} resources "
            f"({sum(r.custom for r in graph.resources)} cloud resources)",
            "1",
        ),
        file=out,
    )

    def walk(resource: Resource, depth: int) -> None:
        label = f"{'  ' * depth}{resource.name}"
        kind = short_type(resource.type)
        line = f"{label:<54} {style(kind.ljust(width), '36' if resource.custom else '35;1')} {summary(resource)}"
        print(line.rstrip(), file=out)
        for child in graph.children(resource.urn):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 1)
    print(style("outputs:", "1"), file=out)
    for key, value in graph.outputs.items():
        shown = "[secret]" if isinstance(value, SecretValue) else value
        print(f"  {key:<12} {shown}", file=out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m slipway", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="run the stack program offline and show what it would create")
    plan.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml)")
    plan.add_argument(
        "--cwd",
        type=Path,
        default=None,
        metavar="DIR",
        help="the Pulumi Python project to plan (its Pulumi.yaml and __main__.py); default: this repository's",
    )
    plan.add_argument(
        "--format",
        choices=("text", "json", "mermaid"),
        default="text",
        help="output format: text tree (default), json document, or a Mermaid architecture diagram",
    )
    plan.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    plan.add_argument("--cost", action="store_true", help="estimate the monthly bill (with --diff: the delta)")
    plan.add_argument(
        "--assume",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a usage assumption of --cost, e.g. --assume log_gb=5 (repeatable)",
    )
    plan.add_argument(
        "--diff",
        metavar="BASE.json",
        help="compare with a saved `--json` plan and print a Markdown summary for a pull request",
    )
    policy = sub.add_parser(
        "deploy-policy",
        help="print the least-privilege IAM policy CI's deploy role needs for this stack (from its graph)",
    )
    policy.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml)")
    policy.add_argument("--account", default="ACCOUNT_ID", help="AWS account id to put in ARNs (default ACCOUNT_ID)")
    policy.add_argument(
        "--state-bucket",
        default="STATE_BUCKET",
        help="S3 bucket of the Pulumi state backend (default STATE_BUCKET)",
    )
    policy.add_argument("--out-dir", help="write managed-policy-sized documents deploy-policy-<stack>-N.json here")
    sub.add_parser(
        "schema",
        help="print the Pulumi package schema other languages see (what `pulumi package get-schema` prints)",
    )
    from . import drill  # imported here: after ROOT is on sys.path (it uses components.ecs_runner)

    drill.add_parser(sub)
    from . import copilot_import, day2  # logs, status, exec, run, rollback on a deployed stack; import copilot

    day2.add_parsers(sub)
    copilot_import.add_parser(sub)
    return parser


def color_enabled(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


def _environment(stack: str, root: Path = ROOT) -> str:
    from slipway_policy.rules import environment_for

    try:
        project, config, _ = load_config(stack, root)
    except StackFileError:
        return environment_for(stack)
    return environment_for(stack, config.get(f"{project}:environment") or config.get(f"{project}:profile"))


def _region(stack: str, root: Path = ROOT) -> Optional[str]:
    try:
        return load_config(stack, root)[1].get("aws:region")
    except StackFileError:
        return None


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("logs", "status", "exec", "run", "rollback"):
        from . import day2

        return day2.main(args, out, err)
    if args.command == "import":
        from . import copilot_import

        return copilot_import.main(args, out, err)
    if args.command == "drill":
        from . import drill

        return drill.main(args, out, err)
    if args.command == "schema":
        from slipway_aws.provider import schema

        json.dump(schema(), out, indent=2)
        out.write("\n")
        return 0
    if args.command == "deploy-policy":
        from . import deploy_policy

        return deploy_policy.main(args, out, err)
    from slipway_aws.config import ConfigError
    from slipway_aws.validation import ArgsError
    from slipway_policy.rules import evaluate

    from .policy_report import render_markdown as findings_markdown
    from .policy_report import render_text as findings_text

    try:
        overrides = costs.parse_assumptions(args.assume)
        root = args.cwd.resolve() if args.cwd else ROOT
        environment = _environment(args.stack, root)
        costs.assumptions_for(environment, overrides)  # reject unknown keys before the run
        base = _load_base(args.diff) if args.diff else None
        graph = run_stack(args.stack, root=root)
    except (ConfigError, ArgsError, StackFileError, costs.CostError, BaseError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    findings = evaluate(graph.resources, environment)
    mandatory = [f for f in findings if f.mandatory]
    color = color_enabled(out)
    try:
        estimate = (
            costs.estimate(
                graph.resources,
                graph.stack,
                region=_region(args.stack, root),
                overrides=overrides,
                environment=environment,
            )
            if args.cost
            else None
        )
        base_estimate = (
            costs.estimate(
                base["resources"], str(base.get("stack")), overrides=overrides, environment=str(base.get("stack"))
            )
            if args.cost and base is not None
            else None
        )
    except costs.CostError as exc:
        print(f"error: {exc}", file=err)
        return 2

    if base is not None:
        result = diff.diff(base, graph.to_json())
        print(diff.render_markdown(result, base_estimate, estimate), file=out)
        print("\n" + findings_markdown(findings, graph.stack, environment), file=out)
    elif args.format == "json":
        json.dump(graph.to_json(), out, indent=2, sort_keys=False, default=str)
        out.write("\n")
    elif args.format == "mermaid":
        print(diagram.render(graph.resources, graph.stack), file=out)
    else:
        render_tree(graph, out, color=color)
        print("", file=out)
        print(findings_text(findings, graph.stack, environment, Style(color)), file=out)
        if estimate is not None:
            print("", file=out)
            print(costs.render_text(estimate, Style(color)), file=out)
    if args.format in ("json", "mermaid") and base is None:
        if estimate is not None:
            print(costs.render_text(estimate), file=err)
        if mandatory:
            print(findings_text(mandatory, graph.stack, environment), file=err)
    return 1 if mandatory else 0


class BaseError(Exception):
    """The --diff base document is missing or not a plan document."""


def _load_base(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except OSError as exc:
        raise BaseError(f"cannot read --diff base {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise BaseError(f"--diff base {path} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list):
        raise BaseError(f"--diff base {path} is not a plan document (write one with `plan --stack S --json`)")
    return doc


__all__ = ["main", "ROOT"]
