"""Modeled time from a push to a pull request's preview URL (the first deploy of pr-<n>), from the offline graph.

Rerun: .venv/bin/python bench/preview_time.py

A MODEL, not a measurement on AWS (no account here). The first `pulumi up` of pr-<n> runs, in order:
  image build and push          BUILD_SECONDS (assumption: buildx with a warm layer cache; no Docker engine here)
  the database-creating gate (an execution of dev's state machine running dev's image: it starts with the build,
  in parallel) and the migration gate (the PR's image: after the build, after the database exists), each task
  start + the command (the state machine's Choice and Pass states take milliseconds: not counted)
  the service's first task: task start, then healthy_threshold x interval on the target group
Resources without a wait (roles, log group, target group, listener rule) are created in parallel with the build
and are taken as free. The offline plan gate in CI is measured here (the same command, this machine).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.deploy_time import TASK_START_SECONDS  # noqa: E402
from slipway.offline import run_stack  # noqa: E402

BUILD_SECONDS = 60  # buildx, arm64 under QEMU, warm cache: only the app layer rebuilds (assumption)
COMMAND_SECONDS = 5  # `app preview-db create` or `app migrate` on an empty database (assumption)
TARGET_SECONDS = 180


def main() -> None:
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
    steps = [
        ("offline plan gate (measured)", round(plan)),
        (f"max(image build {BUILD_SECONDS} s, {create.name} {gate_seconds} s)", max(BUILD_SECONDS, gate_seconds)),
        (f"gate {migrate.name}", gate_seconds),
        ("service task start", TASK_START_SECONDS),
        ("target group healthy", healthy),
    ]
    total = sum(s for _, s in steps)
    for name, seconds in steps:
        print(f"  {name:<62} {seconds:>4} s")
    print(
        f"push to URL (model): {total} s, target {TARGET_SECONDS} s: {'met' if total <= TARGET_SECONDS else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
