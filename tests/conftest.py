"""Shared fixtures: each stack's recorded graph is built once per session (about a second each)."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from slipway.offline import ResourceGraph, run_stack


@functools.cache
def _graph(stack: str, overrides: tuple[tuple[str, Any], ...] = ()) -> ResourceGraph:
    return run_stack(stack, overrides=dict(overrides))


def graph_with(stack: str, **overrides: Any) -> ResourceGraph:
    """The stack's graph with config overrides, keys without the ``slipway:`` prefix (cached)."""
    # mappings (slipway:dbRestore) as Pulumi hands them to the program: JSON text (hashable for the cache, too)
    values = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in overrides.items()}
    return _graph(stack, tuple(sorted((f"slipway:{k}", v) for k, v in values.items())))


@pytest.fixture(scope="session")
def dev() -> ResourceGraph:
    return _graph("dev")


@pytest.fixture(scope="session")
def prod() -> ResourceGraph:
    return _graph("prod")


@pytest.fixture(scope="session")
def pr123() -> ResourceGraph:
    """The preview stack pr-123 on dev's recorded outputs (its StackReference), as `pulumi up` would see them."""
    return run_stack("pr-123", stack_references={"dev": _graph("dev").outputs})


@pytest.fixture(params=["dev", "prod"], scope="session")
def stack(request: pytest.FixtureRequest) -> ResourceGraph:
    return _graph(request.param)
