"""HTTP method semantics around the app's routes (RFC 9110), as pure ASGI pieces installed by ``main.create_app``.

* :class:`HeadMiddleware`: ``HEAD`` on every ``GET`` route (RFC 9110 9.3.2): routed as ``GET``, the same status
  and headers (``Content-Length`` included), no body. FastAPI's routes answer ``HEAD`` with 405 on their own.
* :func:`method_not_allowed`: a 405's ``Allow`` lists every method the resource supports (RFC 9110 15.5.6), not
  only those of the first route whose path matched (Starlette's answer), ``HEAD`` included wherever ``GET`` is.
* :class:`SlashRedirect`: ``/api/notes/`` -> 307 to ``/api/notes``, with a **relative** ``Location`` (path and
  query): Starlette's own redirect built an absolute URL from the request's ``Host`` header, so ``Host:
  evil.example`` sent clients to ``http://evil.example/api/notes``.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadMiddleware:
    """Serve ``HEAD`` as ``GET`` without the body (the headers, ``Content-Length`` included, are the GET's)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route HEAD as GET and drop the response body."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves at ``scope``'s path (plus HEAD where GET is), sorted."""
    methods: set[str] = set()
    for route in routes:
        match, _ = route.matches(scope)
        route_methods = getattr(route, "methods", None)
        if match != Match.NONE and route_methods:
            methods.update(route_methods)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def method_not_allowed(request: Request, _exc: Exception) -> Response:
    """405 with ``Allow`` naming every method of the resource (the exception handler for status 405)."""
    allow = ", ".join(allowed_methods(request.app.router.routes, request.scope))
    return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": allow})


class SlashRedirect:
    """The router's fallback: a 307 to the path with(out) its trailing slash when that path is a route, else 404."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.not_found = router.not_found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Redirect to the other spelling of the path if a route serves it; otherwise the router's 404."""
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path != "/":
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            candidate = {**scope, "path": other}
            if other.startswith("/") and not other.startswith("//"):
                if any(route.matches(candidate)[0] != Match.NONE for route in self.router.routes):
                    location = scope.get("root_path", "") + quote(other)
                    if query := scope.get("query_string", b""):
                        location += "?" + query.decode("latin-1")
                    await Response(status_code=307, headers={"Location": location})(scope, receive, send)
                    return
        await self.not_found(scope, receive, send)


def install(router: Router) -> None:
    """Replace Starlette's slash redirect (absolute, from ``Host``) with :class:`SlashRedirect` on ``router``."""
    router.redirect_slashes = False
    router.default = SlashRedirect(router)
