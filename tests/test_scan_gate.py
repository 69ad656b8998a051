"""The scan gate: ECR's DescribeImageScanFindings through botocore's Stubber (every response and request is checked
against the ECR API model), the severity/waiver judgement, the provider, and its place in both stacks' graphs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from slipway.offline import Resource, ResourceGraph
from slipway_aws import ecr_scan, ecs_runner, gates, scan_gate
from slipway_aws.ecr_scan import Finding, ImageRef, Waiver

DIGEST = "sha256:" + "c" * 64
IMAGE = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/slipway-dev@{DIGEST}"
REF = ImageRef.parse(IMAGE)
QUERY = {
    "registryId": "123456789012",
    "repositoryName": "slipway-dev",
    "imageId": {"imageDigest": DIGEST},
    "maxResults": 1000,
}
SCAN = "pulumi-python:dynamic/slipway:ScanGate"
MIGRATION = "pulumi-python:dynamic/slipway:MigrationGate"
TODAY = dt.date(2026, 12, 6)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def basic(name: str, severity: str, package: str = "openssl") -> dict[str, Any]:
    return {
        "name": name,
        "severity": severity,
        "uri": f"https://security-tracker.debian.org/tracker/{name}",
        "attributes": [{"key": "package_name", "value": package}, {"key": "package_version", "value": "3.0.15"}],
    }


def response(status: str, findings: list[dict[str, Any]] = (), **extra: Any) -> dict[str, Any]:  # type: ignore[assignment]
    body: dict[str, Any] = {
        "registryId": "123456789012",
        "repositoryName": "slipway-dev",
        "imageId": {"imageDigest": DIGEST},
        "imageScanStatus": {"status": status, "description": f"The scan is {status.lower()}."},
    }
    if status in ("COMPLETE", "ACTIVE"):
        body["imageScanFindings"] = {
            "imageScanCompletedAt": dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC),
            "findings": list(findings),
            **extra.pop("scan_findings", {}),
        }
    body.update(extra)
    return body


def ecr_client() -> Any:
    return boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


def wait(ecr: Any, clock: FakeClock, scan_type: str = "basic", timeout_s: float = 600) -> ecr_scan.ScanResult:
    return ecr_scan.wait_for_scan(
        ecr,
        REF,
        scan_type=scan_type,
        timeout_s=timeout_s,
        poll_s=10,
        clock=clock,
        sleep=clock.sleep,
        progress=lambda _line: None,
    )


def test_a_complete_basic_scan_returns_every_finding_of_every_page() -> None:
    ecr, clock = ecr_client(), FakeClock()
    with Stubber(ecr) as stub:
        stub.add_response("describe_image_scan_findings", response("IN_PROGRESS"), QUERY)
        stub.add_response(
            "describe_image_scan_findings",
            response("COMPLETE", [basic("CVE-2025-0001", "CRITICAL")], nextToken="page2"),
            QUERY,
        )
        stub.add_response(
            "describe_image_scan_findings",
            response("COMPLETE", [basic("CVE-2025-0002", "LOW", "zlib")]),
            {**QUERY, "nextToken": "page2"},
        )
        result = wait(ecr, clock)
        stub.assert_no_pending_responses()
    assert result.status == "COMPLETE"
    assert [(f.id, f.severity, f.package) for f in result.findings] == [
        ("CVE-2025-0001", "CRITICAL", "openssl 3.0.15"),
        ("CVE-2025-0002", "LOW", "zlib 3.0.15"),
    ]
    assert clock.sleeps == [10]


def test_no_scan_yet_starts_one_basic_scan_then_waits_for_it() -> None:
    ecr, clock = ecr_client(), FakeClock()
    start = {k: v for k, v in QUERY.items() if k != "maxResults"}
    with Stubber(ecr) as stub:
        stub.add_client_error("describe_image_scan_findings", "ScanNotFoundException", "no scan", 400, QUERY)
        stub.add_response(
            "start_image_scan",
            {"imageId": {"imageDigest": DIGEST}, "imageScanStatus": {"status": "IN_PROGRESS"}},
            start,
        )
        stub.add_response("describe_image_scan_findings", response("IN_PROGRESS"), QUERY)
        stub.add_response("describe_image_scan_findings", response("COMPLETE", []), QUERY)
        assert wait(ecr, clock).findings == ()
        stub.assert_no_pending_responses()


def test_a_scan_that_never_completes_times_out_with_the_last_state() -> None:
    ecr, clock = ecr_client(), FakeClock()
    with Stubber(ecr) as stub:
        for _ in range(7):
            stub.add_response("describe_image_scan_findings", response("IN_PROGRESS"), QUERY)
        with pytest.raises(ecr_scan.ScanTimeoutError) as err:
            wait(ecr, clock, timeout_s=60)
    message = str(err.value)
    assert "did not complete within 60 s" in message and "IN_PROGRESS" in message and "re-run `pulumi up`" in message
    assert f"slipway-dev@{DIGEST}" in message
    assert clock.now == 60


def test_enhanced_scanning_waits_for_inspector_instead_of_starting_a_basic_scan() -> None:
    ecr, clock = ecr_client(), FakeClock()
    enhanced = {
        "enhancedFindings": [
            {
                "severity": "CRITICAL",
                "title": "CVE-2025-0003 - libexpat1",
                "status": "ACTIVE",
                "packageVulnerabilityDetails": {
                    "vulnerabilityId": "CVE-2025-0003",
                    "sourceUrl": "https://nvd.nist.gov/vuln/detail/CVE-2025-0003",
                    "vulnerablePackages": [{"name": "libexpat1", "version": "2.5.0"}],
                },
            }
        ]
    }
    with Stubber(ecr) as stub:  # no start_image_scan response queued: calling it would fail the test
        stub.add_client_error("describe_image_scan_findings", "ScanNotFoundException", "no scan", 400, QUERY)
        stub.add_response("describe_image_scan_findings", response("PENDING"), QUERY)
        stub.add_response("describe_image_scan_findings", response("ACTIVE", scan_findings=enhanced), QUERY)
        result = wait(ecr, clock, scan_type="enhanced")
    assert result.findings == (
        Finding("CVE-2025-0003", "CRITICAL", "libexpat1 2.5.0", "https://nvd.nist.gov/vuln/detail/CVE-2025-0003"),
    )


@pytest.mark.parametrize(
    ("status", "scan_type", "says"),
    [
        ("UNSUPPORTED_IMAGE", "basic", "cannot scan this image's operating system"),
        ("FAILED", "basic", "FAILED"),
        ("FINDINGS_UNAVAILABLE", "enhanced", "FINDINGS_UNAVAILABLE"),
        ("ACTIVE", "basic", "set the gate's scan type to enhanced"),
    ],
)
def test_a_scan_that_cannot_be_used_fails_at_once(status: str, scan_type: str, says: str) -> None:
    ecr, clock = ecr_client(), FakeClock()
    with Stubber(ecr) as stub:
        body = response(status)
        body.pop("imageScanFindings", None)
        stub.add_response("describe_image_scan_findings", body, QUERY)
        with pytest.raises(ecr_scan.ScanUnavailableError, match=says):
            wait(ecr, clock, scan_type=scan_type)
    assert clock.sleeps == []


def test_an_image_ecr_cannot_scan_is_refused_when_the_gate_starts_the_scan() -> None:
    ecr, clock = ecr_client(), FakeClock()
    with Stubber(ecr) as stub:
        stub.add_client_error("describe_image_scan_findings", "ScanNotFoundException", "no scan", 400, QUERY)
        stub.add_client_error("start_image_scan", "UnsupportedImageTypeException", "unsupported", 400)
        with pytest.raises(ecr_scan.ScanUnavailableError, match="cannot scan this image type"):
            wait(ecr, clock)


def test_a_missing_image_is_an_error_not_a_wait() -> None:
    ecr, clock = ecr_client(), FakeClock()
    with Stubber(ecr) as stub:
        stub.add_client_error("describe_image_scan_findings", "ImageNotFoundException", "gone", 400, QUERY)
        with pytest.raises(ecr_scan.ScanUnavailableError, match="ImageNotFoundException"):
            wait(ecr, clock)


FINDINGS = (
    Finding("CVE-2025-0001", "CRITICAL"),
    Finding("CVE-2025-0002", "HIGH"),
    Finding("CVE-2025-0004", "MEDIUM"),
    Finding("CVE-2025-0005", "UNDEFINED"),
)


def profile_thresholds(profile: str) -> dict[str, str]:
    """WebAppArgs' per-profile scan thresholds (its knobs), as the gate's fail_at / warn_at."""
    from slipway_aws.knobs import knobs
    from slipway_aws.webapp_args import WebAppArgs

    spec = knobs(WebAppArgs)
    return {
        "fail_at": getattr(spec["scan_fail_severity"], profile),
        "warn_at": getattr(spec["scan_warn_severity"], profile),
    }


def test_dev_fails_on_critical_and_warns_on_high() -> None:
    verdict = ecr_scan.judge(FINDINGS, **profile_thresholds("dev"), today=TODAY)
    assert [f.id for f in verdict.blocking] == ["CVE-2025-0001"]
    assert [f.id for f in verdict.warned] == ["CVE-2025-0002"]
    assert not verdict.passed


def test_prod_fails_on_high_and_warns_on_medium() -> None:
    verdict = ecr_scan.judge(FINDINGS, **profile_thresholds("prod"), today=TODAY)
    assert [f.id for f in verdict.blocking] == ["CVE-2025-0001", "CVE-2025-0002"]
    assert [f.id for f in verdict.warned] == ["CVE-2025-0004"]


def test_a_valid_waiver_lets_its_finding_through_and_an_expired_one_fails() -> None:
    valid = Waiver("CVE-2025-0001", "not reachable: the app never parses XML", dt.date(2026, 12, 31))
    verdict = ecr_scan.judge(FINDINGS[:1], "CRITICAL", "HIGH", [valid], today=TODAY)
    assert verdict.passed and verdict.waived == ((FINDINGS[0], valid),)
    expired = Waiver("CVE-2025-0001", "not reachable: the app never parses XML", dt.date(2026, 12, 5))
    verdict = ecr_scan.judge(FINDINGS[:1], "CRITICAL", "HIGH", [expired], today=TODAY)
    assert verdict.blocking == FINDINGS[:1] and verdict.expired == (expired,)
    # An expired waiver fails even when its finding is gone: the allowlist must be kept current.
    assert not ecr_scan.judge((), "CRITICAL", "HIGH", [expired], today=TODAY).passed
    message = verdict.message(IMAGE, "CRITICAL")
    assert "CRITICAL CVE-2025-0001" in message and "expired 2026-12-05" in message


def test_the_allowlist_is_trivys_ignore_file_with_a_statement_and_an_expiry_for_each_waiver() -> None:
    good = {
        "vulnerabilities": [
            {"id": "CVE-2025-0001", "statement": "not reachable from the app", "expired_at": dt.date(2027, 1, 1)}
        ],
        "misconfigurations": [{"id": "AVD-DS-0002"}],
    }
    assert ecr_scan.parse_allowlist(good) == (
        Waiver("CVE-2025-0001", "not reachable from the app", dt.date(2027, 1, 1)),
    )
    bad = {
        "vulnerabilities": [
            {"id": "CVE-2025-0001", "expired_at": "2027-01-01"},
            {"id": "CVE-2025-0002", "statement": "ok", "expired_at": "2027-01-01"},
            {"id": "CVE-2025-0003", "statement": "fixed upstream, no release yet", "expired_at": "next month"},
            {"id": "CVE-2025-0004", "statement": "fixed upstream", "expired_at": "2027-01-01", "paths": ["/usr"]},
        ]
    }
    with pytest.raises(ValueError) as err:
        ecr_scan.parse_allowlist(bad, source=".trivyignore.yaml")
    assert str(err.value).splitlines() == [
        ".trivyignore.yaml: vulnerabilities[0]: statement is required",
        ".trivyignore.yaml: vulnerabilities[1]: statement 'ok' says too little"
        " (at least 10 characters: why is it safe?)",
        ".trivyignore.yaml: vulnerabilities[2]: expired_at 'next month' is not a date (YYYY-MM-DD)",
        ".trivyignore.yaml: vulnerabilities[3]: no field paths here",
    ]


def test_the_repository_allowlist_loads(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    scan_gate.load_allowlist(str(root / scan_gate.DEFAULT_ALLOWLIST), required=True)  # must parse
    assert scan_gate.load_allowlist(str(tmp_path / "absent.yaml")) == ()
    with pytest.raises(ValueError, match="no such file"):
        scan_gate.load_allowlist(str(tmp_path / "absent.yaml"), required=True)


def gate_props(**changes: Any) -> dict[str, Any]:
    props = {
        "image": IMAGE,
        "scan_type": "basic",
        "fail_at": "CRITICAL",
        "warn_at": "HIGH",
        "waivers": [],
        "timeout_s": 600,
        "aws_profile": None,
        "__provider": "serialized",
    }
    props.update(changes)
    return props


@pytest.fixture
def stubbed_ecr(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    """The provider's boto3 session hands out one stubbed ECR client."""
    ecr = ecr_client()
    stub = Stubber(ecr)
    stub.activate()

    class Session:
        def __init__(self, profile_name: Any = None) -> None:
            pass

        def client(self, service: str, region_name: str) -> Any:
            assert (service, region_name) == ("ecr", "eu-west-1")
            return ecr

    monkeypatch.setattr(boto3, "Session", Session)
    return stub


def test_the_provider_fails_the_update_with_the_findings_listed(stubbed_ecr: Stubber) -> None:
    stubbed_ecr.add_response(
        "describe_image_scan_findings",
        response("COMPLETE", [basic("CVE-2025-0001", "CRITICAL"), basic("CVE-2025-0002", "HIGH")]),
        QUERY,
    )
    with pytest.raises(ecr_scan.ScanBlockedError) as err:
        scan_gate.ScanGateProvider().create(gate_props())
    assert "1 finding(s) at or above CRITICAL" in str(err.value)
    assert "CRITICAL CVE-2025-0001 in openssl 3.0.15" in str(err.value) and "CVE-2025-0002" not in str(err.value)


def test_the_provider_passes_a_clean_scan_and_records_warnings(stubbed_ecr: Stubber) -> None:
    stubbed_ecr.add_response(
        "describe_image_scan_findings", response("COMPLETE", [basic("CVE-2025-0002", "HIGH")]), QUERY
    )
    result = scan_gate.ScanGateProvider().create(gate_props())
    assert result.id == "scan-cccccccccccc"
    assert result.outs["warnings"] == [
        "HIGH CVE-2025-0002 in openssl 3.0.15 (https://security-tracker.debian.org/tracker/CVE-2025-0002)"
    ]
    assert result.outs["finding_count"] == 1 and "__provider" not in result.outs


@pytest.mark.parametrize(
    ("key", "value", "reruns"),
    [
        ("image", IMAGE.replace("c" * 64, "d" * 64), True),
        ("fail_at", "HIGH", True),
        ("waivers", [{"id": "CVE-2025-0001", "reason": "not reachable", "expires": "2027-01-01"}], True),
        ("scan_type", "enhanced", True),
        ("timeout_s", 900, False),
        ("aws_profile", "ops", False),
    ],
)
def test_the_gate_reruns_on_a_new_digest_threshold_or_waiver_only(key: str, value: Any, reruns: bool) -> None:
    diff = scan_gate.ScanGateProvider().diff("scan-1", gate_props(), gate_props(**{key: value}))
    assert diff.changes is reruns


def test_check_refuses_an_unpinned_image_and_unknown_severities() -> None:
    failures = scan_gate.ScanGateProvider().check({}, gate_props(image="repo:latest", fail_at="SEVERE")).failures
    assert {f.property for f in failures} == {"image", "fail_at"}


def test_args_refuse_a_warning_level_above_the_failing_one() -> None:
    with pytest.raises(ValueError, match="warn_at=CRITICAL is above fail_at=HIGH"):
        scan_gate.ScanGateArgs(image=IMAGE, fail_at="HIGH", warn_at="CRITICAL")


def test_the_scan_gate_sits_between_the_image_and_the_migration_gate(stack: ResourceGraph) -> None:
    gate = stack.one(SCAN)
    image = stack.one("docker:index/image:Image")
    assert image.urn in gate.dependencies
    assert gate.input("image") == stack.outputs["image"]
    migration = stack.one(MIGRATION)
    assert gate.urn in migration.dependencies
    assert stack.depends_on(stack.one("aws:ecs/service:Service"), gate)
    profile = profile_thresholds(stack.stack)
    assert (gate.input("fail_at"), gate.input("warn_at")) == (profile["fail_at"], profile["warn_at"])


def simulate_up(graph: ResourceGraph, providers: dict[str, Any]) -> tuple[list[str], dict[str, Exception]]:
    """Pulumi's order of operations over the recorded graph: each resource after its dependencies, and nothing that
    depends on a failed resource is ever created (``--continue-on-error`` semantics, the most permissive). Dynamic
    resources run their real provider's ``create`` with their recorded inputs; others just 'exist'."""
    created: list[str] = []
    failed: dict[str, Exception] = {}
    failed_resources: list[Resource] = []
    for resource in graph.resources:
        if any(graph.depends_on(resource, bad) for bad in failed_resources):
            continue
        provider = providers.get(resource.type)
        if provider is not None:
            try:
                provider.create(dict(resource.inputs))
            except Exception as err:  # noqa: BLE001 - any provider error fails the resource, as in the engine
                failed[resource.name] = err
                failed_resources.append(resource)
                continue
        created.append(resource.name)
    return created, failed


class MigrationRunner:
    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, **_kwargs: Any) -> ecs_runner.TaskResult:
        self.runs += 1
        return ecs_runner.TaskResult(
            task_arn="arn:aws:ecs:us-east-1:123456789012:task/c/1",
            exit_code=0,
            stop_reason="EssentialContainerExited",
            log_tail=[],
            console_url="",
            duration_s=1.0,
        )


@pytest.mark.parametrize("critical", [True, False])
def test_a_critical_finding_fails_the_update_before_the_migration_runs(
    dev: ResourceGraph, monkeypatch: pytest.MonkeyPatch, critical: bool
) -> None:
    runner = MigrationRunner()
    monkeypatch.setattr(ecs_runner, "run_one_off_task", runner)
    digest = dev.one(SCAN).input("image").split("@", 1)[1]
    ecr = boto3.client("ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(boto3, "Session", lambda profile_name=None: type("S", (), {"client": lambda *_a, **_k: ecr})())
    findings = [basic("CVE-2025-0001", "CRITICAL")] if critical else [basic("CVE-2025-0002", "HIGH")]
    body = response("COMPLETE", findings)
    body.update(repositoryName="slipway-dev", imageId={"imageDigest": digest})
    with Stubber(ecr) as stub:
        stub.add_response("describe_image_scan_findings", body)
        created, failed = simulate_up(
            dev, {SCAN: scan_gate.ScanGateProvider(), MIGRATION: gates.MigrationGateProvider()}
        )
    scan_name, migration_name = dev.one(SCAN).name, dev.one(MIGRATION).name
    service_name = dev.one("aws:ecs/service:Service").name
    if critical:
        assert isinstance(failed[scan_name], ecr_scan.ScanBlockedError)
        assert "CRITICAL CVE-2025-0001" in str(failed[scan_name])
        assert runner.runs == 0 and migration_name not in created and service_name not in created
    else:  # the control: the same walk runs the migration once the scan passes
        assert failed == {} and runner.runs == 1
        assert created.index(scan_name) < created.index(migration_name) < created.index(service_name)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"image_scan": "deep"}, "image_scan"),
        ({"scan_fail_severity": "SEVERE"}, "scan_fail_severity"),
        ({"scan_timeout_seconds": 5}, "scan_timeout_seconds"),
        ({"backup_lock_mode": "strict"}, "backup_lock_mode"),
        ({"backup_lock_cooling_off_days": 1}, "backup_lock_cooling_off_days"),
        ({"scan_allowlist": "no-such-allowlist.yaml"}, "scan_allowlist"),
    ],
)
def test_webapp_refuses_bad_scan_and_backup_fields_before_any_resource(change: dict[str, Any], field: str) -> None:
    from slipway_aws.validation import ArgsError
    from slipway_aws.webapp import WebAppArgs

    with pytest.raises(ArgsError) as err:
        WebAppArgs(build_context="app", profile="dev", **change)
    assert field in str(err.value)


def test_webapp_refuses_a_malformed_allowlist(tmp_path: Path) -> None:
    from slipway_aws.validation import ArgsError
    from slipway_aws.webapp import WebAppArgs

    bad = tmp_path / "waivers.yaml"
    bad.write_text("vulnerabilities:\n  - id: CVE-2025-0001\n    statement: short\n    expired_at: 2027-01-01\n")
    with pytest.raises(ArgsError, match="says too little"):
        WebAppArgs(build_context="app", profile="dev", scan_allowlist=str(bad))


def test_the_provider_serializes_by_reference_and_loads_in_a_fresh_process() -> None:
    """Pulumi stores the dill-pickled provider in state and unpickles it in the provider process, which imports
    ``slipway_aws.scan_gate`` from the venv: by reference the blob is small and carries no code."""
    import base64
    import os
    import subprocess
    import sys

    import dill
    from pulumi.dynamic.dynamic import serialize_provider

    blob = serialize_provider(scan_gate.ScanGateProvider())
    assert len(blob) < 1000, len(blob)
    assert type(dill.loads(base64.b64decode(blob))) is scan_gate.ScanGateProvider  # noqa: S301  # our own blob
    script = (
        "import base64, sys, dill\n"
        "gate = dill.loads(base64.b64decode(sys.argv[1]))\n"
        "d = gate.diff('id', {'image': 'a', 'fail_at': 'HIGH'}, {'image': 'b', 'fail_at': 'HIGH'})\n"
        "print(type(gate).__module__, d.changes)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", script, blob], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["slipway_aws.scan_gate", "True"]
