"""The Pulumi policy pack: every rule of ``rules.py`` as a ``ResourceValidationPolicy``, every stack rule (a property
of the whole graph, such as "each VPC has a flow log") as a ``StackValidationPolicy``.

``pulumi preview --policy-pack policy`` runs this file as ``python policy/`` (so ``rules`` is imported from this
directory); tests import it as ``policy.__main__`` and call :func:`build_policies` without starting the server.

Enforcement per environment: Pulumi hands an analyzer the stack's config in ``PULUMI_CONFIG`` and its name in
``PULUMI_STACK``. ``slipway:environment`` (else the stack name) picks the levels: dev relaxes only the documented
cost trade-offs to advisory, every other environment gets all rules mandatory. A single rule can still be overridden
with Pulumi's own ``--policy-pack-config`` file (``{"rds-multi-az": "advisory"}``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any, Optional

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

try:
    from . import rules  # imported as the package ``policy`` (tests, the offline plan)
except ImportError:  # run by Pulumi as ``python policy/``: this directory is sys.path[0]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import rules  # type: ignore[no-redef]

LEVELS = {rules.MANDATORY: EnforcementLevel.MANDATORY, rules.ADVISORY: EnforcementLevel.ADVISORY}


def environment_from(env: Mapping[str, str]) -> str:
    """The environment whose levels apply, from the analyzer's process environment."""
    configured: Optional[str] = None
    try:
        configured = json.loads(env.get("PULUMI_CONFIG") or "{}").get("slipway:environment")
    except (ValueError, AttributeError):
        configured = None
    return rules.environment_for(env.get("PULUMI_STACK"), configured)


def _validator(rule: rules.Rule):  # noqa: ANN202 (pulumi_policy's ResourceValidation signature)
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        props: Mapping[str, Any] = args.props
        for message in rule.check(args.resource_type, props):
            report_violation(f"{message}. Fix: {rule.remediation}", None)

    return validate


def _framework(fsbp: Optional[str]) -> Optional[PolicyComplianceFramework]:
    """The AWS Foundational Security Best Practices control a rule implements, where one exists."""
    if not fsbp:
        return None
    return PolicyComplianceFramework(name="AWS Foundational Security Best Practices", version="1.0.0", reference=fsbp)


def _stack_validator(rule: rules.StackRule):  # noqa: ANN202 (pulumi_policy's StackValidation signature)
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            {
                "type": r.resource_type,
                "urn": r.urn,
                "name": r.name,
                "dependencies": [d.urn for d in (r.dependencies or [])],
                "inputs": r.props,
                "protect": bool(r.opts and r.opts.protect),
            }
            for r in args.resources
        ]
        for resource, message in rule.check(resources):
            report_violation(f"{message}. Fix: {rule.remediation}", resource["urn"])

    return validate


def build_policies(environment: str) -> list[Policy]:
    policies: list[Policy] = []
    for rule in rules.RULES:
        framework = _framework(rule.fsbp)
        policies.append(
            ResourceValidationPolicy(
                name=rule.id,
                description=rule.description + (f" ({rule.fsbp})" if rule.fsbp else ""),
                validate=_validator(rule),
                enforcement_level=LEVELS[rule.level(environment)],
                framework=framework,
                remediation_steps=rule.remediation,
            )
        )
    for stack_rule in rules.STACK_RULES:
        policies.append(
            StackValidationPolicy(
                name=stack_rule.id,
                description=stack_rule.description + (f" ({stack_rule.fsbp})" if stack_rule.fsbp else ""),
                validate=_stack_validator(stack_rule),
                enforcement_level=LEVELS[stack_rule.level(environment)],
                framework=_framework(stack_rule.fsbp),
                remediation_steps=stack_rule.remediation,
            )
        )
    return policies


if __name__ == "__main__":
    PolicyPack(
        name="slipway-baselines",
        policies=build_policies(environment_from(os.environ)),
        enforcement_level=EnforcementLevel.MANDATORY,
    )
