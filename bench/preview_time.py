"""Modeled time from a push to a pull request's preview URL (the first deploy of pr-<n>), from the offline graph.

Rerun: .venv/bin/python bench/preview_time.py     (about 2 minutes: it installs and builds for real)

A MODEL: there is no AWS account and no Docker engine here. Measured on this machine, in this run:
  the preview job's install      `make install-deploy` into a fresh venv (what preview-env.yml runs)
  the offline plan gate          `slipway plan --stack pr-123 --cost`
  the image build                the builder stage of app/Dockerfile replayed natively (bench/image_build.py), as
                                 a push that changes only the app rebuilds it: the app and compile layers
Assumed (not measurable here): each ECS task's start (TASK_START_SECONDS, bench/deploy_time.py), each one-off
command (COMMAND_SECONDS), and nothing for the runner's queue, checkout, the Pulumi CLI's plugin download, the base
image pull and the image push. The database-creating execution (dev's preview-db state machine, dev's image; its
Choice and Pass states take milliseconds: not counted) starts at the job's start, beside the install (preview-env.yml;
the gate in `pulumi up` joins it by name); without vars.SLIPWAY_PREVIEW_DB_STATE_MACHINE_ARN it starts with `pulumi
up` instead (both printed). The first `pulumi up` of pr-<n> then runs, in the graph's order:
  the image build (the database-creating gate does not wait for the PR's image)
  the migration gate (the PR's image, after the build and after the database exists)
  the service's first task: task start, then healthy_threshold x interval on the target group
Resources without a wait (roles, log group, target group, listener rule) are created beside the build: taken as free.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.deploy_time import TASK_START_SECONDS  # noqa: E402
from bench.image_build import measure  # noqa: E402
from slipway.offline import run_stack  # noqa: E402

COMMAND_SECONDS = 5  # `app preview-db create` or `app migrate` on an empty database (assumption)
TARGET_SECONDS = 180


def install_seconds() -> float:
    """`make install-deploy` into a fresh venv: the preview job's install step."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        subprocess.run(
            ["make", "--no-print-directory", "install-deploy", f"VENV={tmp}/venv"],  # noqa: S607
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        return time.monotonic() - start


def main() -> None:
    install = install_seconds()
    build = measure().app_only
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "slipway", "plan", "--stack", "pr-123", "--cost"],
        cwd=ROOT,
        check=False,
        capture_output=True,
    )
    plan = time.monotonic() - start
    graph = run_stack("pr-123", root=ROOT)
    [migrate] = graph.by_type("pulumi-python:dynamic/slipway:MigrationGate")
    create = graph.one("pulumi-python:dynamic/slipway:PreviewDatabaseGate")
    tg = graph.one("aws:lb/targetGroup:TargetGroup")
    healthy = tg.input("healthCheck", "interval") * tg.input("healthCheck", "healthyThreshold")
    image = graph.one("docker:index/image:Image")
    assert not graph.depends_on(create, image), "the database-creating gate must not wait for the PR's image"
    assert graph.depends_on(migrate, create) and graph.depends_on(migrate, image)
    gate_seconds = TASK_START_SECONDS + COMMAND_SECONDS
    ready = install + plan + build  # the PR's image is pushed
    after = gate_seconds + TASK_START_SECONDS + healthy  # migration gate, service task start, healthy
    early = max(ready, gate_seconds) + after
    late = install + plan + max(build, gate_seconds) + after
    rows = [
        ("install: make install-deploy (measured)", install),
        ("offline plan gate (measured)", plan),
        ("image build, app layers only (measured)", build),
        (f"database-creating execution ({create.name}, assumed)", gate_seconds),
        (f"migration gate {migrate.name} (assumed)", gate_seconds),
        ("service task start (assumed)", TASK_START_SECONDS),
        ("target group healthy (its settings)", healthy),
    ]
    for name, seconds in rows:
        print(f"  {name:<62} {seconds:>5.0f} s")
    for label, total in (("database started beside the install", early), ("database started by pulumi up", late)):
        verdict = "met" if total <= TARGET_SECONDS else "NOT met"
        print(f"push to URL (model), {label}: {total:.0f} s, target {TARGET_SECONDS} s: {verdict}")


if __name__ == "__main__":
    main()
