"""ScanGate: during ``pulumi up``, wait for the registry's vulnerability scan of the exact image digest about to be
deployed and fail the update on findings at or above a severity, before the migration task or the service use it.

It sits between the image (built and pushed by ``AppImage``, or copied by ``ImagePromotion``) and the migration
gate: ``WebApp`` makes the migration gate (and the service) depend on it, so a blocked image never runs a migration
nor replaces a task. The provider (``ScanGateProvider``) calls :func:`components.ecr_scan.wait_for_scan` and
:func:`components.ecr_scan.judge` on create, and on update when the digest, the thresholds, the scan type or the
waivers changed; ``preview`` checks the inputs only; ``delete`` does nothing. Findings below the failing severity
and at or above the warning severity are listed on the provider's stderr and in the ``warnings`` output.

The allowlist is a YAML file in the repository (:func:`load_allowlist`); its waivers are inputs of the gate, so a new
waiver re-runs the scan judgement on the next ``pulumi up`` and shows in the plan's diff.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult

from . import ecr_scan
from .docs import document_fields
from .gates import _known, _WaitingProvider

SCAN_TRIGGERS = ("image", "scan_type", "fail_at", "warn_at", "waivers")
"""Inputs whose change re-runs the gate. A timeout or profile change does not."""
DEFAULT_ALLOWLIST = ".trivyignore.yaml"
"""The repository's allowlist, relative to the project directory."""


def load_allowlist(path: str, required: bool = False) -> tuple[ecr_scan.Waiver, ...]:
    """The waivers in the YAML file at ``path``; none when it does not exist and is not ``required``. Bad entries
    raise one :class:`ValueError` naming the file and every problem (before any resource is registered)."""
    import yaml

    file = Path(path)
    if not file.exists():
        if required:
            raise ValueError(f"scan allowlist {path}: no such file")
        return ()
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ValueError(f"scan allowlist {path}: not YAML: {err}") from err
    except (OSError, UnicodeDecodeError) as err:  # a directory, no permission, not text
        raise ValueError(f"scan allowlist {path}: not a readable YAML file ({err.__class__.__name__})") from err
    return ecr_scan.parse_allowlist(data, source=path)


class ScanGateProvider(_WaitingProvider):
    """Waits for the scan and judges it; see the module docstring."""

    triggers = SCAN_TRIGGERS
    required = ("image", "scan_type", "fail_at", "warn_at")

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        result = super().check(_olds, news)
        image = news.get("image")
        if isinstance(image, str) and _known(image):
            try:
                ecr_scan.ImageRef.parse(image)
            except ecr_scan.ScanError as err:
                result.failures.append(CheckFailure("image", str(err)))
        for key, allowed in (("fail_at", ecr_scan.SEVERITIES), ("warn_at", ecr_scan.SEVERITIES)):
            value = news.get(key)
            if _known(value) and value not in allowed:
                result.failures.append(CheckFailure(key, f"{key}={value!r}: use one of {', '.join(allowed)}"))
        if _known(news.get("scan_type")) and news.get("scan_type") not in ecr_scan.SCAN_TYPES:
            result.failures.append(CheckFailure("scan_type", "scan_type: use basic or enhanced"))
        return result

    def act(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        import boto3

        image = ecr_scan.ImageRef.parse(props["image"])
        session = boto3.Session(profile_name=props.get("aws_profile") or None)
        ecr = session.client("ecr", region_name=image.region)
        scan = ecr_scan.wait_for_scan(
            ecr,
            image,
            scan_type=props["scan_type"],
            timeout_s=float(props.get("timeout_s") or 600),
        )
        verdict = ecr_scan.judge(
            scan.findings,
            fail_at=props["fail_at"],
            warn_at=props["warn_at"],
            waivers=ecr_scan.waivers_from_inputs(props.get("waivers") or []),
        )
        if not verdict.passed:
            raise ecr_scan.ScanBlockedError(verdict.message(props["image"], props["fail_at"]))
        warnings = [f.line() for f in verdict.warned]
        for line in warnings:
            print(f"warning: {props['image']}: {line}", file=sys.stderr, flush=True)
        return f"scan-{image.digest[7:19]}", {
            "scan_status": scan.status,
            "finding_count": len(scan.findings),
            "warnings": warnings,
            "waived": [f"{f.id} (until {w.expires.isoformat()}: {w.reason})" for f, w in verdict.waived],
            "scanned_at": scan.completed_at or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


@document_fields
@dataclass(frozen=True)
class ScanGateArgs:
    image: pulumi.Input[str]
    """The image to judge, an ECR URI pinned by digest (``<acct>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:...``).
    Required."""
    scan_type: str = "basic"
    """``basic`` (ECR's own scan, on push or started by the gate) or ``enhanced`` (Amazon Inspector; the registry's
    scanning configuration must be ENHANCED). Default ``basic``."""
    fail_at: str = "HIGH"
    """Lowest severity that fails the update: INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL. Default ``HIGH`` (the
    prod profile; dev uses CRITICAL)."""
    warn_at: str = "MEDIUM"
    """Lowest severity listed as a warning (below ``fail_at``). Default ``MEDIUM`` (dev uses HIGH)."""
    waivers: Sequence[ecr_scan.Waiver] = field(default_factory=tuple)
    """Accepted findings, each with a reason and an expiry date (:func:`load_allowlist`); an expired one fails the
    update. Default none."""
    timeout_s: int = 600
    """Seconds to wait for the scan to complete, 60-3600. Default 600 (a basic scan takes a minute or two)."""
    aws_profile: Optional[str] = None
    """Named AWS profile for the gate's calls (the stack's ``aws:profile``). Default None: default credentials."""

    def __post_init__(self) -> None:
        """Refuse every bad field at once, before the component or any child exists."""
        problems = []
        if self.scan_type not in ecr_scan.SCAN_TYPES:
            problems.append(f"scan_type={self.scan_type!r}: use basic or enhanced")
        for name in ("fail_at", "warn_at"):
            if getattr(self, name) not in ecr_scan.SEVERITIES:
                problems.append(f"{name}={getattr(self, name)!r}: use one of {', '.join(ecr_scan.SEVERITIES)}")
        if not problems and ecr_scan.SEVERITIES.index(self.warn_at) > ecr_scan.SEVERITIES.index(self.fail_at):
            problems.append(f"warn_at={self.warn_at} is above fail_at={self.fail_at}: warn at the same level or below")
        if not 60 <= self.timeout_s <= 3600:
            problems.append(f"timeout_s={self.timeout_s}: use 60..3600 seconds")
        if isinstance(self.image, str) and "@sha256:" not in self.image:
            problems.append(f"image={self.image!r} is not pinned by digest")
        if problems:
            raise ValueError("ScanGateArgs: " + "; ".join(problems))


class ScanGate(pulumi.dynamic.Resource, module="slipway", name="ScanGate"):
    """Fails ``pulumi up`` on a blocked image. Outputs: ``image`` (the judged digest: depend on it), ``warnings``."""

    image: pulumi.Output[str]
    warnings: pulumi.Output[list[str]]

    def __init__(self, name: str, args: ScanGateArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        props = {
            "image": args.image,
            "scan_type": args.scan_type,
            "fail_at": args.fail_at,
            "warn_at": args.warn_at,
            "waivers": [w.as_input() for w in args.waivers],
            "timeout_s": args.timeout_s,
            "aws_profile": args.aws_profile,
            "scan_status": None,
            "finding_count": None,
            "warnings": None,
            "waived": None,
            "scanned_at": None,
        }
        super().__init__(ScanGateProvider(), name, props, opts)
