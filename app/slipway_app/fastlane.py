"""The two hot routes (``GET /api/notes/{id}``, ``POST /api/notes``) dispatched straight to their endpoints.

FastAPI's per-request machinery around an endpoint (its exception/telemetry/body-limit/exit-stack middleware layers,
route matching over every route, dependency solving, two async exit stacks) was the largest share of the app's
CPU per request after the database driver (issue 14, profiled with py-spy under wrk). This pure ASGI middleware,
innermost of the app's own, serves the two routes that carry the load by calling **the same endpoint functions**
(:func:`slipway_app.api.get_note`, :func:`slipway_app.api.create_note`) and answering their exceptions with **the
app's own registered exception handlers** (looked up by the exception's class hierarchy as Starlette does), so the
answers are the same bytes; ``tests/test_app_fastlane.py`` sends one corpus of requests, good and bad, through
both paths and compares status, headers and body.

Everything it does not recognise exactly goes to FastAPI unchanged: other methods and paths, an id that is not a
plain decimal in 1..2147483647 (FastAPI answers the 422), a trailing slash (FastAPI's redirect). OpenAPI, docs and
validation of every other route are FastAPI's as before.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .api import INT32_MAX, create_note, get_note, notes

# The notes router's own prefix (/api/notes): the lane follows the routes if they move.
NOTES_PATH = notes.prefix
# A plain decimal id without leading zeros, at most 10 digits: anything else (0, -1, 007, 1e3, 99999999999) is
# left to FastAPI, which answers it with its own 422.
_NOTE_PATH = re.compile(re.escape(NOTES_PATH) + r"/([1-9][0-9]{0,9})")

ExceptionHandler = Callable[[Request, Any], Response | Awaitable[Response]]


class FastLaneMiddleware:
    """Serve ``GET /api/notes/{id}`` and ``POST /api/notes`` without FastAPI's routing and dependency layers."""

    def __init__(self, app: ASGIApp, handlers: Mapping[Any, ExceptionHandler]) -> None:
        self.app = app
        # The app's exception handlers (FastAPI keeps them in this dict; add_exception_handler writes to it).
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch the hot routes; pass everything else through."""
        if scope["type"] == "http":
            method = scope["method"]
            if method == "GET":
                match = _NOTE_PATH.fullmatch(scope["path"])
                if match is not None and int(match.group(1)) <= INT32_MAX:
                    note_id = int(match.group(1))
                    await self._serve(scope, receive, send, lambda request: get_note(note_id, request))
                    return
            elif method == "POST" and scope["path"] == NOTES_PATH:
                await self._serve(scope, receive, send, create_note)
                return
        await self.app(scope, receive, send)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        endpoint: Callable[[Request], Awaitable[Response]],
    ) -> None:
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)

    def _handler_for(self, exc: Exception) -> ExceptionHandler | None:
        # Starlette's order (ExceptionMiddleware): a handler for the HTTPException's status code, then by class.
        if isinstance(exc, HTTPException) and exc.status_code in self.handlers:
            return self.handlers[exc.status_code]
        for cls in type(exc).__mro__:
            handler = self.handlers.get(cls)
            if handler is not None:
                return handler
        return None
