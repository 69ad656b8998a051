"""``app preview-db create|drop pr_<n>``: a pull request's preview database inside the shared dev instance.

Run by the preview's database-creating task, signed in as dev's master user (the only task that gets that
secret). ``create`` makes the login role ``pr_<n>`` (no superuser, createdb, createrole, replication or bypassrls;
``rds_iam`` where it exists, so it signs in with IAM tokens only) and the database ``pr_<n>`` owned by it, with
``CONNECT`` revoked from ``PUBLIC``: no other preview and no dev role may connect to it. The preview's own ``app
migrate`` then runs as ``pr_<n>``, the owner. ``drop`` removes both (``WITH (FORCE)`` ends open sessions).

Only names ``pr_<n>`` are accepted, so this command can never touch dev's own database or roles. Both are
idempotent. What stays open: PostgreSQL grants ``CONNECT`` to ``PUBLIC`` on databases by default, so ``pr_<n>`` may
still connect to dev's database (it gets no privilege on dev's tables); revoking ``CONNECT`` from ``PUBLIC`` there
is dev's decision (docs/previews.md).
"""

from __future__ import annotations

import re

from psycopg import sql
from sqlalchemy import Engine

PREVIEW_NAME = re.compile(r"^pr_[1-9][0-9]{0,5}$")
RDS_IAM_ROLE = "rds_iam"


class PreviewDatabaseError(Exception):
    """The name is not a preview's, or the role exists with privileges a preview must not have."""


def _check(name: str) -> None:
    if not PREVIEW_NAME.match(name):
        raise PreviewDatabaseError(f"{name!r} is not a preview database name (pr_<number>)")


def create(engine: Engine, name: str) -> None:
    """Create (or keep) role and database ``name``; refuse a privileged role of that name."""
    _check(name)
    ident = sql.Identifier(name)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute(
                "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication "
                "FROM pg_roles WHERE rolname = %s",
                (name,),
            )
            found = cur.fetchone()
            if found is None:
                cur.execute(
                    sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE CONNECTION LIMIT 20").format(
                        ident
                    )
                )
            elif found[0]:
                raise PreviewDatabaseError(f"role {name!r} exists with privileges a preview must not have")
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (RDS_IAM_ROLE,))
            if cur.fetchone() is not None:
                cur.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(RDS_IAM_ROLE), ident))
            # CREATE DATABASE ... OWNER needs the creator to be able to SET ROLE to the owner (PostgreSQL 16+).
            cur.execute("SELECT pg_has_role(current_user, %s, 'USAGE')", (name,))
            row = cur.fetchone()
            if not (row and row[0]):
                cur.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(ident))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(ident, ident))
            cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(ident))


def drop(engine: Engine, name: str) -> None:
    """Drop database and role ``name`` if they exist."""
    _check(name)
    ident = sql.Identifier(name)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))
