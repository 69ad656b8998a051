"""Cross-cutting HTTP behaviour: security headers, request ids, JSON access/error logs, body limit, JSON 500."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from slipway_app.main import create_app
from slipway_app.middleware import MAX_BODY_BYTES, sane_request_id
from sqlalchemy.engine import URL

EXPECTED_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@pytest.fixture
def app(sqlite_url: URL, settings_for: Any) -> FastAPI:
    """An app on SQLite with an extra route that crashes."""
    application = create_app(settings_for(sqlite_url, db_password="s3cr3t-value-123"))

    def boom() -> None:
        raise RuntimeError("internal detail: /srv/private/path")

    application.add_api_route("/boom", boom)
    return application


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    """Client that turns unhandled exceptions into responses (like a real server)."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _chunks(total: int, size: int = 4096) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


def _requests(http: TestClient) -> dict[int, Any]:
    return {
        200: http.get("/healthz"),
        201: http.post("/api/notes", json={"title": "x"}),
        404: http.get("/nowhere"),
        405: http.put("/healthz"),
        413: http.post("/api/notes", content=b"x" * (MAX_BODY_BYTES + 1), headers={"content-type": "text/plain"}),
        422: http.post("/api/notes", json={"title": ""}),
        500: http.get("/boom"),
    }


def test_security_headers_on_every_status(http: TestClient) -> None:
    for status, response in _requests(http).items():
        assert response.status_code == status, response.text
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers.get(name) == value, (status, name)
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, status
        assert response.headers["strict-transport-security"].startswith("max-age="), status
        assert response.headers["x-request-id"], status
        assert response.headers["content-type"].startswith("application/json"), status


def test_unhandled_exception_is_a_json_500_without_internals(http: TestClient, json_logs: Any) -> None:
    response = http.get("/boom", headers={"X-Request-ID": "req-boom-1"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error", "request_id": "req-boom-1"}
    assert "/srv/private" not in response.text and "RuntimeError" not in response.text
    errors = [r for r in json_logs.records if r["level"] == "ERROR"]
    assert errors and errors[0]["request_id"] == "req-boom-1"
    assert "RuntimeError" in errors[0]["exc_info"]


def test_request_id_is_echoed_when_sane_else_generated(http: TestClient) -> None:
    assert http.get("/healthz", headers={"X-Request-ID": "abc.DEF_123-x"}).headers["x-request-id"] == "abc.DEF_123-x"
    for bad in ["", "has space", "x" * 129, "semi;colon", "<script>", "é"]:
        echoed = http.get("/healthz", headers={"X-Request-ID": bad.encode("utf-8")}).headers["x-request-id"]
        assert echoed != bad and sane_request_id(echoed) == echoed
    generated = {http.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(generated) == 3
    assert all(len(rid) == 32 for rid in generated)


def test_access_log_is_one_json_line_with_request_id(http: TestClient, json_logs: Any) -> None:
    http.post("/api/notes", json={"title": "logged"}, headers={"X-Request-ID": "trace-42"})
    access = [r for r in json_logs.records if r["logger"] == "slipway_app.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "trace-42"
    assert (line["method"], line["path"], line["status"]) == ("POST", "/api/notes", 201)
    assert isinstance(line["duration_ms"], float) and line["client"]
    assert {"ts", "level", "message"} <= set(line)


def test_every_log_line_during_a_request_carries_its_id(http: TestClient, json_logs: Any, app: FastAPI) -> None:
    import logging

    def noisy() -> dict[str, str]:
        logging.getLogger("slipway_app.test").warning("inside the handler")
        return {"ok": "yes"}

    app.add_api_route("/noisy", noisy)
    http.get("/noisy", headers={"X-Request-ID": "noisy-1"})
    lines = [r for r in json_logs.records if r.get("request_id") == "noisy-1"]
    assert {r["logger"] for r in lines} >= {"slipway_app.test", "slipway_app.access"}
    http.get("/healthz")
    logging.getLogger("slipway_app.test").warning("outside any request")
    assert "request_id" not in json_logs.records[-1]


def test_secrets_never_appear_in_logs(http: TestClient, json_logs: Any) -> None:
    _requests(http)
    http.get("/readyz")
    assert json_logs.records  # something was logged, and all of it is JSON
    assert "s3cr3t-value-123" not in json_logs.text


def test_body_limit_with_content_length(http: TestClient) -> None:
    response = http.post(
        "/api/notes", content=b"{" + b" " * MAX_BODY_BYTES + b"}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in response.json()["detail"]


def test_body_limit_with_chunked_body(http: TestClient) -> None:
    response = http.post(
        "/api/notes", content=_chunks(MAX_BODY_BYTES * 2), headers={"content-type": "application/json"}
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.headers["x-frame-options"] == "DENY"


def test_chunked_body_under_the_limit_is_accepted(http: TestClient) -> None:
    payload = b'{"title": "chunked", "body": "' + b"y" * 5000 + b'"}'
    response = http.post(
        "/api/notes", content=iter([payload[:100], payload[100:]]), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


def test_invalid_content_length_is_400(http: TestClient) -> None:
    response = http.post(
        "/api/notes", content=b"{}", headers={"content-length": "abc", "content-type": "application/json"}
    )
    assert response.status_code == 400


def test_log_lines_stay_one_json_line_whatever_the_values() -> None:
    import json
    import logging

    from slipway_app.logs import JsonFormatter

    formatter = JsonFormatter()
    record = logging.LogRecord("slipway_app.test", logging.INFO, "f", 1, "a %s", ("line\nbreak",), None)
    record.path, record.odd, record.text = "/é", object(), "ok"
    line = formatter.format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "a line\nbreak" and parsed["path"] == "/é" and parsed["odd"].startswith("<object")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", parsed["ts"])
    # Text UTF-8 cannot carry (a lone surrogate, e.g. from a file name): still one parseable line.
    record.text, record.raw = "\udcff", b"\xff"
    parsed = json.loads(formatter.format(record))
    assert parsed["text"] == "\udcff" and parsed["path"] == "/é"
