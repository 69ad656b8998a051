"""``Idempotency-Key`` on POST /api/notes (both backends), 415 for non-JSON bodies, and the OpenAPI description."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL


def _post(client: TestClient, body: dict[str, Any], key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/api/notes", json=body, headers=headers)


def _count(url: URL, key: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT count(*) FROM notes WHERE idempotency_key = :k"), {"k": key}).scalar_one()
            )
    finally:
        engine.dispose()


def test_a_retry_with_the_same_key_returns_the_original_response(client: TestClient, db_url: URL) -> None:
    key = str(uuid.uuid4())
    first = _post(client, {"title": "once", "body": "b"}, key)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = _post(client, {"title": "once", "body": "b"}, key)
    assert again.status_code == 201
    assert again.json() == first.json()  # same id, same timestamps: the original note
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert _count(db_url, key) == 1
    other = _post(client, {"title": "once", "body": "b"}, str(uuid.uuid4()))
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]  # another key: another note
    unkeyed = [_post(client, {"title": "once", "body": "b"}, None).json()["id"] for _ in range(2)]
    assert len(set(unkeyed)) == 2  # without a key every POST creates


def test_the_same_key_with_another_body_is_a_422(client: TestClient, db_url: URL) -> None:
    key = "reused-key-1"
    assert _post(client, {"title": "first"}, key).status_code == 201
    response = _post(client, {"title": "second"}, key)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert _count(db_url, key) == 1


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\there", "é"])
def test_malformed_keys_are_422(client: TestClient, key: str) -> None:
    response = client.post("/api/notes", json={"title": "t"}, headers={"Idempotency-Key": key.encode("utf-8")})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_concurrent_requests_with_one_key_create_one_note(pg_url: URL, settings_for: Any, client_for: Any) -> None:
    client = client_for(settings_for(pg_url))
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: _post(client, {"title": "race"}, key), range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 7
    assert _count(pg_url, key) == 1


def test_a_deleted_notes_key_is_spent(client: TestClient, db_url: URL) -> None:
    """Deleting the note does not free its key: a retry still gets the original answer and creates nothing."""
    key = "spent-key"
    first = _post(client, {"title": "gone"}, key)
    assert client.delete(f"/api/notes/{first.json()['id']}").status_code == 204
    again = _post(client, {"title": "gone"}, key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()  # the original answer, not a new note
    assert client.get(first.headers["location"]).status_code == 404  # and nothing was re-created
    assert _post(client, {"title": "other"}, key).status_code == 422  # nor can the key start a new note
    assert _count(db_url, key) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_a_non_json_content_type_is_415(client: TestClient, content_type: str, method: str) -> None:
    path = "/api/notes" if method == "POST" else "/api/notes/1"
    response = client.request(method, path, content=b'{"title": "x"}', headers={"content-type": content_type})
    assert response.status_code == 415, response.text
    assert response.json() == {"detail": "Content-Type must be application/json"}


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"]
)
def test_json_content_types_are_accepted(client: TestClient, content_type: str) -> None:
    response = client.post("/api/notes", content=b'{"title": "x"}', headers={"content-type": content_type})
    assert response.status_code == 201, response.text


def test_the_api_documents_the_key_and_the_new_statuses(client: TestClient) -> None:
    post = client.get("/openapi.json").json()["paths"]["/api/notes"]["post"]
    header = next(p for p in post["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["required"] is False
    assert "retry" in header["description"] and "Idempotent-Replayed" in header["description"]
    assert {"201", "415", "422", "503"} <= set(post["responses"])
