"""Modeled duration of one ECS rolling deployment: slipway's recorded settings vs AWS/peer defaults.

Rerun: .venv/bin/python bench/deploy_time.py            (reads the dev and prod graphs offline)

This is a MODEL, not a measurement on AWS (no account here). Per rollout with min/max healthy 100/200 %:
  task start (provision + image pull + app boot, same for both sides)
  + time for the target group to see the new task healthy (healthy_threshold x interval)
  + connection draining of the old task (deregistration delay).
The peer side uses AWS's target-group defaults, which awsx, SST and CDK patterns keep (ANCHORS.md).
Both sides are computed in the same run from the same task-start assumption, so the ratio is what matters.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slipway.offline import run_stack  # noqa: E402

TASK_START_SECONDS = 45  # Fargate provisioning + pull of a ~60 MB slim image + gunicorn boot (assumption)
AWS_DEFAULTS = {"interval": 30, "healthy_threshold": 5, "deregistration_delay": 300}


def rollout_seconds(interval: int, healthy_threshold: int, deregistration_delay: int) -> int:
    return TASK_START_SECONDS + interval * healthy_threshold + deregistration_delay


def main() -> None:
    peer = rollout_seconds(**AWS_DEFAULTS)
    print(f"task start assumption: {TASK_START_SECONDS} s (same on both sides)")
    print(f"{'stack':<6} {'slipway':>9} {'defaults':>9} {'ratio':>7}  settings (interval x healthy, draining)")
    for stack in ("dev", "prod"):
        tg = run_stack(stack).one("aws:lb/targetGroup:TargetGroup")
        ours = {
            "interval": tg.input("healthCheck", "interval"),
            "healthy_threshold": tg.input("healthCheck", "healthyThreshold"),
            "deregistration_delay": tg.input("deregistrationDelay"),
        }
        mine = rollout_seconds(**ours)
        print(
            f"{stack:<6} {mine:>8}s {peer:>8}s {peer / mine:>6.1f}x  "
            f"{ours['interval']}s x {ours['healthy_threshold']}, {ours['deregistration_delay']}s "
            f"vs {AWS_DEFAULTS['interval']}s x {AWS_DEFAULTS['healthy_threshold']}, "
            f"{AWS_DEFAULTS['deregistration_delay']}s"
        )


if __name__ == "__main__":
    main()
