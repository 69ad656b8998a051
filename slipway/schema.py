"""The ``config:`` schema of Pulumi.yaml, derived from :mod:`components.config` (tests keep the two in sync)."""

from __future__ import annotations

from typing import Any

from components.config import KEY_DOCS, OPTIONAL_KEYS, PROFILES


def key_type(key: str) -> str:
    sample = PROFILES["dev"].get(key)
    if sample in ("true", "false"):
        return "boolean"
    if sample is not None and sample.isdigit():
        return "integer"
    return "string"


def typed(key: str, raw: str) -> Any:
    kind = key_type(key)
    return raw == "true" if kind == "boolean" else int(raw) if kind == "integer" else raw


def schema() -> dict[str, dict[str, Any]]:
    """Every key with type and description; a default where both profiles agree, else the two in the text."""
    out: dict[str, dict[str, Any]] = {}
    for key, doc in KEY_DOCS.items():
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
