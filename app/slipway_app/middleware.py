"""Pure ASGI middleware (no ``BaseHTTPMiddleware``: streaming bodies and context variables behave).

* :class:`RequestContextMiddleware` (outermost): request id, security headers on every response, one JSON access
  line per request, and a JSON 500 for unhandled exceptions (logged with the request id, internals not leaked).
* :class:`BodySizeLimitMiddleware`: 413 when ``Content-Length`` or the bytes actually streamed exceed the limit
  (and ``Connection: close``: the unread rest of the body must not be taken for the next request).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logs import request_id_var

access_log = logging.getLogger("slipway_app.access")
error_log = logging.getLogger("slipway_app.error")

REQUEST_ID_HEADER = "x-request-id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# Content-Length = 1*DIGIT, ASCII digits only: str.isdigit() also accepts "²" or "٣", on which int() raises.
_CONTENT_LENGTH = re.compile(r"[0-9]+")
MAX_BODY_BYTES = 64 * 1024

# Strict by default: the API and the landing page load nothing (the page has no script and no inline style).
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; img-src 'self'"
# Swagger UI (/docs, only outside prod) loads its assets from jsDelivr and runs one inline bootstrap script.
DOCS_CSP = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
)


def sane_request_id(value: str | None) -> str:
    """The incoming request id when it is sane (<= 128 chars of ``[A-Za-z0-9._-]``), else 32 fresh random hex digits."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return secrets.token_hex(16)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _merge_headers(
    headers: Iterable[tuple[bytes, bytes]], extra: Iterable[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """``headers`` plus each ``extra`` header the response does not already set."""
    out = list(headers)
    present = {key.lower() for key, _ in out}
    out.extend((key, value) for key, value in extra if key not in present)
    return out


def _json_response_messages(status: int, payload: dict[str, object], *, close: bool = False) -> tuple[Message, Message]:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # the server closes the connection after this response (uvicorn honours the header)
        headers.append((b"connection", b"close"))
    start: Message = {"type": "http.response.start", "status": status, "headers": headers}
    return start, {"type": "http.response.body", "body": body, "more_body": False}


class RequestContextMiddleware:
    """Request id + security headers + access log + last-resort JSON 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection scope; non-HTTP scopes (lifespan) pass straight through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = sane_request_id(_header(scope, REQUEST_ID_HEADER.encode()))
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope.get("path", "")
        csp = DOCS_CSP if path in DOCS_PATHS else STRICT_CSP
        extra = (
            *SECURITY_HEADERS,
            (b"content-security-policy", csp.encode()),
            (b"cache-control", b"no-store"),
            (REQUEST_ID_HEADER.encode(), request_id.encode()),
        )
        status = 500
        started = False
        t0 = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                message = {**message, "headers": _merge_headers(headers, extra)}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            error_log.exception("unhandled exception", extra={"method": scope.get("method"), "path": path})
            status = 500
            if started:  # too late for a clean 500: let the server abort the connection
                raise
            for message in _json_response_messages(500, {"detail": "Internal Server Error", "request_id": request_id}):
                await send_wrapper(message)
        finally:
            client = scope.get("client")
            access_log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - t0) * 1000, 2),
                    "client": client[0] if client else None,
                    "http_version": scope.get("http_version"),
                    "user_agent": _header(scope, b"user-agent"),
                },
            )
            request_id_var.reset(token)


class BodyTooLargeError(Exception):
    """Raised from ``receive`` once a streamed request body exceeds the limit."""


class BodySizeLimitMiddleware:
    """Reject request bodies larger than ``max_bytes`` with 413 (declared length or streamed/chunked bytes)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length up front, then count the bytes the app actually receives."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            digits = declared.strip()
            if not _CONTENT_LENGTH.fullmatch(digits):
                await self._reply(send, 400, "invalid Content-Length header")
                return
            # Count digits first: int() refuses strings of more than 4300 digits (leading zeros included).
            significant = digits.lstrip("0") or "0"
            if len(significant) > len(str(self.max_bytes)) or int(significant) > self.max_bytes:
                await self._reply(send, 413, f"request body larger than {self.max_bytes} bytes")
                return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # the app turned our exception into some other response: replace it with 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._reply(send, 413, f"request body larger than {self.max_bytes} bytes")
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLargeError:
            if not started:
                started = True
                await self._reply(send, 413, f"request body larger than {self.max_bytes} bytes")

    @staticmethod
    async def _reply(send: Send, status: int, detail: str) -> None:
        # Connection: close: the client may still be sending the body we refused to read; leaving the connection
        # open would make the server parse those bytes as the next request (or wait for them).
        for message in _json_response_messages(status, {"detail": detail}, close=True):
            await send(message)
