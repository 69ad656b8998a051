"""HTTP routes: landing page, health/readiness probes and the notes API."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .migrate import current_revisions
from .models import Note
from .schemas import NoteCreate, NoteOut, NotePage, NotePatch

log = logging.getLogger(__name__)

INT32_MAX = 2**31 - 1
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
def healthz() -> dict[str, str]:
    """Liveness: the process serves HTTP. Never touches the database (a DB outage must not kill tasks)."""
    return {"status": "ok"}


@probes.get("/readyz", responses={503: {"description": "database unreachable or migrations not at head"}})
def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and its schema revision equals the packaged migrations' head."""
    heads: set[str] = request.app.state.migration_heads
    try:
        with request.app.state.engine.connect() as conn:
            current = current_revisions(conn)
    except SQLAlchemyError as exc:
        log.warning("readiness check failed: database unreachable", extra={"error_type": type(exc).__name__})
        return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, status_code=503)
    if current != heads:
        return JSONResponse({"status": "unavailable", "reason": "database schema is not at the migrations head "
                             "(run `app migrate`)", "current": sorted(current), "head": sorted(heads)},
                            status_code=503)
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
def list_notes(session: SessionDep,
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
    return NotePage(items=[NoteOut.model_validate(n) for n in items], limit=limit, offset=offset,
                    next_cursor=next_cursor)


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
