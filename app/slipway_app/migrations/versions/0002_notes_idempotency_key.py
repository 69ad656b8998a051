"""Store the ``Idempotency-Key`` of the POST that created a note (expand-only).

A nullable column (no rewrite, no default: instant on PostgreSQL) and a partial unique index built
``CONCURRENTLY`` outside the revision's transaction, so writers are never blocked while it builds. The app version
still serving during a rollout ignores both (it never writes the column); the new version finds the key with
``INSERT ... ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_notes_idempotency_key"


def upgrade() -> None:
    """Add ``notes.idempotency_key`` and its partial unique index (built concurrently on PostgreSQL)."""
    op.add_column("notes", sa.Column("idempotency_key", sa.String(length=255), nullable=True))
    with op.get_context().autocommit_block():
        if op.get_context().dialect.name == "postgresql":
            # A failed concurrent build leaves an INVALID index behind: drop it before (re)trying.
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
        op.create_index(
            INDEX,
            "notes",
            ["idempotency_key"],
            unique=True,
            postgresql_concurrently=True,
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
        )


def downgrade() -> None:
    """Drop the index and the column."""
    op.drop_index(INDEX, table_name="notes")
    op.drop_column("notes", "idempotency_key")
