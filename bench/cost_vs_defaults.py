"""Monthly estimate of the dev stack: slipway's dev profile vs the same app on common peer defaults.

Rerun: .venv/bin/python bench/cost_vs_defaults.py

Both sides are the real program run offline (same price table, same usage assumptions, one run); only the config
differs. "Peer defaults" reproduces what awsx's VPC and a typical Fargate service give you without tuning
(ANCHORS.md): one NAT gateway per AZ over 3 AZs, tasks on x86 on-demand Fargate. It is an estimate from list
prices (slipway/prices.json), not a bill.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slipway.cost import estimate  # noqa: E402
from slipway.offline import run_stack  # noqa: E402

PEER_DEFAULTS = {
    "slipway:natStrategy": "per_az",
    "slipway:azCount": 3,
    "slipway:fargateSpot": False,
    "slipway:architecture": "x86_64",
}


def main() -> None:
    ours = estimate(run_stack("dev").resources, stack="dev")
    peer = estimate(run_stack("dev", overrides=PEER_DEFAULTS).resources, stack="dev")
    print(f"dev stack, {ours.region}, prices of {ours.price_date}")
    print(f"  slipway dev profile : ${ours.total:8.2f}/month")
    changed = ", ".join(f"{key.split(':')[1]}={value}" for key, value in PEER_DEFAULTS.items())
    print(f"  peer defaults       : ${peer.total:8.2f}/month   ({changed})")
    print(f"  ratio               : {peer.total / ours.total:.1f}x cheaper")
    print("  largest items (slipway): " + ", ".join(f"{i.name} ${i.monthly:.2f}" for i in ours.dominant(3)))


if __name__ == "__main__":
    main()
