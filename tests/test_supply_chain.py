"""Supply chain: the PR builds and scans the image and keeps a CycloneDX SBOM, the scan summary reaches the plan
comment, Dependabot covers pip, docker and actions, and the base image is pinned by digest."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TRIVY = re.compile(r"^aquasecurity/trivy-action@[0-9a-f]{40}$")


def preview() -> dict[str, Any]:
    return yaml.safe_load((ROOT / ".github/workflows/preview.yml").read_text())


def trivy_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith("aquasecurity/trivy-action@")]


def test_the_pull_request_builds_the_app_image_and_scans_it_with_a_pinned_trivy() -> None:
    job = preview()["jobs"]["image-scan"]
    builds = [s["run"] for s in job["steps"] if "docker build" in s.get("run", "")]
    assert builds and builds[0].strip().endswith('docker build --tag "$IMAGE" app')
    steps = trivy_steps(job)
    assert steps and all(TRIVY.match(s["uses"]) for s in steps), "the action pinned by commit SHA"
    assert all(s["with"]["version"] == "v0.70.0" for s in steps), "the Trivy binary pinned too"
    assert all(s["with"]["image-ref"] == "${{ env.IMAGE }}" for s in steps)
    gate = next(s for s in steps if s["with"].get("exit-code") == "1")
    assert gate["with"]["severity"] == "CRITICAL" and gate["with"]["trivyignores"] == ".trivyignore.yaml"
    assert job["permissions"] == {"contents": "read"}


def test_the_scan_writes_a_cyclonedx_sbom_kept_as_an_artifact() -> None:
    job = preview()["jobs"]["image-scan"]
    sbom = next(s for s in trivy_steps(job) if s["with"].get("format") == "cyclonedx")
    uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    kept = next(u for u in uploads if u["with"]["path"] == sbom["with"]["output"])
    assert kept["with"]["if-no-files-found"] == "error" and kept["with"]["retention-days"] >= 30
    # the SBOM is kept even when the gate then fails: it is uploaded before the gate step
    names = [s.get("name") for s in job["steps"]]
    assert names.index(kept["name"]) < names.index(
        next(s["name"] for s in trivy_steps(job) if s["with"].get("exit-code") == "1")
    )


def test_the_scan_summary_is_posted_with_the_plan_comment() -> None:
    jobs = preview()["jobs"]
    assert "image-scan" in jobs["comment"]["needs"] and "plan" in jobs["comment"]["needs"]
    uploaded = {
        s["with"]["name"] for s in jobs["image-scan"]["steps"] if str(s.get("uses", "")).startswith("actions/upload")
    }
    downloaded = {
        s["with"]["name"] for s in jobs["comment"]["steps"] if str(s.get("uses", "")).startswith("actions/download")
    }
    assert "scan-summary" in uploaded & downloaded
    script = next(s for s in jobs["comment"]["steps"] if "github-script" in str(s.get("uses")))
    assert "SCAN_FILE" in script["env"] and "process.env.SCAN_FILE" in script["with"]["script"]


def test_dependabot_covers_pip_docker_and_actions() -> None:
    config = yaml.safe_load((ROOT / ".github/dependabot.yml").read_text())
    assert config["version"] == 2
    covered = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert covered == {("pip", "/"), ("pip", "/app"), ("docker", "/app"), ("github-actions", "/")}
    for update in config["updates"]:
        assert update["schedule"]["interval"] in ("daily", "weekly", "monthly")
        assert (ROOT / update["directory"].lstrip("/")).is_dir()


def test_the_base_image_is_pinned_by_digest_in_every_stage_without_an_arg() -> None:
    froms = re.findall(r"^FROM\s+(\S+)", (ROOT / "app/Dockerfile").read_text(), flags=re.M)
    assert len(froms) == 2 and froms[0] == froms[1]
    assert re.fullmatch(r"python:3\.12-slim-bookworm@sha256:[0-9a-f]{64}", froms[0]), (
        "tag and digest written out (Dependabot's docker updater reads FROM lines)"
    )
