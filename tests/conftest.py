"""Shared fixtures: each stack's recorded graph is built once per session (about a second each)."""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import pytest

from slipway.offline import ResourceGraph, run_stack

# moto loads ~1,300 public AMIs into every region's EC2 backend it starts (half of each moto test's time); nothing
# here launches an instance. A test that needs them sets MOTO_AMIS_PATH.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


def _share_botocore_models() -> None:
    """botocore caches the JSON models it loads per Loader, i.e. per session; moto and the code under test make a
    new session for nearly every client, so a test run parsed the same service models (EC2's is megabytes) hundreds
    of times. The cache is shared here across loaders with the same search paths: the same objects one loader would
    return on its second call, so no behaviour changes (tests only)."""
    import botocore.loaders

    loader = botocore.loaders.Loader
    data, models = loader.load_data_with_path, loader.load_service_model
    shared: dict[Any, Any] = {}

    def load_data_with_path(self: Any, name: str) -> Any:
        key = ("data", tuple(self.search_paths), name)
        if key not in shared:
            shared[key] = data(self, name)
        return shared[key]

    def load_service_model(self: Any, service_name: str, type_name: str, api_version: Any = None) -> Any:
        key = ("model", tuple(self.search_paths), service_name, type_name, api_version)
        if key not in shared:
            shared[key] = models(self, service_name, type_name, api_version)
        return shared[key]

    loader.load_data_with_path = load_data_with_path  # type: ignore[method-assign]
    loader.load_service_model = load_service_model  # type: ignore[method-assign]


_share_botocore_models()


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
