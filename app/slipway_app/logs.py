"""JSON logging: one JSON object per line on stdout, with the current request id (a context variable) when set.

Used by the app, the CLI and gunicorn (``logconfig_dict`` in :mod:`slipway_app.gunicorn_conf`), so every line the
container writes to CloudWatch is structured.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
import sys
import time
import traceback
from functools import lru_cache
from typing import Any

import pydantic_core

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is emitted as a field.
# ``color_message`` is uvicorn's ANSI-coloured duplicate of the message.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


@lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


class JsonFormatter(logging.Formatter):
    """Format a record as a single-line compact JSON object: ts, level, logger, message, request_id, extras, exc_info.

    Values JSON has no type for are rendered with ``str``; text is UTF-8 as is (not ``\\u`` escaped).
    """

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record``; values that are not JSON-serialisable are rendered with ``str``."""
        out: dict[str, Any] = {
            # ISO 8601 in UTC with milliseconds (2026-11-30T17:05:40.123+00:00); the seconds part is cached.
            "ts": f"{_utc_second(int(record.created))}.{int(record.msecs):03d}+00:00",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            out["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in out:
                out[key] = value
        if record.exc_info:
            out["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            out["exc_info"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            out["exc_info"] = record.exc_text
        if record.stack_info:
            out["stack_info"] = record.stack_info
        try:
            # pydantic-core's encoder (already the app's response serialiser): ~6x faster than json.dumps here.
            return pydantic_core.to_json(out, fallback=str).decode()
        except pydantic_core.PydanticSerializationError:
            # Text UTF-8 cannot carry (a lone surrogate, bytes that are not UTF-8): \u-escaped, still one line.
            return json.dumps(out, default=str)


class KnownShutdownNoise(logging.Filter):
    """Drop gunicorn's ``Error while closing socket [Errno 9] Bad file descriptor`` (nothing else).

    Logged by every uvicorn worker at every exit: uvicorn closes its listening sockets after the event loop's server
    already closed them (benoitc/gunicorn#3013, diagnosed there as harmless). Every task stop would otherwise show an
    "Error" line that means nothing.
    """

    MESSAGE = "Error while closing socket [Errno 9] Bad file descriptor"

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) for exactly that message."""
        return record.getMessage() != self.MESSAGE


def logging_dict(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: root logs JSON to stdout; server access loggers are silenced.

    Access lines come from :class:`slipway_app.middleware.RequestContextMiddleware` (one JSON line per request),
    so gunicorn's and uvicorn's own access loggers are switched off to avoid duplicates.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "slipway_app.logs.JsonFormatter"}},
        "filters": {"shutdown_noise": {"()": "slipway_app.logs.KnownShutdownNoise"}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True, "filters": ["shutdown_noise"]},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
            "alembic": {"level": "WARNING", "handlers": [], "propagate": True},
            "alembic.runtime.migration": {"level": level, "handlers": [], "propagate": True},
            "sqlalchemy.engine": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def lean_records() -> None:
    """Stop ``logging`` collecting per record what :class:`JsonFormatter` never prints (process-wide).

    The caller's file/line/function (a frame walk per record), thread, process and multiprocessing names: the
    optimisations the logging HOWTO lists. With one access line per request this is ~1/3 of the line's cost.
    """
    logging._srcfile = None  # documented in the logging HOWTO ("Optimization")
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def configure_logging(level: str = "INFO") -> None:
    """(Re)configure process-wide logging as JSON on stdout at ``level``; idempotent."""
    lean_records()
    logging.config.dictConfig(logging_dict(level))
    logging.captureWarnings(True)
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a real text stream (not a test capture): flush every line
        reconfigure(line_buffering=True)
