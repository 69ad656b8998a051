"""The fast lane (``slipway_app.fastlane``) answers exactly as FastAPI's routing does, and does serve the hot routes.

One corpus of requests, good and bad, goes through an app with the fast lane and one without, each on the same
PostgreSQL database reset to the same state: status, headers and body must be equal (timestamps aside).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from slipway_app import fastlane
from slipway_app.main import create_app
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from .conftest import make_settings

JSON = {"content-type": "application/json"}
NOTE = b'{"title": "hello", "body": "world"}'
# (method, path, headers, body): the hot routes' good and bad requests, and neighbours the lane must leave alone.
CORPUS: list[tuple[str, str, dict[str, str], bytes]] = [
    ("POST", "/api/notes", JSON, NOTE),
    ("POST", "/api/notes", {"content-type": "application/json; charset=utf-8"}, b'{"title": "t2"}'),
    ("POST", "/api/notes", {"content-type": "application/merge-patch+json"}, b'{"title": "t3"}'),
    ("POST", "/api/notes", {}, b'{"title": "no content type"}'),
    ("POST", "/api/notes", {"content-type": "text/plain"}, NOTE),
    ("POST", "/api/notes", {"content-type": "application/x-www-form-urlencoded"}, b"title=x"),
    ("POST", "/api/notes", JSON, b"{bad json"),
    ("POST", "/api/notes", JSON, b""),
    ("POST", "/api/notes", JSON, b"[]"),
    ("POST", "/api/notes", JSON, b"\xff\xfe"),
    ("POST", "/api/notes", JSON, b'{"title": ""}'),
    ("POST", "/api/notes", JSON, b'{"title": "x", "extra": 1}'),
    ("POST", "/api/notes", JSON, b'{"title": "nul\\u0000"}'),
    ("POST", "/api/notes", JSON, b'{"title": "' + b"x" * 201 + b'"}'),
    ("POST", "/api/notes", {**JSON, "idempotency-key": "key-1"}, NOTE),
    ("POST", "/api/notes", {**JSON, "idempotency-key": "key-1"}, NOTE),  # replay
    ("POST", "/api/notes", {**JSON, "idempotency-key": "key-1"}, b'{"title": "other"}'),  # key reused
    ("POST", "/api/notes", {**JSON, "idempotency-key": "has space"}, NOTE),
    ("POST", "/api/notes", {**JSON, "idempotency-key": "k" * 256}, NOTE),
    ("POST", "/api/notes", {**JSON, "content-length": "70000"}, NOTE),
    ("POST", "/api/notes/", JSON, NOTE),
    ("POST", "/api/notes?x=1", JSON, b'{"title": "query"}'),
    ("GET", "/api/notes/1", {}, b""),
    ("GET", "/api/notes/2", {}, b""),
    ("GET", "/api/notes/1?unknown=1", {}, b""),
    ("GET", "/api/notes/%31", {}, b""),
    ("GET", "/api/notes/999999", {}, b""),
    ("GET", f"/api/notes/{2**31 - 1}", {}, b""),
    ("GET", f"/api/notes/{2**31}", {}, b""),
    ("GET", "/api/notes/9999999999", {}, b""),
    ("GET", "/api/notes/" + "9" * 40, {}, b""),
    ("GET", "/api/notes/0", {}, b""),
    ("GET", "/api/notes/01", {}, b""),
    ("GET", "/api/notes/-1", {}, b""),
    ("GET", "/api/notes/1.0", {}, b""),
    ("GET", "/api/notes/abc", {}, b""),
    ("GET", "/api/notes/\u0661", {}, b""),
    ("GET", "/api/notes/1/", {}, b""),
    ("GET", "/api/notes", {}, b""),
    ("HEAD", "/api/notes/1", {}, b""),
    ("PUT", "/api/notes/1", JSON, b'{"title": "replaced"}'),
    ("DELETE", "/api/notes/2", {}, b""),
    ("GET", "/api/notes/2", {}, b""),
    # issue 22: replays of the original answer, quoted keys, HEAD, Allow, canonical ids, relative redirects.
    ("PATCH", "/api/notes/5", JSON, b'{"title": "edited"}'),  # note 5 was created with key-1
    ("POST", "/api/notes", {**JSON, "idempotency-key": "key-1"}, NOTE),  # the original 201, not the edited note
    ("POST", "/api/notes", {**JSON, "idempotency-key": '"key-1"'}, NOTE),  # the quoted form is the same key
    ("POST", "/api/notes", {**JSON, "idempotency-key": "key-1"}, b'{"title": "edited"}'),  # another request: 422
    ("POST", "/api/notes", {**JSON, "idempotency-key": "key-2"}, b'{"title": "doomed"}'),
    ("DELETE", "/api/notes/7", {}, b""),  # the note key-2 created
    ("POST", "/api/notes", {**JSON, "idempotency-key": "key-2"}, b'{"title": "doomed"}'),  # spent: replayed
    ("HEAD", "/api/notes/5", {}, b""),
    ("HEAD", "/api/notes/999999", {}, b""),
    ("HEAD", "/api/notes/1_37", {}, b""),
    ("GET", "/api/notes/1_37", {}, b""),
    ("GET", "/api/notes/%20137", {}, b""),
    ("GET", "/api/notes/+1", {}, b""),
    ("GET", "/api/notes/1.0", {}, b""),
    ("OPTIONS", "/api/notes/1", {}, b""),
    ("POST", "/api/notes/1", JSON, NOTE),
    ("GET", "/api/notes/", {"host": "evil.example"}, b""),
    ("PUT", "/api/notes/1", JSON, b"{bad json"),
    ("PATCH", "/api/notes/1", JSON, b"\xff\xfe"),
    ("PATCH", "/api/notes/1", JSON, b'{"title": null}'),
]
_TIMESTAMP = re.compile(rb'"(created_at|updated_at)":"[^"]*"')


def _reset(url: URL) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE notes, idempotency_keys RESTART IDENTITY"))
    engine.dispose()


def _answers(client: TestClient) -> list[tuple[int, list[tuple[str, str]], bytes]]:
    out = []
    for number, (method, path, headers, body) in enumerate(CORPUS):
        response = client.request(
            method,
            path,
            content=body or None,
            headers={**headers, "x-request-id": f"corpus-{number}"},
            follow_redirects=False,
        )
        content = _TIMESTAMP.sub(rb'"\1":"<ts>"', response.content)
        headers_out = sorted((k, v) for k, v in response.headers.items() if k != "content-length")
        out.append((response.status_code, headers_out, content))
    return out


@pytest.fixture
def lane_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths the fast lane served itself (not passed on to FastAPI)."""
    calls: list[str] = []
    serve = fastlane.FastLaneMiddleware._serve

    async def counting(self: Any, scope: Any, receive: Any, send: Any, endpoint: Any) -> None:
        calls.append(f"{scope['method']} {scope['path']}")
        await serve(self, scope, receive, send, endpoint)

    monkeypatch.setattr(fastlane.FastLaneMiddleware, "_serve", counting)
    yield calls


def test_fast_lane_answers_like_fastapi(pg_url: URL, lane_calls: list[str]) -> None:
    answers: dict[bool, list[tuple[int, list[tuple[str, str]], bytes]]] = {}
    for lane in (False, True):
        _reset(pg_url)
        with TestClient(create_app(make_settings(pg_url), fast_lane=lane), raise_server_exceptions=False) as client:
            answers[lane] = _answers(client)
    for request, without, with_lane in zip(CORPUS, answers[False], answers[True], strict=True):
        assert with_lane == without, request[:2]
    statuses = {status for status, _, _ in answers[True]}
    assert {200, 201, 204, 307, 404, 405, 413, 415, 422}.issubset(statuses), (
        statuses
    )  # the corpus covers every answer kind
    # It served the hot routes' plain forms and left the rest (bad ids, other methods, trailing slash) to FastAPI.
    assert "GET /api/notes/1" in lane_calls and "POST /api/notes" in lane_calls
    assert not any(call.endswith(("/0", "/01", "/-1", "/abc", "/1/", "9" * 40)) for call in lane_calls)
    assert not any(call.startswith(("PUT", "PATCH", "DELETE", "OPTIONS")) for call in lane_calls)
    assert "GET /api/notes/5" in lane_calls  # HEAD reaches the lane as GET (HeadMiddleware sits outside it)


@pytest.mark.parametrize("lane", [False, True])
def test_database_down_is_the_same_503(lane: bool, lane_calls: list[str]) -> None:
    settings = make_settings("postgresql://app@127.0.0.1:1/app")
    with TestClient(create_app(settings, fast_lane=lane), raise_server_exceptions=False) as client:
        got = client.get("/api/notes/1"), client.post("/api/notes", content=NOTE, headers=JSON)
    for response in got:
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json() == {"detail": "database unavailable, try again later"}
    assert len(lane_calls) == (2 if lane else 0)


@pytest.mark.parametrize("lane", [False, True])
def test_an_unexpected_error_is_the_same_json_500(lane: bool, sqlite_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(make_settings(sqlite_url), fast_lane=lane)

    async def broken(_note_id: int) -> None:
        raise RuntimeError("internal detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        monkeypatch.setattr(app.state.store, "get", broken)
        response = client.get("/api/notes/7", headers={"x-request-id": "r-500"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error", "request_id": "r-500"}
    assert "internal detail" not in response.text


def test_the_lane_serves_only_routes_the_app_declares_with_the_same_endpoints(sqlite_url: URL) -> None:
    from fastapi.routing import APIRoute
    from slipway_app import api

    app = create_app(make_settings(sqlite_url))
    declared = {(m, r.path): r.endpoint for r in app.routes if isinstance(r, APIRoute) for m in r.methods}
    assert declared[("GET", fastlane.NOTES_PATH + "/{note_id}")] is api.get_note is fastlane.get_note
    assert declared[("POST", fastlane.NOTES_PATH)] is api.create_note is fastlane.create_note


def test_the_lane_keeps_the_app_middlewares(sqlite_url: URL, client_for: Callable[..., TestClient]) -> None:
    client = client_for(make_settings(sqlite_url))
    response = client.post("/api/notes", content=b'{"title": "' + b"x" * 70_000 + b'"}', headers=JSON)
    assert response.status_code == 413  # the body limit sits outside the lane
    response = client.get("/api/notes/1")
    assert response.status_code == 404
    assert response.headers["x-content-type-options"] == "nosniff"  # the security headers too
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
