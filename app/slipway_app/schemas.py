"""Request and response bodies of the notes API (pydantic v2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .models import BODY_MAX, TITLE_MAX

# The rules below are written once, as the regular expressions the OpenAPI document publishes (``pattern``), and
# the validators apply the same expressions: what the document calls valid is accepted, and only that.
# No NUL anywhere (PostgreSQL text cannot store it; rejected on every backend alike).
BODY_PATTERN = r"^[^\x00]*$"
# ... and a title has at least one character that is neither NUL nor whitespace. Whitespace is spelled out (what
# str.isspace() calls whitespace: the 29 code points below), so every regex engine (Python's, ECMAScript's, the
# Rust one jsonschema-rs uses) reads the published pattern alike.
_VISIBLE = r"[^\x00\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
TITLE_PATTERN = rf"^[^\x00]*{_VISIBLE}[^\x00]*$"
_NO_NUL = re.compile(BODY_PATTERN)
_NOT_BLANK = re.compile(_VISIBLE)
Title = Annotated[
    str,
    Field(
        min_length=1,
        max_length=TITLE_MAX,
        description="1..200 characters, at least one not whitespace, no NUL",
        json_schema_extra={"pattern": TITLE_PATTERN},
    ),
]
# Idempotency-Key: 1..255 visible ASCII characters (no spaces or control characters), e.g. a UUID.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
Body = Annotated[
    str,
    Field(
        max_length=BODY_MAX,
        description="at most 10 000 characters, no NUL",
        json_schema_extra={"pattern": BODY_PATTERN},
    ),
]


def _check_text(value: str, *, blank_ok: bool) -> str:
    if not _NO_NUL.match(value):
        raise ValueError("must not contain NUL (\\u0000) characters")
    if not blank_ok and not _NOT_BLANK.search(value):
        raise ValueError("must not be blank")
    return value


def _not_nullable(schema: dict[str, Any]) -> None:
    """PATCH's fields may be left out but never be null: publish them as plain (non-nullable) strings."""
    for prop in schema.get("properties", {}).values():
        options = prop.pop("anyOf", None)
        if options:
            prop.update(next(option for option in options if option.get("type") != "null"))
        prop.pop("default", None)
    schema["minProperties"] = 1


class NoteCreate(BaseModel):
    """Body of ``POST /api/notes`` and ``PUT /api/notes/{id}`` (a full replacement)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: Title
    body: Body = ""

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return _check_text(value, blank_ok=False)

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _check_text(value, blank_ok=True)


class NotePatch(BaseModel):
    """Body of ``PATCH /api/notes/{id}``: only the fields given change (at least one; neither may be null)."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_not_nullable)

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


class ErrorMessage(BaseModel):
    """An error answered with one message (400, 404, 413, 415, 503)."""

    detail: str


class FieldError(BaseModel):
    """One invalid input: where (``loc``, e.g. ``["body", "title"]``), what (``msg``) and its kind (``type``)."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(BaseModel):
    """A 422: each invalid field, or one message (an ``Idempotency-Key`` used for another request, data the
    database refused)."""

    detail: list[FieldError] | str


class Readiness(BaseModel):
    """``/readyz``: ``ok`` with the schema revision, or ``unavailable`` with the reason (and the revisions)."""

    status: str
    revision: str | None = Field(None, description="the database's schema revision (200 only)")
    reason: str | None = Field(None, description="why the task is not ready (503 only)")
    current: list[str] | None = Field(None, description="the database's revision(s) when not at head (503 only)")
    head: list[str] | None = Field(None, description="the packaged head revision(s) (503 only)")
