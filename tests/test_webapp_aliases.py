"""Moving the stack program onto one WebApp replaces no deployed resource.

The program before WebApp (``git show 2b9eeee:__main__.py``) runs offline against today's components, next to the
same stack files, so both graphs differ only in the program. A resource the new program no longer declares (same
type and name) is a deliberate deletion and not checked here; every other one must keep its identity.

Pulumi's mock monitor builds a URN from the immediate parent's type only, the engine from the whole chain of
ancestors' types (the root stack excluded), so both graphs are first rewritten to engine URNs. Then every old engine
URN must be a new resource's engine URN or one of its aliases, computed as the engine does: the resource's own
aliases (``parent`` = the root stack for ``{"parent": None}``), plus, for each alias of a parent, the URN under that
aliased parent (inherited by every descendant).
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from slipway.offline import ResourceGraph

ROOT = Path(__file__).resolve().parent.parent
BEFORE_WEBAPP = "2b9eeee"
# The old program read a StackConfig (gone: the stack file is WebAppArgs now); this stands in for it with the same
# values, read the way today's program reads them.
OLD_CONFIG = """
import types as _types

from slipway_aws.webapp import WebAppArgs as _Args


class StackConfig:
    @staticmethod
    def load():
        a = _Args.from_config(build_context="app", log_level="INFO", web_concurrency=2).resolved()
        cfg = _types.SimpleNamespace(**{f: getattr(a, f) for f in a.__dataclass_fields__})
        stack, app = pulumi.get_stack(), a.app_name or "slipway"
        cfg.environment, cfg.prefix, cfg.is_prod = a.profile, f"{app}-{stack}", a.profile == "prod"
        cfg.alb_access_logs = a.access_logs
        cfg.tls_mode = "certificate" if a.certificate_arn else "domain" if a.domain else "self_signed"
        cfg.tags = {"app": app, "environment": a.profile, "stack": stack, "managed-by": "pulumi/slipway"}
        cfg.image_repository_arn = None
        return cfg
"""


@functools.cache
def old_graph(stack: str, tmp: Path) -> dict[str, Optional[str]]:
    """URN -> parent URN of the pre-WebApp program's graph for ``stack``."""
    from slipway.offline import run_stack

    tmp.mkdir(exist_ok=True)
    program = subprocess.run(
        ["git", "show", f"{BEFORE_WEBAPP}:__main__.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    # the library's one import name today (`components` is only the directory now: an import of it would be a
    # second copy of every module, which the offline engine's ECR stub would not reach)
    program = program.replace("from components.config import StackConfig\n", OLD_CONFIG)
    (tmp / "__main__.py").write_text(re.sub(r"\b(from|import) components\b", r"\1 slipway_aws", program))
    for name in ("Pulumi.yaml", f"Pulumi.{stack}.yaml"):
        (tmp / name).write_text((ROOT / name).read_text())
    if not (tmp / "app").exists():
        (tmp / "app").symlink_to(ROOT / "app")
    return {r.urn: r.parent for r in run_stack(stack, root=tmp).resources}


def _parts(urn: str) -> tuple[str, str, str]:
    """``(stack::project prefix, own type, name)`` of a URN."""
    head, project, qualified, name = urn.split("::", 3)
    return f"{head}::{project}", qualified.split("$")[-1], name


def engine_urns(parents: dict[str, Optional[str]]) -> dict[str, str]:
    """mock URN -> engine URN, from each resource's parent (URNs absent from ``parents`` are the root stack)."""
    chains: dict[str, str] = {}

    def chain(urn: str) -> str:
        if urn not in chains:
            _, own, _ = _parts(urn)
            parent = parents.get(urn)
            chains[urn] = f"{chain(parent)}${own}" if parent in parents else own
        return chains[urn]

    return {urn: f"{_parts(urn)[0]}::{chain(urn)}::{_parts(urn)[2]}" for urn in parents}


def covered(graph: ResourceGraph) -> set[str]:
    """Every engine URN the new graph's resources answer to: their own and their (inherited) aliases."""
    parents = {r.urn: r.parent for r in graph.resources}
    by_urn = {r.urn: r for r in graph.resources}
    chains: dict[str, set[str]] = {}

    def candidates(urn: str) -> set[str]:
        if urn not in chains:
            resource, (_, own, _) = by_urn[urn], _parts(urn)
            parent_chains = candidates(resource.parent) if resource.parent in by_urn else {""}
            found = {f"{c}${own}" if c else own for c in parent_chains}
            for alias in resource.aliases:
                assert set(alias) <= {"parent", "type"}, alias  # the aliases this program uses
                typ = alias.get("type", own)
                if "parent" not in alias:
                    found |= {f"{c}${typ}" if c else typ for c in parent_chains}
                elif alias["parent"] is None:
                    found.add(typ)
                else:
                    found |= {f"{c}${typ}" for c in candidates(alias["parent"])}
            chains[urn] = found
        return chains[urn]

    return {f"{_parts(urn)[0]}::{c}::{_parts(urn)[2]}" for urn in parents for c in candidates(urn)}


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_every_old_urn_is_kept_or_aliased(
    name: str, dev: ResourceGraph, prod: ResourceGraph, tmp_path_factory: pytest.TempPathFactory
) -> None:
    graph = {"dev": dev, "prod": prod}[name]
    old = old_graph(name, tmp_path_factory.getbasetemp() / "old-program")
    # Resources the new program no longer declares at all (by type and name) are deletions, not moves.
    still_declared = {(_parts(r.urn)[1], r.name) for r in graph.resources}
    moved = {urn for urn in old if (_parts(urn)[1], _parts(urn)[2]) in still_declared}
    before = {engine_urns(old)[urn] for urn in moved}
    assert len(before) > 80
    assert sorted(before - covered(graph)) == []


def test_without_the_aliases_every_resource_would_move(
    dev: ResourceGraph, tmp_path_factory: pytest.TempPathFactory
) -> None:
    before = set(engine_urns(old_graph("dev", tmp_path_factory.getbasetemp() / "old-program")).values())
    now = set(engine_urns({r.urn: r.parent for r in dev.resources}).values())
    assert len(before - now) == len(before)  # all of them: the test above is not vacuous


def test_the_program_is_one_webapp(dev: ResourceGraph) -> None:
    roots = [r for r in dev.resources if r.parent is None or _parts(r.parent)[1] == "pulumi:pulumi:Stack"]
    assert [r.type for r in roots] == ["slipway:aws:WebApp"]
    assert all(r.aliases == [{"parent": None}] for r in dev.children(roots[0].urn))
