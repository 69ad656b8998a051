"""Keep each ``Idempotency-Key`` with its original request and answer, after its note is edited or deleted.

``idempotency_keys`` holds, per key, the request it came with (the validated title and body) and the answer it got
(the note's id and creation time). A retry with the same key and body is answered with the original 201 whatever
happened to the note since; the same key with another body is a 422 (the IETF ``Idempotency-Key`` draft).

The row is written by a trigger on ``notes`` (``AFTER INSERT ... WHEN idempotency_key IS NOT NULL``), in the same
statement as the note: a keyed POST stays one autocommit statement, on PostgreSQL and SQLite alike, and a previous
version serving during the rollout (it writes ``notes.idempotency_key`` and nothing else) records its keys too.
Existing keys are copied from ``notes.idempotency_key``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGER = "notes_keep_idempotency_key"
_COPY = (
    "INSERT INTO idempotency_keys (key, note_id, title, body, created_at) "
    "VALUES (NEW.idempotency_key, NEW.id, NEW.title, NEW.body, NEW.created_at)"
)


def upgrade() -> None:
    """Create ``idempotency_keys``, copy the keys stored on notes, and the trigger that records new ones."""
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    op.execute(
        "INSERT INTO idempotency_keys (key, note_id, title, body, created_at) "
        "SELECT idempotency_key, id, title, body, created_at FROM notes WHERE idempotency_key IS NOT NULL"
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {_COPY}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON notes FOR EACH ROW "
            f"WHEN (NEW.idempotency_key IS NOT NULL) EXECUTE FUNCTION {TRIGGER}()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON notes FOR EACH ROW "
            f"WHEN NEW.idempotency_key IS NOT NULL BEGIN {_COPY}; END"
        )


def downgrade() -> None:
    """Drop the trigger and ``idempotency_keys`` (keys stay on their notes)."""
    op.execute(
        f"DROP TRIGGER {TRIGGER} ON notes"
        if op.get_context().dialect.name == "postgresql"
        else f"DROP TRIGGER {TRIGGER}"
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {TRIGGER}()")
    op.drop_table("idempotency_keys")
