"""The ``config:`` schema of Pulumi.yaml and the README's configuration table, both derived from
:mod:`components.config` (``KEY_DOCS`` and ``PROFILES``), so neither can drift from the code.

``python -m slipway.schema`` rewrites both from that one source; ``tests/test_stack_files.py`` fails when either
differs from what this module generates.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

from slipway_aws.config import KEY_DOCS, NAMESPACE, OBJECT_KEYS, OPTIONAL_KEYS, PROFILES, key_type

ROOT = Path(__file__).resolve().parent.parent
README_TABLE_HEADER = "| key | dev default | prod default | meaning |\n|---|---|---|---|\n"


def typed(key: str, raw: str) -> Any:
    kind = key_type(key)
    return raw == "true" if kind == "boolean" else int(raw) if kind == "integer" else raw


def schema() -> dict[str, dict[str, Any]]:
    """Every key with type and description; a default where both profiles agree, else the two in the text."""
    out: dict[str, dict[str, Any]] = {}
    for key, doc in KEY_DOCS.items():
        if key in OBJECT_KEYS:  # Pulumi's project schema cannot declare a mapping (no object config type)
            continue
        entry: dict[str, Any] = {"type": key_type(key)}
        dev, prod = PROFILES["dev"].get(key), PROFILES["prod"].get(key)
        if key in OPTIONAL_KEYS or key == "environment":
            entry["description"] = f"{doc} Default: unset."
        elif dev == prod:
            entry["default"] = typed(key, dev or "")
            entry["description"] = f"{doc} Default: {dev}."
        else:
            entry["description"] = f"{doc} Default: {dev} (dev), {prod} (prod)."
        out[key] = entry
    return out


def readme_table() -> str:
    """The README's configuration table: one row per key, in KEY_DOCS order."""
    rows = []
    for key, doc in KEY_DOCS.items():
        if key == "environment":
            dev = prod = "required"
        else:
            dev, prod = (PROFILES[env].get(key, "—") for env in ("dev", "prod"))
        rows.append(f"| `{NAMESPACE}:{key}` | {dev} | {prod} | {doc.replace('|', '/')} |\n")
    return README_TABLE_HEADER + "".join(rows)


def project_config_block() -> str:
    """The ``config:`` block of Pulumi.yaml as YAML text."""
    return yaml.safe_dump({"config": schema()}, sort_keys=False, width=1000)


def write(root: Path = ROOT) -> list[str]:
    """Regenerate Pulumi.yaml's ``config:`` block and the README table in place; return the files changed."""
    changed = []
    project = root / "Pulumi.yaml"
    text = project.read_text()
    head = text[: text.index("\nconfig:\n") + 1]
    new = head + project_config_block()
    if new != text:
        project.write_text(new)
        changed.append(project.name)
    readme = root / "README.md"
    text = readme.read_text()
    table = re.compile(re.escape(README_TABLE_HEADER) + r"(\|[^\n]*\n)*")
    new = table.sub(lambda _: readme_table(), text, count=1)
    if new != text:
        readme.write_text(new)
        changed.append(readme.name)
    return changed


if __name__ == "__main__":
    print("\n".join(f"rewrote {name}" for name in write()) or "Pulumi.yaml and README.md are up to date")
    sys.exit(0)
