"""The notes API on SQLite and PostgreSQL: CRUD, pagination, and 4xx (never 500) on bad input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


def _create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/notes", json={"title": "t", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_crud_roundtrip(client: TestClient) -> None:
    response = client.post("/api/notes", json={"title": "Hello", "body": "world ✓"})
    assert response.status_code == 201
    note = response.json()
    assert response.headers["location"] == f"/api/notes/{note['id']}"
    assert note["title"] == "Hello" and note["body"] == "world ✓"
    assert note["created_at"].endswith(("Z", "+00:00"))

    assert client.get(f"/api/notes/{note['id']}").json() == note

    patched = client.patch(f"/api/notes/{note['id']}", json={"body": "changed"})
    assert patched.status_code == 200
    assert patched.json()["title"] == "Hello" and patched.json()["body"] == "changed"
    assert patched.json()["updated_at"] >= note["updated_at"]

    replaced = client.put(f"/api/notes/{note['id']}", json={"title": "New"})
    assert replaced.status_code == 200
    assert replaced.json()["title"] == "New" and replaced.json()["body"] == ""

    deleted = client.delete(f"/api/notes/{note['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get(f"/api/notes/{note['id']}").status_code == 404
    assert client.delete(f"/api/notes/{note['id']}").status_code == 404


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_missing_note_is_404(client: TestClient, method: str) -> None:
    kwargs: dict[str, Any] = {} if method in ("get", "delete") else {"json": {"title": "x"}}
    response = client.request(method.upper(), "/api/notes/424242", **kwargs)
    assert response.status_code == 404
    assert "424242" in response.json()["detail"]


def test_list_pagination_with_cursor_and_offset(client: TestClient) -> None:
    ids = [_create(client, title=f"n{i}")["id"] for i in range(5)]
    first = client.get("/api/notes", params={"limit": 2}).json()
    assert [n["id"] for n in first["items"]] == ids[:2]
    assert first["next_cursor"] == ids[1]
    second = client.get("/api/notes", params={"limit": 2, "after": first["next_cursor"]}).json()
    assert [n["id"] for n in second["items"]] == ids[2:4]
    third = client.get("/api/notes", params={"limit": 2, "after": second["next_cursor"]}).json()
    assert [n["id"] for n in third["items"]] == ids[4:]
    assert third["next_cursor"] is None
    by_offset = client.get("/api/notes", params={"limit": 3, "offset": 3}).json()
    assert [n["id"] for n in by_offset["items"]] == ids[3:]
    default = client.get("/api/notes").json()
    assert default["limit"] == 20 and len(default["items"]) == 5


@pytest.mark.parametrize(
    "params",
    [{"limit": 101}, {"limit": 0}, {"limit": -1}, {"limit": "ten"}, {"offset": -1}, {"after": "x"}, {"after": 2**40}],
)
def test_list_rejects_bad_paging(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get("/api/notes", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]


@pytest.mark.parametrize("note_id", ["abc", "1.5", "0", "-3", str(2**31), str(2**63), "9" * 40])
def test_bad_ids_are_422(client: TestClient, note_id: str) -> None:
    for method in ("GET", "DELETE", "PATCH"):
        response = client.request(method, f"/api/notes/{note_id}", json={"title": "x"})
        assert response.status_code == 422, (method, response.text)
        assert response.json()["detail"][0]["loc"] == ["path", "note_id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": 5}, "title"),
        ({"title": None}, "title"),
        ({"title": ["a"]}, "title"),
        ({"title": "ok", "body": "b" * 10_001}, "body"),
        ({"title": "ok", "body": 12}, "body"),
        ({"title": "nul\x00byte"}, "title"),
        ({"title": "ok", "body": "nul\x00"}, "body"),
        ({"title": "ok", "extra": 1}, "extra"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/notes", json=body)
    assert response.status_code == 422, response.text
    locs = [err["loc"] for err in response.json()["detail"]]
    assert ["body", field] in locs
    assert "input" not in response.json()["detail"][0]  # the offending value is not echoed back


def test_limits_are_inclusive(client: TestClient) -> None:
    note = _create(client, title="x" * 200, body="é" * 10_000)
    assert len(note["title"]) == 200 and len(note["body"]) == 10_000


@pytest.mark.parametrize("raw", [b"{bad json", b"", b"[]", b"null", b'"str"', b"\xff\xfe", b'{"title": "a",}'])
def test_malformed_json_is_4xx(client: TestClient, raw: bytes) -> None:
    response = client.post("/api/notes", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


def test_patch_validation(client: TestClient) -> None:
    note = _create(client)
    assert client.patch(f"/api/notes/{note['id']}", json={}).status_code == 422
    assert client.patch(f"/api/notes/{note['id']}", json={"title": None}).status_code == 422
    assert client.patch(f"/api/notes/{note['id']}", json={"body": "\x00"}).status_code == 422
    assert client.get(f"/api/notes/{note['id']}").json() == note


def test_landing_page_and_openapi(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "slipway" in page.text and "<script" not in page.text
    spec = client.get("/openapi.json").json()
    assert {"/api/notes", "/api/notes/{note_id}", "/healthz", "/readyz"} <= set(spec["paths"])


def test_docs_only_outside_prod(settings_for: Any, client_for: Any, sqlite_url: Any) -> None:
    local = client_for(settings_for(sqlite_url)).get("/docs")
    assert local.status_code == 200 and "cdn.jsdelivr.net" in local.headers["content-security-policy"]
    prod = client_for(settings_for(sqlite_url, app_env="prod", secret_key="x" * 32))
    assert prod.get("/docs").status_code == 404
    assert prod.get("/openapi.json").status_code == 200
