"""ORM models (SQLAlchemy 2 typed declarative). The schema is owned by the Alembic migrations in ``migrations/``;
``tests/test_app_migrations.py`` checks that these models and the migrations never drift apart."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, MetaData, String, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

TITLE_MAX = 200
BODY_MAX = 10_000
IDEMPOTENCY_KEY_MAX = 255

# Deterministic constraint names, so migrations can refer to (and drop) them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Note(Base):
    """A short text note."""

    __tablename__ = "notes"
    __table_args__ = (
        CheckConstraint(f"length(title) >= 1 AND length(title) <= {TITLE_MAX}", name="title_length"),
        CheckConstraint(f"length(body) <= {BODY_MAX}", name="body_length"),
        Index(
            "uq_notes_idempotency_key",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
            sqlite_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow, server_default=func.now()
    )
    # The Idempotency-Key of the POST that created the note (NULL without one); unique where set (migration 0002).
    # Its trigger (0003) copies it, with the request and the answer, into idempotency_keys.
    idempotency_key: Mapped[str | None] = mapped_column(String(IDEMPOTENCY_KEY_MAX), nullable=True)


class IdempotencyKey(Base):
    """An ``Idempotency-Key``, the request it came with and the answer it got (migration 0003).

    Written by the ``notes_keep_idempotency_key`` trigger with the note (same statement); kept after the note is
    edited or deleted. ``title``/``body`` are the original request's, ``note_id``/``created_at`` the 201's note.
    """

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_MAX), primary_key=True)
    note_id: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(TITLE_MAX), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
