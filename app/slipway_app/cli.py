"""The ``app`` command: ``serve`` (gunicorn), ``migrate`` (Alembic under an advisory lock) and ``check`` (config;
``--database``: a read-only probe of the database, as the restore drill runs it).

Exit codes: 0 success, 1 runtime failure (e.g. database unreachable), 2 invalid configuration or usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from .iam_auth import password_provider
from .logs import configure_logging
from .settings import ConfigError, Settings, display_url, load_settings

log = logging.getLogger("slipway_app.cli")

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2
GUNICORN_CONFIG = "python:slipway_app.gunicorn_conf"


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"app: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def gunicorn_argv() -> list[str]:
    """The exact command ``app serve`` execs (the container's ``CMD ["app", "serve"]``)."""
    return [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONFIG]


def cmd_serve(_args: argparse.Namespace) -> int:
    """Validate the configuration, then replace this process with gunicorn (signals reach its master directly)."""
    _settings_or_exit()
    argv = gunicorn_argv()
    sys.stdout.flush()
    sys.stderr.flush()
    # Fixed argv and no shell; exec keeps the PID, so ECS's SIGTERM reaches gunicorn's master directly.
    os.execv(argv[0], argv)  # noqa: S606  # nosec B606
    return EXIT_FAILURE  # pragma: no cover - execv only returns by raising


def _describe_exception(exc: BaseException) -> str:
    """``Type: first line of the message``, or ``Type (no message)`` for message-less exceptions."""
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message.splitlines()[0]}" if message else f"{type(exc).__name__} (no message)"


def _describe_db_error(exc: SQLAlchemyError) -> str:
    """The first line of the driver's message: actionable, without the SQL/traceback noise (and no password)."""
    orig = getattr(exc, "orig", None) or exc
    return _describe_exception(orig)


def _db_error_hint(exc: SQLAlchemyError) -> str:
    if type(getattr(exc, "orig", None)).__name__ == "LockNotAvailable":
        return (
            "another session holds a lock the migration needs (a long transaction?); it gave up after "
            "DB_MIGRATION_LOCK_TIMEOUT_MS instead of blocking every reader: find it in pg_stat_activity, then "
            "retry"
        )
    return "check DB_HOST/DB_PORT, security groups and credentials; LOG_LEVEL=DEBUG for the traceback"


def cmd_migrate(args: argparse.Namespace) -> int:
    """Upgrade the database to head under the migration lock; print the resulting revision."""
    from . import migrate  # imported lazily: alembic is only needed here

    settings = _settings_or_exit()
    # With --sql, stdout is the SQL script: keep it clean of INFO log lines.
    configure_logging("WARNING" if args.sql else settings.log_level)
    url = settings.sqlalchemy_url()
    target = display_url(url)
    try:
        if args.sql:
            from alembic import command

            command.upgrade(migrate.alembic_config(url=url), "head", sql=True)
            return EXIT_OK
        revision = migrate.upgrade_to_head(
            url,
            lock_timeout_ms=settings.db_migration_lock_timeout_ms,
            app_role=settings.db_app_role,
            password=password_provider(settings),
        )
    except SQLAlchemyError as exc:
        # Expected operational failures (unreachable, refused, lock timeout): one actionable line; the traceback
        # only with LOG_LEVEL=DEBUG.
        log.error(
            "migration failed",
            exc_info=settings.log_level == "DEBUG",
            extra={"database": target, "error": _describe_db_error(exc)},
        )
        print(
            f"app migrate: cannot migrate {target}: {_describe_db_error(exc)} ({_db_error_hint(exc)})", file=sys.stderr
        )
        return EXIT_FAILURE
    except Exception as exc:
        # Anything else is a bug (e.g. in a revision): always log the traceback, inside the JSON line.
        log.error("migration failed", exc_info=True, extra={"database": target, "error": _describe_exception(exc)})
        print(f"app migrate: failed: {_describe_exception(exc)} (traceback in the JSON log)", file=sys.stderr)
        return EXIT_FAILURE
    print(f"database at revision {revision} (head)")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """Print the effective configuration as JSON, secrets masked; with ``--database``, also read the database in a
    read-only transaction (schema revision vs head, row count) and fail unless it is reachable and at head."""
    settings = _settings_or_exit()
    report: dict[str, object] = dict(settings.public_dict())
    if getattr(args, "database", False):
        from sqlalchemy import text

        from . import migrate
        from .db import engine_for_url

        url = settings.sqlalchemy_url()
        try:
            engine = engine_for_url(url, pooled=False, password=password_provider(settings))
            with engine.connect() as conn:
                if url.get_backend_name() == "postgresql":
                    conn.execute(text("SET TRANSACTION READ ONLY"))
                current = migrate.current_revisions(conn)
                notes = conn.execute(text("SELECT count(*) FROM notes")).scalar_one() if current else None
                conn.rollback()
        except SQLAlchemyError as exc:
            print(
                f"app check: cannot read {display_url(url)}: {_describe_db_error(exc)} ({_db_error_hint(exc)})",
                file=sys.stderr,
            )
            return EXIT_FAILURE
        heads = migrate.head_revisions()
        report["database"] = {"revision": sorted(current), "head": sorted(heads), "notes": notes}
        print(json.dumps(report, indent=2, sort_keys=True))
        if current != heads:
            print(
                f"app check: database at {sorted(current) or 'no revision'}, code at {sorted(heads)}", file=sys.stderr
            )
            return EXIT_FAILURE
        return EXIT_OK
    print(json.dumps(report, indent=2, sort_keys=True))
    return EXIT_OK


def cmd_preview_db(args: argparse.Namespace) -> int:
    """Create or drop a preview's database and login role (:mod:`slipway_app.preview_db`)."""
    import psycopg

    from . import preview_db
    from .db import engine_for_url

    settings = _settings_or_exit()
    configure_logging(settings.log_level)
    engine = engine_for_url(settings.sqlalchemy_url(), pooled=False, password=password_provider(settings))
    try:
        (preview_db.create if args.action == "create" else preview_db.drop)(engine, args.name)
    except preview_db.PreviewDatabaseError as exc:
        print(f"app preview-db: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except SQLAlchemyError as exc:
        print(f"app preview-db {args.action} {args.name}: {_describe_db_error(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except psycopg.Error as exc:
        print(f"app preview-db {args.action} {args.name}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        engine.dispose()
    print(f"preview database {args.name}: {args.action}d")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``app --help``)."""
    parser = argparse.ArgumentParser(prog="app", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run gunicorn with uvicorn workers on 0.0.0.0:$PORT").set_defaults(func=cmd_serve)
    migrate = sub.add_parser("migrate", help="upgrade the database schema to head (safe to run concurrently)")
    migrate.add_argument("--sql", action="store_true", help="print the SQL instead of running it (offline mode)")
    migrate.set_defaults(func=cmd_migrate)
    check = sub.add_parser("check", help="validate the configuration and print it (secrets masked)")
    check.add_argument(
        "--database",
        action="store_true",
        help="also read the database, read-only: fail unless reachable and at the migrations' head",
    )
    check.set_defaults(func=cmd_check)
    preview = sub.add_parser("preview-db", help="create or drop a pull request's preview database pr_<n>")
    preview.add_argument("action", choices=("create", "drop"))
    preview.add_argument("name", help="pr_<number>")
    preview.set_defaults(func=cmd_preview_db)
    from .jobs import add_commands  # worker (SQS queue) and prune-keys (scheduled job)

    add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``app`` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
