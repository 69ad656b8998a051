"""HTTP semantics an independent API tester found wrong (issue 22), each checked on both backends where it applies.

Idempotency replays the original answer (RFC draft ``Idempotency-Key``); ``HEAD`` and ``Allow`` (RFC 9110); ids
are plain decimals; the trailing-slash redirect never names a host the client chose; an un-migrated database is a
503; PUT/PATCH parse bodies as POST does; the OpenAPI document describes every answer.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from slipway_app.main import create_app
from slipway_app.migrate import downgrade, upgrade_to_head
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from .conftest import make_settings

JSON = {"content-type": "application/json"}


def _post(client: TestClient, body: dict[str, Any], *keys: str) -> Any:
    headers = [("content-type", "application/json"), *(("idempotency-key", key) for key in keys)]
    return client.post("/api/notes", json=body, headers=headers)


def _notes(url: URL) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM notes")).scalar_one())
    finally:
        engine.dispose()


# -- 1. Idempotency: the original answer, whatever happened to the note since -------------------------------------


def test_a_retry_after_the_note_changed_gets_the_original_201(client: TestClient, db_url: URL) -> None:
    key = str(uuid.uuid4())
    first = _post(client, {"title": "original", "body": "b"}, key)
    assert first.status_code == 201
    note = first.json()
    edited = client.patch(f"/api/notes/{note['id']}", json={"title": "edited"})
    assert edited.status_code == 200 and edited.json()["title"] == "edited"
    again = _post(client, {"title": "original", "body": "b"}, key)
    assert again.status_code == 201, again.text
    assert again.json() == note  # the note as it was created: title, body, id and both timestamps
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    # A different payload that happens to equal the edited note is still a different request.
    other = _post(client, {"title": "edited", "body": "b"}, key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    assert _notes(db_url) == 1


def test_the_same_payload_in_other_json_spelling_is_the_same_request(client: TestClient) -> None:
    key = str(uuid.uuid4())
    first = client.post("/api/notes", content=b'{"title":"t","body":""}', headers={**JSON, "idempotency-key": key})
    again = client.post("/api/notes", content=b'{ "title" : "t" }', headers={**JSON, "idempotency-key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"


def test_a_quoted_key_is_the_same_key(client: TestClient) -> None:
    first = _post(client, {"title": "q"}, "abc-123")
    again = _post(client, {"title": "q"}, '"abc-123"')  # the draft's sf-string form
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    escaped = _post(client, {"title": "e"}, '"a\\"b"')  # sf-string escape: the key a"b
    assert escaped.status_code == 201
    assert _post(client, {"title": "e"}, 'a"b').headers["idempotent-replayed"] == "true"


def test_two_key_header_lines_are_refused(client: TestClient, db_url: URL) -> None:
    response = _post(client, {"title": "two"}, "key-one", "key-two")
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert _notes(db_url) == 0


def test_keys_stored_before_0003_replay_after_the_upgrade(pg_databases: Any) -> None:
    """Migration 0003 copies the keys 0002 stored on notes, with their request and answer."""
    url = pg_databases.create()
    upgrade_to_head(url)
    downgrade(url, "0002")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO notes (title, body, idempotency_key) VALUES ('old', 'kept', 'k-0002')"))
    upgrade_to_head(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT note_id, title, body FROM idempotency_keys")).one() == (1, "old", "kept")
        conn.execute(text("UPDATE notes SET title = 'edited'"))
    engine.dispose()
    with TestClient(create_app(make_settings(url)), raise_server_exceptions=False) as client:
        again = _post(client, {"title": "old", "body": "kept"}, "k-0002")
        assert again.status_code == 201 and again.json()["id"] == 1 and again.json()["title"] == "old"
        assert again.headers["idempotent-replayed"] == "true"
        assert _post(client, {"title": "edited", "body": "kept"}, "k-0002").status_code == 422
    assert _notes(url) == 1


def test_a_previous_versions_keyed_insert_records_its_key(db_url: URL, client_for: Any) -> None:
    """The trigger records keys whoever inserts the note: a version still serving during the rollout too."""
    engine = create_engine(db_url)
    with engine.begin() as conn:  # what version 0002 of the app sends
        conn.execute(text("INSERT INTO notes (title, body, idempotency_key) VALUES ('v2', '', 'k-v2')"))
    engine.dispose()
    client = client_for(make_settings(db_url))
    again = _post(client, {"title": "v2"}, "k-v2")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert _notes(db_url) == 1


# -- 2. HEAD and Allow ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lane", [False, True])
def test_head_is_served_on_every_get_route(sqlite_url: URL, lane: bool) -> None:
    with TestClient(create_app(make_settings(sqlite_url), fast_lane=lane)) as client:
        note = _post(client, {"title": "h"}).json()
        for path in ("/healthz", "/readyz", "/api/notes", f"/api/notes/{note['id']}", "/openapi.json", "/"):
            got, head = client.get(path), client.head(path)
            assert head.status_code == got.status_code == 200, path
            assert head.content == b""
            assert head.headers["content-length"] == got.headers["content-length"], path
            assert head.headers["content-type"] == got.headers["content-type"], path
        assert client.head("/api/notes/999").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/healthz", "GET, HEAD"),
        ("POST", "/readyz", "GET, HEAD"),
        ("DELETE", "/api/notes", "GET, HEAD, POST"),
        ("POST", "/api/notes/1", "DELETE, GET, HEAD, PATCH, PUT"),
        ("OPTIONS", "/api/notes/1", "DELETE, GET, HEAD, PATCH, PUT"),
        ("TRACE", "/api/notes/abc", "DELETE, GET, HEAD, PATCH, PUT"),
    ],
)
def test_405_allow_lists_every_method_of_the_resource(client: TestClient, method: str, path: str, allow: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == {"detail": "Method Not Allowed"}


# -- 3. ids are plain decimals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1_37", "137.0", "+137", "0137", "%20137", "137%20", "1e2", "0x89"])
@pytest.mark.parametrize("lane", [False, True])
def test_non_canonical_ids_are_422(pg_url: URL, raw: str, lane: bool) -> None:
    engine = create_engine(pg_url)
    with engine.begin() as conn:  # note 137 exists: every spelling above used to reach it
        conn.execute(text("SELECT setval('notes_id_seq', 136)"))
        conn.execute(text("INSERT INTO notes (title) VALUES ('n137')"))
    engine.dispose()
    with TestClient(create_app(make_settings(pg_url), fast_lane=lane)) as client:
        assert client.get("/api/notes/137").status_code == 200
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = client.request(method, f"/api/notes/{raw}", json={"title": "x"})
            assert response.status_code == 422, (method, raw, response.text)
            assert response.json()["detail"][0]["loc"] == ["path", "note_id"]


# -- 4. the trailing-slash redirect -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/api/notes/", "/api/notes"),
        ("/api/notes/?limit=2&after=1", "/api/notes?limit=2&after=1"),
        ("/api/notes/7/", "/api/notes/7"),
        ("/healthz/", "/healthz"),
    ],
)
def test_the_slash_redirect_is_relative_and_ignores_host(client: TestClient, path: str, location: str) -> None:
    for host in ("evil.example", "testserver"):
        response = client.get(path, headers={"host": host}, follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == location
        assert "evil" not in response.headers["location"]


def test_paths_no_route_serves_are_still_404(client: TestClient) -> None:
    for path in ("/nope/", "/api/notes/1/2/", "/docs/x/"):
        assert client.get(path, follow_redirects=False).status_code == 404, path


# -- 5. an un-migrated database ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("lane", [False, True])
def test_an_unmigrated_database_is_a_503_on_note_routes(pg_databases: Any, lane: bool) -> None:
    url = pg_databases.create()  # empty: never migrated
    with TestClient(create_app(make_settings(url), fast_lane=lane), raise_server_exceptions=False) as client:
        answers = [
            client.get("/api/notes"),
            client.get("/api/notes/1"),
            client.post("/api/notes", json={"title": "x"}),
            _post(client, {"title": "x"}, "k"),
            client.put("/api/notes/1", json={"title": "x"}),
            client.patch("/api/notes/1", json={"title": "x"}),
            client.delete("/api/notes/1"),
        ]
        assert client.get("/readyz").status_code == 503
    for response in answers:
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"


def test_a_database_one_revision_behind_is_a_503_for_keyed_posts(pg_databases: Any) -> None:
    url = pg_databases.create()
    upgrade_to_head(url)
    downgrade(url, "0002")  # notes exists, idempotency_keys does not
    with TestClient(create_app(make_settings(url)), raise_server_exceptions=False) as client:
        assert _post(client, {"title": "x"}, "k").status_code == 503
        assert client.get("/readyz").status_code == 503


# -- 6. PUT/PATCH bodies parse as POST's ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{bad json", b"\xff\xfe{}", b"", b"[]", b'{"title": null}'])
def test_bad_bodies_get_the_same_answer_on_post_put_and_patch(client: TestClient, raw: bytes) -> None:
    note = _post(client, {"title": "x"}).json()
    answers = {
        method: client.request(method, path, content=raw, headers=JSON)
        for method, path in (("POST", "/api/notes"), ("PUT", f"/api/notes/{note['id']}"))
    }
    for method, response in answers.items():
        assert response.status_code == 422, (method, response.text)
    assert answers["POST"].json() == answers["PUT"].json()
    patched = client.patch(f"/api/notes/{note['id']}", content=raw, headers=JSON)
    assert patched.status_code == 422, patched.text
    if raw != b'{"title": null}':  # (PATCH's own message for null differs: "must not be null")
        assert patched.json() == answers["POST"].json()


def test_patch_refuses_null_fields(client: TestClient) -> None:
    note = _post(client, {"title": "x"}).json()
    for body in ({"title": None}, {"body": None}, {}):
        response = client.patch(f"/api/notes/{note['id']}", json=body)
        assert response.status_code == 422, body


# -- 7. the OpenAPI document describes every answer ---------------------------------------------------------------


def test_openapi_documents_every_answer(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    patch_schema = doc["paths"]["/api/notes/{note_id}"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    for name in ("title", "body"):  # not nullable: null is a 422
        prop = patch_schema["properties"][name]
        assert prop["type"] == "string" and "anyOf" not in prop and "default" not in prop
    assert patch_schema["minProperties"] == 1 and patch_schema["additionalProperties"] is False
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"400", "413"} <= set(responses), (method, path)
            if path.startswith("/api/notes"):
                assert responses["503"]["headers"]["Retry-After"]["required"] is True
                assert "422" in responses and "503" in responses
            if method in ("post", "put", "patch"):
                assert "415" in responses, (method, path)
                assert operation["requestBody"]["required"] is True
    created = doc["paths"]["/api/notes"]["post"]["responses"]["201"]
    assert set(created["headers"]) == {"Location", "Idempotent-Replayed"}
    assert set(created["links"]) == {"GetNote", "ReplaceNote", "UpdateNote", "DeleteNote"}
    note_id = doc["paths"]["/api/notes/{note_id}"]["get"]["parameters"][0]
    assert note_id["schema"]["minimum"] == 1 and note_id["schema"]["maximum"] == 2**31 - 1


# -- 8. one storage layer -------------------------------------------------------------------------------------------


def test_sqlite_runs_the_statements_postgresql_runs(sqlite_url: URL, client_for: Any) -> None:
    """Every statement the SQLite store sends is one of ``store.py``'s SQL constants (the PostgreSQL store's too)."""
    from slipway_app import store
    from sqlalchemy import event

    client = client_for(make_settings(sqlite_url))
    engine = client.app.state.store.engine
    statements = {store.sqlite_sql(value) for name, value in vars(store).items() if name.startswith("SQL_")}
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_: sent.append(sql))
    note = _post(client, {"title": "t"}, "k-1").json()
    assert _post(client, {"title": "t"}).status_code == 201
    assert _post(client, {"title": "t"}, "k-1").headers["idempotent-replayed"] == "true"
    assert _post(client, {"title": "other"}, "k-1").status_code == 422
    assert _post(client, {"title": "t"}, "K-1").headers.get("idempotent-replayed") is None  # keys are case-sensitive
    assert _post(client, {"title": "t"}, "k_1").headers.get("idempotent-replayed") is None  # no wildcards
    client.get(f"/api/notes/{note['id']}")
    client.get("/api/notes", params={"after": 0, "limit": 2})
    client.put(f"/api/notes/{note['id']}", json={"title": "r"})
    client.patch(f"/api/notes/{note['id']}", json={"body": "p"})
    client.delete(f"/api/notes/{note['id']}")
    client.get("/readyz")
    executed = {sql for sql in sent if not sql.startswith(("PRAGMA", "BEGIN", "COMMIT", "ROLLBACK"))}
    assert executed and executed <= statements, executed - statements
    assert len(executed) >= 9
