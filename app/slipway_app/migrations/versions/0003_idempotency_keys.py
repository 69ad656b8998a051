"""Keep each ``Idempotency-Key`` with a fingerprint of its request and the answer it got (expand-only).

``idempotency_keys`` outlives the note a key created: a retry after the note was edited is answered with the original
201 (same id, timestamps, title and body), a retry after it was deleted too, and the same key with another body is a
422, whatever happened to the note since (the IETF ``Idempotency-Key`` draft). Existing keys are copied from
``notes.idempotency_key``, which stays (still written, so a version still serving during the rollout keeps
arbitrating on its unique index); a later revision may drop it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fingerprint(title: str, body: str) -> str:
    # Frozen copy of slipway_app.store.request_fingerprint as of this revision (a test keeps them equal).
    return hashlib.sha256(b"POST /api/notes\n" + title.encode() + b"\x00" + body.encode()).hexdigest()


def upgrade() -> None:
    """Create ``idempotency_keys`` and copy the keys already stored on notes."""
    keys = op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    rows = op.get_bind().execute(
        sa.text("SELECT idempotency_key, title, body, id, created_at FROM notes WHERE idempotency_key IS NOT NULL")
    )
    op.bulk_insert(
        keys,
        [
            {"key": key, "fingerprint": _fingerprint(title, body), "note_id": note_id, "created_at": created_at}
            for key, title, body, note_id, created_at in rows
        ],
    )


def downgrade() -> None:
    """Drop ``idempotency_keys`` (keys stay on their notes)."""
    op.drop_table("idempotency_keys")
