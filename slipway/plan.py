"""``slipway plan --stack dev``: the stack's resources, offline, as a tree, JSON or a Mermaid diagram, with policy
findings, an estimated monthly bill and a Markdown diff against a saved plan (``--diff``).

Every command finds its project as the Pulumi CLI does: the nearest ``Pulumi.yaml`` from the current directory (or
``--cwd DIR``) upwards, so a team's own program in its own folder is planned, priced and given its deploy policy
there.

Exit status: 0 on success, 1 when a mandatory policy rule fails, 2 when the project or stack file is missing or not
YAML (one line naming file, line and column), or the stack's configuration, a component's Args, a ``--diff`` base or
an ``--assume`` override is invalid, with the error on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Optional, TextIO

from . import cost as costs
from . import diagram, diff
from .offline import Resource, ResourceGraph, SecretValue, StackFileError, find_project, load_config, run_stack

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


class Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text


def render_tree(graph: ResourceGraph, out: TextIO, color: bool) -> None:
    style = Style(color)
    known = {r.urn for r in graph.resources}
    roots = [r for r in graph.resources if r.parent not in known]
    width = max(len(r.type) for r in graph.resources) + 2
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
        kind = resource.type  # as Pulumi and transforms spell it: aws:lb/loadBalancer:LoadBalancer
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


CWD_HELP = (
    "run as if started in DIR, as `pulumi --cwd DIR` does: the project is the nearest Pulumi.yaml from DIR upwards "
    "(default: from the current directory)"
)
EXIT_STATUS = (
    "exit status: 0 success; 1 a mandatory policy rule fails; 2 the project, stack file, configuration, a component's "
    "Args, --diff base or --assume value is invalid (the error on stderr, never a traceback)"
)


def version() -> str:
    """The installed distribution's version (the source tree's ``slipway_aws.__version__`` when not installed)."""
    from importlib import metadata

    try:
        return metadata.version("slipway-aws")
    except metadata.PackageNotFoundError:
        from slipway_aws import __version__

        return str(__version__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slipway",
        description=(
            "Plan, price, check and operate a Pulumi Python project built with slipway's components, offline: no "
            "AWS account and no Pulumi CLI needed except for `drill`, which calls AWS."
        ),
        epilog="`slipway COMMAND --help` describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--cwd", type=Path, metavar="DIR", default=argparse.SUPPRESS, help=CWD_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plan = sub.add_parser(
        "plan",
        help="run the stack program offline and show what it would create, its policy findings and its monthly cost",
        description=(
            "Run the project's program for one stack under Pulumi's mock runtime (nothing is deployed) and print "
            "every resource it registers as a tree, with the policy findings and the estimated monthly cost; or "
            "the plan as JSON, as a Mermaid diagram, or as a Markdown diff against a saved JSON plan."
        ),
        epilog=EXIT_STATUS,
    )
    plan.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml beside Pulumi.yaml)")
    plan.add_argument(
        "--format",
        choices=("text", "json", "mermaid"),
        default="text",
        help="output format: text tree with findings and cost (default), json document, or a Mermaid diagram",
    )
    plan.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    plan.add_argument(
        "--cost",
        action="store_true",
        help=(
            "also print the monthly cost estimate with --json or --format mermaid (on stderr), and the cost delta "
            "with --diff; the text plan always shows it"
        ),
    )
    plan.add_argument(
        "--assume",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a usage assumption of the cost estimate, e.g. --assume log_gb=5 (repeatable)",
    )
    plan.add_argument(
        "--policy-config",
        type=Path,
        metavar="FILE",
        help="per-rule enforcement levels, the file `pulumi up --policy-pack-config FILE` is given",
    )
    plan.add_argument(
        "--diff",
        metavar="BASE.json",
        help="compare with a saved `--json` plan and print a Markdown summary for a pull request",
    )
    policy = sub.add_parser(
        "deploy-policy",
        help="print the least-privilege IAM policy CI's deploy role needs for this stack (from its graph)",
        description=(
            "Generate the least-privilege IAM policy a CI deploy role needs to create, update and delete exactly "
            "this stack's resources, from the stack's own offline graph; with --out-dir, also the permissions "
            "boundary and the GitHub OIDC trust policy. A preview stack (--stack pr-<n>) gets the policy of the one "
            "preview deploy role of every pr-* stack (files deploy-policy-preview-N.json, role-boundary-preview.json, "
            "github-oidc-trust-preview.json)."
        ),
        epilog="exit status: 0 success; 2 the project, stack file or configuration is invalid (error on stderr)",
    )
    policy.add_argument("--stack", required=True, help="stack name (reads Pulumi.<stack>.yaml beside Pulumi.yaml)")
    policy.add_argument("--account", default="ACCOUNT_ID", help="AWS account id to put in ARNs (default ACCOUNT_ID)")
    policy.add_argument(
        "--state-bucket",
        default="STATE_BUCKET",
        help="S3 bucket of the Pulumi state backend (default STATE_BUCKET)",
    )
    policy.add_argument("--out-dir", help="write managed-policy-sized documents deploy-policy-<stack>-N.json here")
    policy.add_argument(
        "--https-listener-arn",
        metavar="ARN",
        help=(
            "preview stacks only: the source stack's HTTPS listener, the only one preview rules may be created on "
            "(`pulumi stack output preview --stack dev`, https_listener_arn; default a LISTENER_ID placeholder)"
        ),
    )
    sub.add_parser(
        "schema",
        help="print the Pulumi package schema other languages see (what `pulumi package get-schema` prints)",
        description=(
            "Print, as JSON, the Pulumi package schema of slipway's components: what `pulumi package get-schema` "
            "prints for the component provider, from which other languages' SDKs are generated. It is the same for "
            "every project."
        ),
    )
    from . import drill

    drill.add_parser(sub)
    from . import copilot_import, day2  # logs, status, exec, run, rollback on a deployed stack; import copilot

    day2.add_parsers(sub)
    copilot_import.add_parser(sub)
    for command in sub.choices.values():  # every command takes --cwd, before or after its name
        command.add_argument("--cwd", type=Path, metavar="DIR", default=argparse.SUPPRESS, help=CWD_HELP)
    return parser


def color_enabled(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


def _environment(stack: str, root: Optional[Path] = None) -> str:
    from slipway_policy.rules import environment_for

    try:
        project, config, _ = load_config(stack, root)
    except StackFileError:
        return environment_for(stack)
    return environment_for(stack, config.get(f"{project}:environment") or config.get(f"{project}:profile"))


def _region(stack: str, root: Optional[Path] = None) -> Optional[str]:
    try:
        return load_config(stack, root)[1].get("aws:region")
    except StackFileError:
        return None


@contextlib.contextmanager
def working_directory(directory: Optional[Path]) -> Iterator[None]:
    """``--cwd DIR``: run as if started there (restored afterwards, for callers of :func:`main` in-process)."""
    if directory is None:
        yield
        return
    if not directory.is_dir():
        raise StackFileError(f"--cwd {directory}: no such directory")
    previous = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "schema":
        from slipway_aws.provider import schema

        json.dump(schema(), out, indent=2)
        out.write("\n")
        return 0
    try:
        with working_directory(getattr(args, "cwd", None)):
            return _command(args, out, err)
    except StackFileError as exc:
        print(f"error: {exc}", file=err)
        return 2


def cli() -> int:
    """The ``slipway`` command: :func:`main` on the process's streams; a reader that stops early (``| head``) ends
    the output quietly, as with any Unix filter."""
    try:
        status = main()
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own recipe (library/signal.html, "Note on SIGPIPE")
        return 141  # 128 + SIGPIPE, what a shell reports for a filter stopped by a closed pipe


def _command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.command in ("logs", "status", "exec", "run", "rollback"):
        from . import day2

        return day2.main(args, out, err)
    if args.command == "import":
        from . import copilot_import

        return copilot_import.main(args, out, err)
    if args.command == "drill":
        from . import drill

        return drill.main(args, out, err)
    if args.command == "deploy-policy":
        from . import deploy_policy

        return deploy_policy.main(args, out, err)
    return _plan(args, out, err)


def _plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from slipway_aws.config import ConfigError
    from slipway_aws.validation import ArgsError
    from slipway_policy.rules import evaluate

    from .policy_report import render_markdown as findings_markdown
    from .policy_report import render_text as findings_text

    try:
        root = find_project()
        overrides = costs.parse_assumptions(args.assume)
        environment = _environment(args.stack, root)
        costs.assumptions_for(environment, overrides)  # reject unknown keys before the run
        base = _load_base(args.diff) if args.diff else None
        levels = _policy_levels(args.policy_config) if args.policy_config else {}
        graph = run_stack(args.stack, root=root)
    except (ConfigError, ArgsError, StackFileError, costs.CostError, BaseError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    findings = [
        dataclasses.replace(f, level=levels.get(f.rule, f.level)) for f in evaluate(graph.resources, environment)
    ]
    findings.sort(key=lambda f: (not f.mandatory, f.rule, f.name))
    mandatory = [f for f in findings if f.mandatory]
    color = color_enabled(out)
    show_cost = args.cost or (args.format == "text" and base is None)
    estimate = (
        costs.estimate(
            graph.resources,
            graph.stack,
            region=_region(args.stack, root),
            overrides=overrides,
            environment=environment,
        )
        if show_cost
        else None
    )
    base_estimate = (
        costs.estimate(
            base["resources"],
            str(base.get("stack")),
            overrides=overrides,
            environment=str(base.get("stack")),
        )
        if args.cost and base is not None
        else None
    )

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


def _policy_levels(path: Path) -> dict[str, str]:
    """Rule -> level from a Pulumi policy pack config file (``{"rule": "advisory"}`` or ``{"rule":
    {"enforcementLevel": "advisory"}}``), so the plan enforces what ``pulumi up --policy-pack-config`` would."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BaseError(f"cannot read --policy-config {path}: {exc}") from None
    levels = {}
    for rule, value in doc.items() if isinstance(doc, dict) else []:
        level = value.get("enforcementLevel") if isinstance(value, dict) else value
        if level not in ("mandatory", "advisory"):
            raise BaseError(f"--policy-config {path}: {rule} has level {level!r}; use mandatory or advisory")
        levels[rule] = level
    return levels


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


__all__ = ["cli", "main"]
