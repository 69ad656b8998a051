"""What failed when the database failed, and logging it without one ERROR line per request during an outage.

:func:`classify` names the failure (``kind``): ``connection_refused``, ``connect_timeout``, ``connection_lost``,
``admin_shutdown`` (the server was stopped or restarted: ``terminating connection due to administrator command``),
``crash_shutdown``, ``starting_up`` (``the database system is starting up``/``shutting down``), ``statement_timeout``,
``lock_timeout``, ``pool_timeout`` (no free pooled connection in time), ``schema_not_migrated`` (a table or column
of this version's schema is missing: ``app migrate`` has not run) or ``operational_error``.

:class:`OutageLog` logs the first failure of each kind at ERROR at once, then counts the rest for ``window``
seconds and emits one summary line per kind and window (``"suppressed": N``), plus one INFO line with the totals
when the next request succeeds (``database recovered``). An outage of any length costs a handful of lines.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SAPoolTimeout

from .pgpool import PoolClosed, PoolTimeout

log = logging.getLogger("slipway_app.database")

SUMMARY_WINDOW_SECONDS = 10.0

_BY_TYPE: tuple[tuple[type[BaseException], str], ...] = (
    (PoolTimeout, "pool_timeout"),
    (SAPoolTimeout, "pool_timeout"),
    (PoolClosed, "shutting_down"),
    (pg_errors.QueryCanceled, "statement_timeout"),
    (pg_errors.LockNotAvailable, "lock_timeout"),
    (pg_errors.AdminShutdown, "admin_shutdown"),
    (pg_errors.CrashShutdown, "crash_shutdown"),
    (pg_errors.CannotConnectNow, "starting_up"),
    (pg_errors.UndefinedTable, "schema_not_migrated"),
    (pg_errors.UndefinedColumn, "schema_not_migrated"),
)
# libpq/psycopg messages of connection-level failures (no SQLSTATE): substring -> kind.
_BY_MESSAGE: tuple[tuple[str, str], ...] = (
    ("connection refused", "connection_refused"),
    ("timeout expired", "connect_timeout"),
    ("timed out", "connect_timeout"),
    ("terminating connection due to administrator command", "admin_shutdown"),
    ("the database system is", "starting_up"),
    ("server closed the connection", "connection_lost"),
    ("consuming input failed", "connection_lost"),
    ("connection is closed", "connection_lost"),
    ("connection is lost", "connection_lost"),
    ("sending query failed", "connection_lost"),
    ("could not receive data", "connection_lost"),
    ("could not send data", "connection_lost"),
    ("ssl syscall error", "connection_lost"),
    ("no route to host", "connection_refused"),
    ("could not translate host name", "name_resolution"),
)


def _driver_error(exc: BaseException) -> BaseException:
    """The psycopg exception behind a SQLAlchemy one (or ``exc`` itself)."""
    if isinstance(exc, SQLAlchemyError) and not isinstance(exc, SAPoolTimeout):
        orig = getattr(exc, "orig", None)
        if isinstance(orig, BaseException):
            return orig
    return exc


def classify(exc: BaseException) -> tuple[str, str]:
    """``(kind, detail)`` for a database failure; ``detail`` is the first line of the driver's message."""
    err = _driver_error(exc)
    detail = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
    for exc_type, kind in _BY_TYPE:
        if isinstance(err, exc_type):
            return kind, detail
    text = str(err).lower()
    for needle, kind in _BY_MESSAGE:
        if needle in text:
            return kind, detail
    if isinstance(err, psycopg.OperationalError | psycopg.InterfaceError):
        return "operational_error", detail
    return type(err).__name__, detail


@dataclass
class _Window:
    started: float
    first_detail: str
    error_type: str
    suppressed: int = 0


@dataclass
class OutageLog:
    """Rate-limited ERROR logging of database failures, per kind (one instance per worker process)."""

    window: float = SUMMARY_WINDOW_SECONDS
    _windows: dict[str, _Window] = field(default_factory=dict)
    _totals: dict[str, int] = field(default_factory=dict)
    _since: float | None = None

    def failure(self, exc: BaseException, **context: object) -> str:
        """Record one failed request; log it (first of its kind in the window) or count it. Returns the kind."""
        kind, detail = classify(exc)
        now = time.monotonic()
        if self._since is None:
            self._since = now
        self._totals[kind] = self._totals.get(kind, 0) + 1
        current = self._windows.get(kind)
        if current is not None and now - current.started < self.window:
            current.suppressed += 1
            return kind
        if current is not None and current.suppressed:
            self._summary(kind, current, now)
        self._windows[kind] = _Window(started=now, first_detail=detail, error_type=type(_driver_error(exc)).__name__)
        log.error(
            f"database unavailable: {kind}",
            extra={"error_kind": kind, "error_type": type(_driver_error(exc)).__name__, "error": detail, **context},
        )
        return kind

    def success(self) -> None:
        """A request reached the database: close an outage (summaries + one ``database recovered`` line)."""
        if self._since is None:
            return
        now = time.monotonic()
        for kind, current in self._windows.items():
            if current.suppressed:
                self._summary(kind, current, now)
        log.info(
            "database recovered",
            extra={"outage_seconds": round(now - self._since, 3), "failed_requests": dict(self._totals)},
        )
        self._windows.clear()
        self._totals.clear()
        self._since = None

    @staticmethod
    def _summary(kind: str, current: _Window, now: float) -> None:
        log.error(
            f"database unavailable: {kind} ({current.suppressed} more failed requests not logged one by one)",
            extra={
                "error_kind": kind,
                "error_type": current.error_type,
                "error": current.first_detail,
                "suppressed": current.suppressed,
                "window_seconds": round(now - current.started, 3),
            },
        )
