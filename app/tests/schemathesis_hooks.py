"""schemathesis hooks for ``test_app_fuzz.test_schemathesis_all_checks`` (loaded by the CLI via ``SCHEMATHESIS_HOOKS``).

An ``Idempotency-Key`` is single-use by design: the same key with another body is a 422, and the same key with the
same body replays the original 201 even after the note was deleted (both documented in the OpenAPI description,
both tested in ``test_app_idempotency.py``/``test_app_semantics.py``). schemathesis cannot model that state: it
draws keys from the header's pattern, so short ones (``0``, ``00``...) recur across requests, and it reports a 422
for a schema-valid request (ST202) or a replayed 201 whose note was since deleted (ST302). So a valid key this run
already sent is swapped, just before sending, for a fresh one (``fuzz-<n>``); malformed keys and first uses of a
key are sent exactly as generated.
"""

from __future__ import annotations

import itertools
from typing import Any

import schemathesis
from slipway_app.api import parse_idempotency_key

_SENT: set[str] = set()
_FRESH = itertools.count(1)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Give a request whose (valid) ``Idempotency-Key`` was already sent in this run a key never sent before."""
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() != "idempotency-key" or not isinstance(value, str):
            continue
        key = parse_idempotency_key(value)
        if key is None:
            continue
        if key in _SENT:
            key = f"fuzz-{next(_FRESH)}"
            headers[name] = key
        _SENT.add(key)
