"""HTTP routes: landing page, health/readiness probes and the notes API."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse
from psycopg import errors as pg_errors
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from .migrate import current_revisions
from .models import Note
from .schemas import NoteCreate, NoteOut, NotePage, NotePatch

log = logging.getLogger(__name__)

INT32_MAX = 2**31 - 1
# /readyz's own statement timeout (below the request default): the ALB health check times out after 5 s.
READYZ_STATEMENT_TIMEOUT_MS = 2_000
NoteId = Annotated[int, Path(ge=1, le=INT32_MAX, description="note id (1..2147483647)")]

probes = APIRouter(tags=["probes"])
notes = APIRouter(prefix="/api/notes", tags=["notes"])
pages = APIRouter(include_in_schema=False)

_INDEX_HTML = resources.files("slipway_app").joinpath("static/index.html").read_text(encoding="utf-8")


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, always closed."""
    with request.app.state.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@pages.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    """A tiny static landing page."""
    return HTMLResponse(_INDEX_HTML)


@probes.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process serves HTTP. Never touches the database (a DB outage must not kill tasks).

    ``async def`` on purpose: it runs on the event loop, so it answers even when every threadpool thread is stuck
    in a database-bound request (a sync ``def`` would queue behind them and the ALB/ECS check would time out).
    Nothing here may block.
    """
    return {"status": "ok"}


def _readiness_failure_reason(exc: SQLAlchemyError) -> str:
    if isinstance(exc, PoolTimeoutError):
        return "database busy: no free pooled connection"
    if isinstance(getattr(exc, "orig", None), pg_errors.QueryCanceled | pg_errors.LockNotAvailable):
        return "database did not answer in time"
    return "database unreachable"


@probes.get("/readyz", responses={503: {"description": "database unreachable or migrations not at head"}})
def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and its schema revision equals the packaged migrations' head.

    Bounded: connect timeout 3 s, pool wait 2 s, and its own ``statement_timeout`` of 2 s (``SET LOCAL``), so a
    table lock or a stalled database gives a 503 instead of a hung probe.
    """
    heads: set[str] = request.app.state.migration_heads
    try:
        with request.app.state.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # A constant integer, not user input; SET cannot take bind parameters.
                conn.execute(text(f"SET LOCAL statement_timeout = {int(READYZ_STATEMENT_TIMEOUT_MS)}"))
            current = current_revisions(conn)
    except SQLAlchemyError as exc:
        reason = _readiness_failure_reason(exc)
        log.warning(f"readiness check failed: {reason}", extra={"error_type": type(exc).__name__})
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


def _get_or_404(session: Session, note_id: int) -> Note:
    note = session.get(Note, note_id)
    if note is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"note {note_id} not found")
    return note


@notes.post("", status_code=status.HTTP_201_CREATED, response_model=NoteOut)
def create_note(payload: NoteCreate, session: SessionDep, response: Response) -> Note:
    """Create a note; ``Location`` points at it."""
    note = Note(title=payload.title, body=payload.body)
    session.add(note)
    session.commit()
    response.headers["Location"] = f"/api/notes/{note.id}"
    return note


@notes.get("", response_model=NotePage)
def list_notes(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100, description="page size, 1..100")] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000, description="rows to skip")] = 0,
    after: Annotated[int | None, Query(ge=0, le=INT32_MAX, description="cursor: ids after this")] = None,
) -> NotePage:
    """Notes in id order. Page with ``after=<next_cursor>`` (stable under inserts) or ``offset``."""
    query = select(Note).order_by(Note.id).limit(limit).offset(offset)
    if after is not None:
        query = query.where(Note.id > after)
    items = list(session.scalars(query))
    next_cursor = items[-1].id if len(items) == limit else None
    return NotePage(
        items=[NoteOut.model_validate(n) for n in items], limit=limit, offset=offset, next_cursor=next_cursor
    )


@notes.get("/{note_id}", response_model=NoteOut, responses={404: {"description": "no such note"}})
def get_note(note_id: NoteId, session: SessionDep) -> Note:
    """One note."""
    return _get_or_404(session, note_id)


@notes.put("/{note_id}", response_model=NoteOut, responses={404: {"description": "no such note"}})
def replace_note(note_id: NoteId, payload: NoteCreate, session: SessionDep) -> Note:
    """Replace a note's title and body (``body`` defaults to empty)."""
    note = _get_or_404(session, note_id)
    note.title, note.body = payload.title, payload.body
    session.commit()
    return note


@notes.patch("/{note_id}", response_model=NoteOut, responses={404: {"description": "no such note"}})
def update_note(note_id: NoteId, payload: NotePatch, session: SessionDep) -> Note:
    """Change only the given fields."""
    note = _get_or_404(session, note_id)
    for field, value in payload.model_dump(exclude_unset=True).items():
        setattr(note, field, value)
    session.commit()
    return note


@notes.delete("/{note_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {"description": "no such note"}})
def delete_note(note_id: NoteId, session: SessionDep) -> Response:
    """Delete a note."""
    session.delete(_get_or_404(session, note_id))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
