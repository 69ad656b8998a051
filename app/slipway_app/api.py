"""HTTP routes: landing page, health/readiness probes and the notes API.

Every route is ``async def`` and awaits the store (:mod:`slipway_app.store`) directly: no threadpool hand-off and no
per-request session on the PostgreSQL path. Note responses are serialised once by pydantic-core into a ready
``Response`` (the ``response_model`` stays for the OpenAPI description). :func:`get_note` and :func:`create_note`
carry the load: :mod:`slipway_app.fastlane` calls them directly for their plain requests, so they take only what
they parse themselves (an ``int`` id already checked by the route, the ``Request``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from importlib import resources
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SAPoolTimeoutError

from .db import CONNECT_TIMEOUT_SECONDS, READYZ_STATEMENT_TIMEOUT_MS
from .dberrors import classify
from .schemas import IDEMPOTENCY_KEY_PATTERN, NoteCreate, NoteOut, NotePage, NotePatch
from .store import NoteStore, Row

log = logging.getLogger(__name__)

INT32_MAX = 2**31 - 1
# /readyz as a whole: connect (3 s) or the probe's statement_timeout (2 s), never beyond the ALB check's 5 s.
READYZ_TIMEOUT_SECONDS = min(CONNECT_TIMEOUT_SECONDS + 0.5, 4.0)
NoteId = Annotated[int, Path(ge=1, le=INT32_MAX, description="note id (1..2147483647)")]
JSON_TYPES = ("application/json",)

probes = APIRouter(tags=["probes"])
notes = APIRouter(prefix="/api/notes", tags=["notes"])
pages = APIRouter(include_in_schema=False)

_INDEX_HTML = resources.files("slipway_app").joinpath("static/index.html").read_text(encoding="utf-8")
_NOT_JSON: dict[int | str, dict[str, Any]] = {415: {"description": "the request body is not `application/json`"}}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such note"}}
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "database unavailable or busy; retry after `Retry-After` seconds"}
}


async def require_json(request: Request) -> None:
    """415 for a body declared as anything but JSON (``application/json`` or ``application/*+json``).

    Without this, FastAPI validates the raw bytes of e.g. a form post against the model and answers 422.
    A request without ``Content-Type`` is parsed as JSON, as FastAPI does.
    """
    if _json_media(request.headers.get("content-type")):
        return
    raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json")


JsonBody = [Depends(require_json)]


def _store(request: Request) -> NoteStore:
    store: NoteStore = request.app.state.store
    return store


def _note_response(row: Row, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = NoteOut.model_validate(row).model_dump_json().encode()
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


def _not_found(note_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"note {note_id} not found")


@pages.get("/", response_class=HTMLResponse)
async def index() -> HTMLResponse:
    """A tiny static landing page."""
    return HTMLResponse(_INDEX_HTML)


@probes.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process serves HTTP. Never touches the database (a DB outage must not kill tasks).

    Runs on the event loop and awaits nothing: it answers even while every pooled connection waits on a lock.
    """
    return {"status": "ok"}


def _readiness_failure_reason(exc: BaseException) -> str:
    if isinstance(exc, SAPoolTimeoutError):
        return "database busy: no free pooled connection"
    if isinstance(exc, TimeoutError):
        return "database did not answer in time"
    kind, _ = classify(exc)
    if kind in ("statement_timeout", "lock_timeout", "connect_timeout"):
        return "database did not answer in time"
    return "database unreachable"


@probes.get("/readyz", responses={503: {"description": "database unreachable or migrations not at head"}})
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and its schema revision equals the packaged migrations' head.

    One round trip (``SELECT version_num FROM alembic_version``) on the worker's own readiness connection, not a
    request-pool connection: a saturated pool or a locked ``notes`` table does not make the task look unready, a
    database that is down, stalled or not migrated does. Bounded: connect timeout 3 s, the probe's own
    ``statement_timeout`` of 2 s, and 3.5 s overall, inside the ALB health check's 5 s.
    """
    heads: set[str] = request.app.state.migration_heads
    try:
        current = await asyncio.wait_for(_store(request).schema_revisions(), READYZ_TIMEOUT_SECONDS)
    except (psycopg.Error, SQLAlchemyError, TimeoutError, OSError) as exc:
        reason = _readiness_failure_reason(exc)
        kind, detail = classify(exc)
        log.warning(
            f"readiness check failed: {reason}",
            extra={"error_kind": kind, "error_type": type(exc).__name__, "error": detail},
        )
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    if current != heads:
        return JSONResponse(
            {
                "status": "unavailable",
                "reason": "database schema is not at the migrations head (run `app migrate`)",
                "current": sorted(current),
                "head": sorted(heads),
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok", "revision": ",".join(sorted(current))})


IDEMPOTENCY_KEY_DESCRIPTION = (
    "Makes the POST safe to retry (after a timeout, a reset connection or a 503): a unique value per "
    "logical request, e.g. a UUID, 1..255 visible ASCII characters. The first request with a key creates "
    "the note and stores the key with it; every later request with the same key and the same body creates "
    "nothing and gets the original response again (201, same note, same `Location`) with "
    "`Idempotent-Replayed: true`. The same key with a different body is a 422. Keys are kept as long as "
    "their note exists."
)


_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
_CREATE_SCHEMA = {"$ref": "#/components/schemas/NoteCreate"}


def _json_media(content_type: str | None) -> bool:
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))


def _body_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": ["body", *err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors(include_url=False, include_input=False)
    ]


@notes.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteOut,
    responses={
        201: {
            "description": "created, or replayed for a repeated `Idempotency-Key` (then `Idempotent-Replayed: true`)"
        },
        422: {"description": "invalid body, or an `Idempotency-Key` already used for a different body"},
        **_NOT_JSON,
        **_UNAVAILABLE,
    },
    openapi_extra={
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": IDEMPOTENCY_KEY_PATTERN},
                "description": IDEMPOTENCY_KEY_DESCRIPTION,
            }
        ],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _CREATE_SCHEMA}}},
    },
)
async def create_note(request: Request) -> Response:
    """Create a note; ``Location`` points at it. Send ``Idempotency-Key`` to make retries safe.

    The hot write path parses and validates by hand (same rules, same 415/422 answers as the FastAPI-declared
    endpoints): FastAPI's dependency solving for a body model and a header was ~1/4 of the endpoint's CPU.
    """
    headers = request.headers
    if not _json_media(headers.get("content-type")):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json")
    key = headers.get("idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise RequestValidationError(
            [
                {
                    "loc": ["header", "Idempotency-Key"],
                    "msg": "1..255 visible ASCII characters (no spaces), e.g. a UUID",
                    "type": "string_pattern_mismatch",
                }
            ]
        )
    try:
        payload = NoteCreate.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(_body_errors(exc)) from None
    row, created = await _store(request).create(payload.title, payload.body, key)
    response_headers = {"Location": f"/api/notes/{row['id']}"}
    if not created:
        response_headers["Idempotent-Replayed"] = "true"
    return _note_response(row, status.HTTP_201_CREATED, response_headers)


@notes.get("", response_model=NotePage, responses=_UNAVAILABLE)
async def list_notes(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100, description="page size, 1..100")] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000, description="rows to skip")] = 0,
    after: Annotated[int | None, Query(ge=0, le=INT32_MAX, description="cursor: ids after this")] = None,
) -> Response:
    """Notes in id order. Page with ``after=<next_cursor>`` (stable under inserts) or ``offset``."""
    rows = await _store(request).page(limit, offset, after)
    page = NotePage(
        items=[NoteOut.model_validate(row) for row in rows],
        limit=limit,
        offset=offset,
        next_cursor=rows[-1]["id"] if len(rows) == limit else None,
    )
    return Response(page.model_dump_json().encode(), media_type="application/json")


@notes.get("/{note_id}", response_model=NoteOut, responses={**_NOT_FOUND, **_UNAVAILABLE})
async def get_note(note_id: NoteId, request: Request) -> Response:
    """One note."""
    row = await _store(request).get(note_id)
    if row is None:
        raise _not_found(note_id)
    return _note_response(row)


@notes.put(
    "/{note_id}",
    response_model=NoteOut,
    dependencies=JsonBody,
    responses={**_NOT_FOUND, **_NOT_JSON, **_UNAVAILABLE},
)
async def replace_note(note_id: NoteId, payload: NoteCreate, request: Request) -> Response:
    """Replace a note's title and body (``body`` defaults to empty)."""
    row = await _store(request).replace(note_id, payload.title, payload.body)
    if row is None:
        raise _not_found(note_id)
    return _note_response(row)


@notes.patch(
    "/{note_id}",
    response_model=NoteOut,
    dependencies=JsonBody,
    responses={**_NOT_FOUND, **_NOT_JSON, **_UNAVAILABLE},
)
async def update_note(note_id: NoteId, payload: NotePatch, request: Request) -> Response:
    """Change only the given fields."""
    fields: dict[str, Any] = payload.model_dump(exclude_unset=True)
    row = await _store(request).patch(note_id, fields.get("title"), fields.get("body"))
    if row is None:
        raise _not_found(note_id)
    return _note_response(row)


@notes.delete("/{note_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**_NOT_FOUND, **_UNAVAILABLE})
async def delete_note(note_id: NoteId, request: Request) -> Response:
    """Delete a note."""
    if not await _store(request).delete(note_id):
        raise _not_found(note_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


__all__ = ["READYZ_STATEMENT_TIMEOUT_MS", "notes", "pages", "probes"]
