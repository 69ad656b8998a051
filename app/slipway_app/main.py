"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from . import __version__, routing
from .api import notes, pages, probes
from .db import make_store
from .fastlane import FastLaneMiddleware
from .middleware import MAX_BODY_BYTES, BodySizeLimitMiddleware, RequestContextMiddleware
from .migrate import head_revisions
from .settings import Settings, load_settings
from .store import IdempotencyKeyReusedError, NoteStore

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Warm the store's connections at start-up (in the background); close them when the worker shuts down."""
    store: NoteStore = app.state.store
    await store.open()
    log.info("app started", extra={"app_env": app.state.settings.app_env, "version": __version__})
    try:
        yield
    finally:
        await store.close()
        log.info("app stopped, database connections closed")


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 naming each bad field; the offending input is not echoed back."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")} for err in errors
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 + Retry-After; logged by kind (refused, timeout, shutdown...), rate-limited per worker (dberrors.py)."""
    request.app.state.store.outage.failure(exc, method=request.method, path=request.url.path)
    return JSONResponse(
        {"detail": "database unavailable, try again later"}, status_code=503, headers={"Retry-After": "5"}
    )


async def _database_rejected(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database rejected the data", extra={"error_type": type(exc).__name__})
    return JSONResponse({"detail": "the database rejected the data"}, status_code=422)


async def _idempotency_key_reused(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "this Idempotency-Key was already used for a different request; use a new key per request"},
        status_code=422,
    )


def create_app(settings: Settings | None = None, *, fast_lane: bool = True) -> FastAPI:
    """Build the app for ``settings`` (default: validated from the environment). Does not configure logging.

    ``fast_lane=False`` leaves the two hot routes to FastAPI's routing too (:mod:`slipway_app.fastlane`; the
    tests compare both paths answer alike).
    """
    settings = settings or load_settings()
    docs = None if settings.app_env == "prod" else "/docs"
    app = FastAPI(
        title="slipway sample app",
        version=__version__,
        lifespan=lifespan,
        docs_url=docs,
        redoc_url=None,
        openapi_url="/openapi.json",
        # FastAPI's native OpenTelemetry hooks off: the app ships no OpenTelemetry SDK or exporter (its logs and the
        # ALB's metrics are what ops read), and with them on every request asks the global providers whether
        # anything is configured (~3 % of a request's CPU measured). A team adding OpenTelemetry turns them on here.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.store = make_store(settings)
    app.state.migration_heads = head_revisions()
    # The routers' routes go straight onto the app's router: FastAPI >= 0.16x wraps each include_router() in a
    # lazily resolved _IncludedRouter that is walked on every request (~10 % of a GET's CPU measured in-process).
    # The routers carry no prefix-level dependencies or settings of their own, so nothing is lost.
    for router in (pages, probes, notes):
        app.router.routes.extend(router.routes)
    routing.install(app.router)  # trailing-slash redirects with a relative Location, never the client's Host
    app.add_exception_handler(405, routing.method_not_allowed)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # Connection failures, statement/lock timeouts, server shutdown and a full pool all mean "try again later":
    # psycopg's OperationalError (PostgreSQL path; the pool's PoolTimeout is one) and SQLAlchemy's (SQLite path;
    # its pool TimeoutError is not an OperationalError).
    app.add_exception_handler(psycopg.OperationalError, _database_unavailable)
    app.add_exception_handler(psycopg.InterfaceError, _database_unavailable)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeoutError, _database_unavailable)
    # A database not (yet) migrated to this version's schema: the table or column is missing. /readyz reports it;
    # requests meanwhile get the same 503 + Retry-After as an outage, not a 500 (SQLite's "no such table" is an
    # OperationalError, above).
    app.add_exception_handler(psycopg.errors.UndefinedTable, _database_unavailable)
    app.add_exception_handler(psycopg.errors.UndefinedColumn, _database_unavailable)
    app.add_exception_handler(psycopg.DataError, _database_rejected)
    app.add_exception_handler(psycopg.IntegrityError, _database_rejected)
    app.add_exception_handler(DataError, _database_rejected)
    app.add_exception_handler(IntegrityError, _database_rejected)
    app.add_exception_handler(IdempotencyKeyReusedError, _idempotency_key_reused)
    # Added first = innermost of ours: the hot routes skip FastAPI's layers but keep the two middlewares below.
    if fast_lane:
        app.add_middleware(FastLaneMiddleware, handlers=app.exception_handlers)
    app.add_middleware(routing.HeadMiddleware)  # HEAD on every GET route, outside the lane: it serves HEAD too
    # Added last = outermost: the request id and security headers wrap everything, including 413s.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(RequestContextMiddleware)
    return app
