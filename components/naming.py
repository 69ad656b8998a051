"""Physical names that never collide across stacks: the stack name is part of every name a component sets."""

from __future__ import annotations

import pulumi


def stack_scoped(name: str) -> str:
    """``name`` unchanged when it already carries the stack as a dash-separated part (slipway's own names do:
    ``slipway-prod-db``), else ``<name>-<stack>``: ``Database("shop-db")`` in stacks dev and prod gets
    ``shop-db-dev`` and ``shop-db-prod``, never the same RDS identifier, log groups or alarms."""
    stack = pulumi.get_stack()
    return name if f"-{stack}-" in f"-{name}-" else f"{name}-{stack}"
