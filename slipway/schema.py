"""The ``config:`` schema of Pulumi.yaml and the README's configuration table, both derived from WebAppArgs' knobs
(:mod:`slipway_aws.webapp_args`: each field's docstring, its default per profile), so neither can drift from the
code. ``python -m slipway.schema`` rewrites both; ``--check`` only reports (exit 1 when either differs);
``tests/test_stack_files.py`` fails when either differs from what this module generates.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path
from typing import Any, Optional

import yaml

from slipway_aws.config import NAMESPACE, PROFILE_KEY
from slipway_aws.docs import field_docs, knob_default
from slipway_aws.knobs import key_of, kind, knobs
from slipway_aws.webapp_args import WebAppArgs

ROOT = Path(__file__).resolve().parent.parent
README_TABLE_HEADER = "| key | dev default | prod default | meaning |\n|---|---|---|---|\n"
_TYPES = {int: "integer", bool: "boolean"}


def keys() -> list[tuple[str, str, str, Any, Any]]:
    """(key as written in a stack file, field, doc, dev default, prod default) for every key, ``environment`` first."""
    docs = field_docs(WebAppArgs)
    rows: list[tuple[str, str, str, Any, Any]] = [
        (f"{NAMESPACE}:{PROFILE_KEY}", "profile", docs["profile"].replace(" Default ``prod``.", ""), None, None)
    ]
    for name, spec in knobs(WebAppArgs).items():
        key = key_of(name, spec)
        doc = f"{docs[name]} {spec.rule_text()}".strip()
        rows.append((key if ":" in key else f"{NAMESPACE}:{key}", name, doc, spec.dev, spec.prod))
    return rows


def _text(value: Any) -> str:
    return "—" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _field(name: str) -> dataclasses.Field[Any]:
    return next(f for f in dataclasses.fields(WebAppArgs) if f.name == name)


def schema() -> dict[str, dict[str, Any]]:
    """Every key of the project's namespace with type and description; a default where both profiles agree."""
    out: dict[str, dict[str, Any]] = {}
    for key, name, doc, dev, prod in keys():
        namespace, _, short = key.partition(":")
        spec = knobs(WebAppArgs).get(name)
        if namespace != NAMESPACE or (spec is not None and spec.mapping):
            continue  # another namespace's key, or a mapping (Pulumi's project schema has no object type)
        entry: dict[str, Any] = {"type": _TYPES.get(kind(WebAppArgs, name), "string")}
        text = " ".join(doc.split()).replace("``", "`")
        if spec is None:
            entry["description"] = f"{text} Required."
        elif dev is not None and dev == prod:
            entry["default"] = dev
            entry["description"] = f"{text} Default: {_text(dev)}."
        else:
            entry["description"] = f"{text} Default: {knob_default(_field(name))}."
        out[short] = entry
    return out


def readme_table() -> str:
    """The README's configuration table: one row per key, in WebAppArgs' field order."""
    rows = []
    for key, name, doc, dev, prod in keys():
        if name == "profile":
            dev = prod = "required"
        text = " ".join(doc.split()).replace("|", "/").replace("``", "`")
        rows.append(f"| `{key}` | {_text(dev)} | {_text(prod)} | {text} (`{name}`) |\n")
    return README_TABLE_HEADER + "".join(rows)


def project_config_block() -> str:
    """The ``config:`` block of Pulumi.yaml as YAML text."""
    return yaml.safe_dump({"config": schema()}, sort_keys=False, width=1000)


def write(root: Path = ROOT, dry_run: bool = False) -> list[str]:
    """Regenerate Pulumi.yaml's ``config:`` block and the README table in place; return the files changed (with
    ``dry_run``: the files that would change)."""
    changed = []
    project = root / "Pulumi.yaml"
    text = project.read_text()
    head = text[: text.index("\nconfig:\n") + 1]
    new = head + project_config_block()
    if new != text:
        if not dry_run:
            project.write_text(new)
        changed.append(project.name)
    readme = root / "README.md"
    text = readme.read_text()
    table = re.compile(re.escape(README_TABLE_HEADER) + r"(\|[^\n]*\n)*")
    new = table.sub(lambda _: readme_table(), text, count=1)
    if new != text:
        if not dry_run:
            readme.write_text(new)
        changed.append(readme.name)
    return changed


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m slipway.schema",
        description="Regenerate the config: schema of Pulumi.yaml and the configuration table of README.md from "
        "WebAppArgs' fields (their docstrings and defaults per profile).",
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when either file is stale")
    args = parser.parse_args(argv)
    changed = write(dry_run=args.check)
    verb = "stale" if args.check else "rewrote"
    print("\n".join(f"{verb} {name}" for name in changed) or "Pulumi.yaml and README.md are up to date")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
