"""Request and response bodies of the notes API (pydantic v2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .models import BODY_MAX, TITLE_MAX

Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX, description="1..200 characters, not blank")]
# Idempotency-Key: 1..255 visible ASCII characters (no spaces or control characters), e.g. a UUID.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
Body = Annotated[str, Field(max_length=BODY_MAX, description="at most 10 000 characters")]


def _check_text(value: str | None, *, blank_ok: bool) -> str | None:
    if value is None:
        return None
    if "\x00" in value:  # PostgreSQL text cannot store NUL; reject on every backend alike
        raise ValueError("must not contain NUL (\\u0000) characters")
    if not blank_ok and not value.strip():
        raise ValueError("must not be blank")
    return value


class NoteCreate(BaseModel):
    """Body of ``POST /api/notes`` and ``PUT /api/notes/{id}`` (a full replacement)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: Title
    body: Body = ""

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return _check_text(value, blank_ok=False) or value

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _check_text(value, blank_ok=True) or value


class NotePatch(BaseModel):
    """Body of ``PATCH /api/notes/{id}``: only the fields given change (at least one)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: Title | None = None
    body: Body | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("must not be null")
        return _check_text(value, blank_ok=False)

    @field_validator("body")
    @classmethod
    def _body(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("must not be null")
        return _check_text(value, blank_ok=True)

    @model_validator(mode="after")
    def _not_empty(self) -> NotePatch:
        if not self.model_fields_set:
            raise ValueError("give at least one of: title, body")
        return self


class NoteOut(BaseModel):
    """A stored note."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str
    created_at: datetime
    updated_at: datetime

    @field_validator("created_at", "updated_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        """SQLite returns naive datetimes; they were written as UTC."""
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class NotePage(BaseModel):
    """One page of notes in id order; pass ``next_cursor`` as ``after`` to get the next page."""

    items: list[NoteOut]
    limit: int
    offset: int
    next_cursor: int | None = Field(description="id to pass as `after` for the next page; null on the last page")
