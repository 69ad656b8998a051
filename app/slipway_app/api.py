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
from typing import Annotated, Any, TypeVar

import psycopg
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, BeforeValidator, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SAPoolTimeoutError

from .db import CONNECT_TIMEOUT_SECONDS, READYZ_STATEMENT_TIMEOUT_MS
from .dberrors import classify
from .middleware import MAX_BODY_BYTES
from .schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    ErrorMessage,
    NoteCreate,
    NoteOut,
    NotePage,
    NotePatch,
    Readiness,
    ValidationProblem,
)
from .store import NoteStore, Row

log = logging.getLogger(__name__)

INT32_MAX = 2**31 - 1
# The ALB target group's health-check timeout (components/web_service.py; a test keeps the two equal).
ALB_HEALTH_CHECK_TIMEOUT_SECONDS = 5
# /readyz as a whole: connect (3 s) or the probe's statement_timeout (2 s), never beyond the ALB check's 5 s.
READYZ_TIMEOUT_SECONDS = min(CONNECT_TIMEOUT_SECONDS + 0.5, ALB_HEALTH_CHECK_TIMEOUT_SECONDS - 1.0)
# An id is written as a plain decimal: 1_37, 137.0, +137, 0137 and " 137" are not 137 (pydantic's lax int parsing
# would take them all).
_CANONICAL_ID = re.compile(r"[1-9][0-9]*")


def _canonical_id(value: object) -> object:
    if isinstance(value, str) and not _CANONICAL_ID.fullmatch(value):
        raise ValueError("must be a plain decimal integer without sign, leading zeros, separators or spaces")
    return value


NoteId = Annotated[
    int,
    Path(ge=1, le=INT32_MAX, description="note id (1..2147483647), a plain decimal"),
    BeforeValidator(_canonical_id),
]
JSON_TYPES = ("application/json",)
_Model = TypeVar("_Model", bound=BaseModel)


def _error(description: str, model: type[BaseModel] = ErrorMessage, **extra: Any) -> dict[str, Any]:
    return {"description": description, "model": model, **extra}


# Answers any route can give, before it runs (slipway_app.middleware.BodySizeLimitMiddleware).
_ANY_REQUEST: dict[int | str, dict[str, Any]] = {
    400: _error("`Content-Length` is not a decimal number (the connection is closed)"),
    413: _error(f"request body larger than {MAX_BODY_BYTES} bytes (the connection is closed)"),
}
_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before retrying", "required": True, "schema": {"type": "integer"}}
}
_NOT_JSON: dict[int | str, dict[str, Any]] = {415: _error("the request body is not `application/json`")}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _error("no such note")}
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: _error("database unavailable, busy or not migrated; retry after `Retry-After` seconds", headers=_RETRY_AFTER)
}
_INVALID: dict[int | str, dict[str, Any]] = {422: _error("invalid input: each bad field's `loc`", ValidationProblem)}

probes = APIRouter(tags=["probes"], responses=_ANY_REQUEST)
notes = APIRouter(prefix="/api/notes", tags=["notes"], responses={**_ANY_REQUEST, **_UNAVAILABLE})
pages = APIRouter(include_in_schema=False)

_INDEX_HTML = resources.files("slipway_app").joinpath("static/index.html").read_text(encoding="utf-8")


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


@probes.get("/healthz", operation_id="healthz")
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


@probes.get(
    "/readyz",
    operation_id="readyz",
    response_model=Readiness,
    responses={503: _error("database unreachable or migrations not at head", Readiness)},
)
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
    "logical request, e.g. a UUID, 1..255 visible ASCII characters, sent once (two `Idempotency-Key` lines "
    'are a 422). The quoted form of the IETF draft (`"key"`, a structured-field string) is the same key as '
    "`key`. The first request with a key creates the note and stores the key with the request and its answer; "
    "every later request with the same key and the same body creates nothing and gets the original response "
    "again (201, the note as it was created, same `Location`) with `Idempotent-Replayed: true`, even after the "
    "note was changed or deleted. The same key with a different body is a 422. Keys are kept."
)


_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
# An RFC 8941 sf-string: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE (the key's visible-ASCII subset).
_SF_STRING = re.compile(r'"((?:[\x21\x23-\x5b\x5d-\x7e]|\\["\\])+)"')
_SF_ESCAPE = re.compile(r'\\(["\\])')


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The ``requestBody`` of an endpoint that parses its body by hand (:func:`_parse_body`): the model's schema."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _note_link(operation_id: str) -> dict[str, Any]:
    return {"operationId": operation_id, "parameters": {"note_id": "$response.body#/id"}}


_CREATED_HEADERS = {
    "Location": {"description": "the note's URL", "required": True, "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "description": "`true` when the answer was replayed for a repeated `Idempotency-Key`",
        "required": False,
        "schema": {"type": "string", "enum": ["true"]},
    },
}
_CREATED_LINKS = {
    "GetNote": _note_link("getNote"),
    "ReplaceNote": _note_link("replaceNote"),
    "UpdateNote": _note_link("updateNote"),
    "DeleteNote": _note_link("deleteNote"),
}


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


def _require_json(request: Request) -> None:
    """415 for a body declared as anything but JSON (``application/json`` or ``application/*+json``).

    A request without ``Content-Type`` is parsed as JSON, as FastAPI does.
    """
    if not _json_media(request.headers.get("content-type")):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json")


async def _parse_body(request: Request, model: type[_Model]) -> _Model:
    """The JSON body as ``model``: 415 for a non-JSON ``Content-Type``, else 422 naming each bad field.

    POST, PUT and PATCH all parse this way, so malformed JSON and invalid UTF-8 get the same 422 on each
    (FastAPI's own body parsing answered PUT/PATCH differently, and invalid UTF-8 with an undocumented 400).
    """
    _require_json(request)
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(_body_errors(exc)) from None


def _key_error(msg: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ["header", "Idempotency-Key"], "msg": msg, "type": kind}])


def parse_idempotency_key(value: str) -> str | None:
    """The key a header value names (``"k"``, the draft's sf-string form, is ``k``), or None if it is malformed.

    Every value the OpenAPI pattern accepts is a key: one that merely looks quoted (``"a\\b"``, not a valid
    sf-string) is taken literally.
    """
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        return None
    quoted = _SF_STRING.fullmatch(value)
    return _SF_ESCAPE.sub(r"\1", quoted.group(1)) if quoted else value


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key``, unquoted (``"k"`` is ``k``); 422 for two header lines or a bad value."""
    values = request.headers.getlist("idempotency-key")
    if not values:
        return None
    if len(values) > 1:
        raise _key_error("send one Idempotency-Key header, not several", "too_many_values")
    key = parse_idempotency_key(values[0])
    if key is None:
        raise _key_error("1..255 visible ASCII characters (no spaces), e.g. a UUID", "string_pattern_mismatch")
    return key


@notes.post(
    "",
    operation_id="createNote",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteOut,
    responses={
        201: {
            "description": "created, or replayed for a repeated `Idempotency-Key` (then `Idempotent-Replayed: true`)",
            "headers": _CREATED_HEADERS,
            "links": _CREATED_LINKS,
        },
        422: _error("invalid body or key, or an `Idempotency-Key` already used for another body", ValidationProblem),
        **_NOT_JSON,
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
        **_json_body(NoteCreate),
    },
)
async def create_note(request: Request) -> Response:
    """Create a note; ``Location`` points at it. Send ``Idempotency-Key`` to make retries safe.

    The write paths parse and validate their bodies by hand (:func:`_parse_body`): FastAPI's dependency solving
    for a body model and a header was ~1/4 of the endpoint's CPU.
    """
    _require_json(request)
    key = idempotency_key(request)
    payload = await _parse_body(request, NoteCreate)
    row, created = await _store(request).create(payload.title, payload.body, key)
    response_headers = {"Location": f"/api/notes/{row['id']}"}
    if not created:
        response_headers["Idempotent-Replayed"] = "true"
    return _note_response(row, status.HTTP_201_CREATED, response_headers)


@notes.get("", operation_id="listNotes", response_model=NotePage, responses=_INVALID)
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


@notes.get("/{note_id}", operation_id="getNote", response_model=NoteOut, responses={**_NOT_FOUND, **_INVALID})
async def get_note(note_id: NoteId, request: Request) -> Response:
    """One note."""
    row = await _store(request).get(note_id)
    if row is None:
        raise _not_found(note_id)
    return _note_response(row)


@notes.put(
    "/{note_id}",
    operation_id="replaceNote",
    response_model=NoteOut,
    responses={**_NOT_FOUND, **_NOT_JSON, **_INVALID},
    openapi_extra=_json_body(NoteCreate),
)
async def replace_note(note_id: NoteId, request: Request) -> Response:
    """Replace a note's title and body (``body`` defaults to empty)."""
    payload = await _parse_body(request, NoteCreate)
    row = await _store(request).replace(note_id, payload.title, payload.body)
    if row is None:
        raise _not_found(note_id)
    return _note_response(row)


@notes.patch(
    "/{note_id}",
    operation_id="updateNote",
    response_model=NoteOut,
    responses={**_NOT_FOUND, **_NOT_JSON, **_INVALID},
    openapi_extra=_json_body(NotePatch),
)
async def update_note(note_id: NoteId, request: Request) -> Response:
    """Change only the given fields."""
    payload = await _parse_body(request, NotePatch)
    fields: dict[str, Any] = payload.model_dump(exclude_unset=True)
    row = await _store(request).patch(note_id, fields.get("title"), fields.get("body"))
    if row is None:
        raise _not_found(note_id)
    return _note_response(row)


@notes.delete(
    "/{note_id}",
    operation_id="deleteNote",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_NOT_FOUND, **_INVALID},
)
async def delete_note(note_id: NoteId, request: Request) -> Response:
    """Delete a note."""
    if not await _store(request).delete(note_id):
        raise _not_found(note_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


__all__ = ["READYZ_STATEMENT_TIMEOUT_MS", "notes", "pages", "probes"]
