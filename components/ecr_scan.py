"""Wait for ECR's vulnerability scan of one image digest and judge its findings. Plain boto3, no Pulumi.

Used by the scan gate (``components/scan_gate.py``) inside ``pulumi up``, and usable on its own from a runbook.

* :func:`wait_for_scan` polls ``DescribeImageScanFindings`` for the digest until the scan is usable: ``COMPLETE``
  (basic scanning, or an enhanced scan's first result) or ``ACTIVE`` (enhanced scanning keeps the image under
  continuous scan). ``ScanNotFoundException`` with basic scanning starts a scan once (``StartImageScan``: an image
  pushed before scan-on-push was switched on, or a promoted copy); with enhanced scanning Amazon Inspector picks the
  image up by itself, so it waits. Every other end state (``FAILED``, ``UNSUPPORTED_IMAGE``,
  ``FINDINGS_UNAVAILABLE``, ...) and a timeout raise a :class:`ScanError` that says what to do.
* :func:`judge` sorts the findings into blocking, warned and waived ones against two severities and the repository's
  allowlist (:func:`parse_allowlist`): a waiver names one vulnerability id, a reason and an expiry date; an expired
  waiver is itself a failure, so waivers are revisited rather than forgotten.

Severities are ECR's ``FindingSeverity`` (basic) and Inspector's (enhanced): INFORMATIONAL < LOW < MEDIUM < HIGH <
CRITICAL; ``UNDEFINED`` and ``UNTRIAGED`` rank with INFORMATIONAL.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from botocore.exceptions import ClientError

SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
"""Thresholds a gate accepts, lowest first."""
SCAN_TYPES = ("basic", "enhanced")
_RANK = {**{s: i for i, s in enumerate(SEVERITIES)}, "UNDEFINED": 0, "UNTRIAGED": 0}
_USABLE = {"basic": ("COMPLETE",), "enhanced": ("COMPLETE", "ACTIVE")}
_WAITING = ("IN_PROGRESS", "PENDING")
_VULN_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]*$")
_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com[a-z.]*/(?P<repo>[^@:]+)"
    r"(:[^@]+)?@(?P<digest>sha256:[0-9a-f]{64})$"
)

Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ScanError(Exception):
    """Base class of every error raised here."""


class ScanTimeoutError(ScanError):
    """The scan did not reach a usable state within the timeout."""


class ScanUnavailableError(ScanError):
    """ECR cannot scan this image (unsupported image, failed scan, findings unavailable...)."""


class ScanBlockedError(ScanError):
    """Findings at or above the failing severity that no valid waiver covers, or an expired waiver."""


@dataclass(frozen=True)
class ImageRef:
    """An ECR image pinned by digest: ``<account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<64 hex>``."""

    account: str
    region: str
    repository: str
    digest: str

    @classmethod
    def parse(cls, uri: str) -> ImageRef:
        match = _IMAGE.match(uri)
        if not match:
            raise ScanError(
                f"{uri!r} is not an ECR image pinned by digest (<account>.dkr.ecr.<region>.amazonaws.com/<repo>"
                "@sha256:<64 hex>): the scan gate reads ECR's scan of exactly that digest"
            )
        return cls(match["account"], match["region"], match["repo"], match["digest"])


@dataclass(frozen=True)
class Finding:
    """One vulnerability in the image, from either scan type."""

    id: str
    severity: str
    package: str = ""
    uri: str = ""

    @property
    def rank(self) -> int:
        return _RANK.get(self.severity, 0)

    def line(self) -> str:
        where = f" in {self.package}" if self.package else ""
        link = f" ({self.uri})" if self.uri else ""
        return f"{self.severity} {self.id}{where}{link}"


@dataclass(frozen=True)
class Waiver:
    """An allowlist entry: ``id`` is accepted until ``expires`` (inclusive) for ``reason``."""

    id: str
    reason: str
    expires: dt.date

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def as_input(self) -> dict[str, str]:
        """The waiver as the gate's input (plain strings: Pulumi inputs and state are JSON)."""
        return {"id": self.id, "reason": self.reason, "expires": self.expires.isoformat()}


@dataclass(frozen=True)
class ScanResult:
    status: str
    findings: tuple[Finding, ...]
    completed_at: str = ""


@dataclass(frozen=True)
class Verdict:
    blocking: tuple[Finding, ...] = ()
    warned: tuple[Finding, ...] = ()
    waived: tuple[tuple[Finding, Waiver], ...] = ()
    expired: tuple[Waiver, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.blocking and not self.expired

    def message(self, image: str, fail_at: str) -> str:
        lines = [f"image {image}: the registry's scan blocks this update"]
        if self.blocking:
            lines.append(f"{len(self.blocking)} finding(s) at or above {fail_at} with no valid waiver:")
            lines += [f"  - {f.line()}" for f in self.blocking]
        if self.expired:
            lines.append("expired waiver(s) in the allowlist (renew them with a new reason and date, or remove them):")
            lines += [f"  - {w.id} expired {w.expires.isoformat()}: {w.reason}" for w in self.expired]
        lines.append(
            "fix: rebuild on a patched base image or dependency, or waive a finding in the allowlist with a reason "
            "and an expiry date (docs/scanning.md)"
        )
        return "\n".join(lines)


def parse_allowlist(data: Any, source: str = "allowlist") -> tuple[Waiver, ...]:
    """Trivy's ignore file (``.trivyignore.yaml``, already loaded): ``{"vulnerabilities": [{"id": ...,
    "statement": <reason>, "expired_at": YYYY-MM-DD}, ...]}`` -> waivers. Every entry needs all three; a statement of
    fewer than 10 characters, an unparsable date, ``paths``/``purls`` (ECR findings have no path, so the waiver would
    mean more here than in Trivy) or a duplicate id is refused, every problem in one :class:`ValueError`. Trivy's
    other sections (misconfigurations, secrets, licenses) are not the gate's business and are left alone."""
    if data is None:
        return ()
    if not isinstance(data, Mapping) or set(data) - {"vulnerabilities", "misconfigurations", "secrets", "licenses"}:
        raise ValueError(f"{source}: expected Trivy's ignore-file mapping with a vulnerabilities list")
    entries = data.get("vulnerabilities") or []
    if not isinstance(entries, list):
        raise ValueError(f"{source}: vulnerabilities must be a list")
    problems: list[str] = []
    waivers: list[Waiver] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{source}: vulnerabilities[{i}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: expected a mapping with id, statement and expired_at")
            continue
        unknown = sorted(set(entry) - {"id", "statement", "expired_at"})
        missing = [k for k in ("id", "statement", "expired_at") if not entry.get(k)]
        if unknown or missing:
            problems.append(
                f"{where}: "
                + "; ".join([*(f"no field {k} here" for k in unknown), *(f"{k} is required" for k in missing)])
            )
            continue
        vuln, reason, expires = str(entry["id"]), str(entry["statement"]).strip(), entry["expired_at"]
        if not _VULN_ID.match(vuln):
            problems.append(f"{where}: id {vuln!r} is not a vulnerability id such as CVE-2024-12345 or GHSA-xxxx-xxxx")
        if len(reason) < 10:
            problems.append(f"{where}: statement {reason!r} says too little (at least 10 characters: why is it safe?)")
        if isinstance(expires, dt.datetime):
            expires = expires.date()
        if not isinstance(expires, dt.date):
            try:
                expires = dt.date.fromisoformat(str(expires))
            except ValueError:
                problems.append(f"{where}: expired_at {expires!r} is not a date (YYYY-MM-DD)")
                continue
        if vuln in seen:
            problems.append(f"{where}: {vuln} is waived twice")
        seen.add(vuln)
        waivers.append(Waiver(vuln, reason, expires))
    if problems:
        raise ValueError("\n".join(problems))
    return tuple(waivers)


def waivers_from_inputs(items: Iterable[Mapping[str, str]]) -> tuple[Waiver, ...]:
    """The gate's ``waivers`` input back into :class:`Waiver` objects."""
    return tuple(Waiver(i["id"], i["reason"], dt.date.fromisoformat(i["expires"])) for i in items)


def judge(
    findings: Sequence[Finding],
    fail_at: str,
    warn_at: str,
    waivers: Sequence[Waiver] = (),
    today: Optional[dt.date] = None,
) -> Verdict:
    """Findings at or above ``fail_at`` block unless a waiver that has not expired names them; those at or above
    ``warn_at`` (and below ``fail_at``) are warned about. Every expired waiver blocks, whether it matches or not."""
    today = today or dt.datetime.now(dt.UTC).date()
    fail_rank, warn_rank = _RANK[fail_at], _RANK[warn_at]
    valid = {w.id: w for w in waivers if not w.expired(today)}
    blocking, warned, waived = [], [], []
    for finding in sorted(findings, key=lambda f: (-f.rank, f.id)):
        if finding.rank >= fail_rank:
            if finding.id in valid:
                waived.append((finding, valid[finding.id]))
            else:
                blocking.append(finding)
        elif finding.rank >= warn_rank:
            warned.append(finding)
    expired = tuple(w for w in waivers if w.expired(today))
    return Verdict(tuple(blocking), tuple(warned), tuple(waived), expired)


def _findings(page: Mapping[str, Any]) -> list[Finding]:
    found = page.get("imageScanFindings") or {}
    out = [
        Finding(
            id=f.get("name", "?"),
            severity=f.get("severity", "UNDEFINED"),
            uri=f.get("uri", ""),
            package=_basic_package(f.get("attributes") or []),
        )
        for f in found.get("findings") or []
    ]
    for f in found.get("enhancedFindings") or []:
        details = f.get("packageVulnerabilityDetails") or {}
        packages = [
            f"{p.get('name', '?')} {p.get('version', '')}".strip() for p in details.get("vulnerablePackages") or []
        ]
        out.append(
            Finding(
                id=details.get("vulnerabilityId") or f.get("title") or f.get("findingArn", "?"),
                severity=f.get("severity", "UNTRIAGED"),
                package=", ".join(packages),
                uri=details.get("sourceUrl", ""),
            )
        )
    return out


def _basic_package(attributes: Sequence[Mapping[str, str]]) -> str:
    values = {a.get("key"): a.get("value", "") for a in attributes}
    name = values.get("package_name", "")
    return f"{name} {values.get('package_version', '')}".strip() if name else ""


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def wait_for_scan(
    ecr: Any,
    image: ImageRef,
    scan_type: str = "basic",
    timeout_s: float = 600,
    poll_s: float = 10,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress = _stderr,
) -> ScanResult:
    """Poll the scan of ``image`` until it is usable; return its status and every finding (all pages)."""
    if scan_type not in SCAN_TYPES:
        raise ScanError(f"scan_type={scan_type!r}: use {' or '.join(SCAN_TYPES)}")
    what = f"{image.repository}@{image.digest}"
    query = {"registryId": image.account, "repositoryName": image.repository, "imageId": {"imageDigest": image.digest}}
    deadline = clock() + timeout_s
    started = False
    last = "no scan yet"
    while True:
        try:
            page = ecr.describe_image_scan_findings(**query, maxResults=1000)
        except ClientError as err:
            code = _error_code(err)
            if code != "ScanNotFoundException":
                raise ScanUnavailableError(f"{what}: DescribeImageScanFindings failed: {code}: {err}") from err
            if scan_type == "basic" and not started:
                started = True
                _start_scan(ecr, query, what, progress)
            last = "no scan yet (ScanNotFoundException)"
        else:
            status = (page.get("imageScanStatus") or {}).get("status", "")
            description = (page.get("imageScanStatus") or {}).get("description", "")
            if status in _USABLE[scan_type]:
                findings = _findings(page)
                while page.get("nextToken"):
                    page = ecr.describe_image_scan_findings(**query, maxResults=1000, nextToken=page["nextToken"])
                    findings += _findings(page)
                completed = (page.get("imageScanFindings") or {}).get("imageScanCompletedAt")
                progress(f"scan of {what}: {status}, {len(findings)} finding(s)")
                return ScanResult(status, tuple(findings), completed.isoformat() if completed else "")
            if status not in _WAITING:
                hint = {
                    "UNSUPPORTED_IMAGE": "ECR cannot scan this image's operating system (basic scanning supports "
                    "Debian, Ubuntu, Alpine, Amazon Linux and a few more; Inspector enhanced scanning covers more)",
                    "ACTIVE": "basic scanning was asked for, but the registry scans with Amazon Inspector: set the "
                    "gate's scan type to enhanced",
                }.get(status, "see the description; re-run `pulumi up` once the registry can scan the image")
                raise ScanUnavailableError(
                    f"{what}: the registry's scan is {status}: {description or 'no description'}; {hint}"
                )
            last = f"{status}: {description}" if description else status
        if clock() >= deadline:
            raise ScanTimeoutError(
                f"{what}: the registry's {scan_type} scan did not complete within {timeout_s:.0f} s (last state: "
                f"{last}). Nothing was deployed; re-run `pulumi up` to wait again, or raise the scan timeout"
            )
        progress(f"scan of {what}: {last}; waiting")
        sleep(poll_s)


def _start_scan(ecr: Any, query: Mapping[str, Any], what: str, progress: Progress) -> None:
    try:
        ecr.start_image_scan(**query)
        progress(f"scan of {what}: none found, started one (StartImageScan)")
    except ClientError as err:
        code = _error_code(err)
        if code == "UnsupportedImageTypeException":
            raise ScanUnavailableError(f"{what}: ECR cannot scan this image type ({err})") from err
        if code != "LimitExceededException":  # one basic scan per image per day: one may be running already
            raise ScanUnavailableError(f"{what}: StartImageScan failed: {code}: {err}") from err
