"""Probes: /healthz never touches the DB; /readyz follows the database (down, back) and the migration state."""

from __future__ import annotations

import time
from typing import Any

from slipway_app.migrate import upgrade_to_head
from sqlalchemy.engine import URL


def test_readyz_ok_on_a_migrated_database(client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "revision": "0003"}


def test_readyz_503_until_migrated(pg_databases: Any, settings_for: Any, client_for: Any) -> None:
    url = pg_databases.create()
    client = client_for(settings_for(url))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("database schema is not at the migrations head")
    assert response.json()["head"] == ["0003"] and response.json()["current"] == []
    assert client.get("/healthz").status_code == 200
    upgrade_to_head(url)
    assert client.get("/readyz").status_code == 200


def test_readyz_follows_the_database_down_and_back(
    pg_migrated_url: URL, tcp_proxy: Any, settings_for: Any, client_for: Any
) -> None:
    proxy = tcp_proxy()
    client = client_for(settings_for(pg_migrated_url.set(host="127.0.0.1", port=proxy.port)))
    assert client.get("/readyz").status_code == 200
    assert client.post("/api/notes", json={"title": "before"}).status_code == 201

    proxy.stop()  # the database "goes away": pooled connections are cut, new ones refused
    started = time.monotonic()
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.json() == {"status": "unavailable", "reason": "database unreachable"}
    assert time.monotonic() - started < 5
    assert client.get("/healthz").json() == {"status": "ok"}  # liveness unaffected
    failing = client.get("/api/notes")
    assert failing.status_code == 503 and failing.headers["retry-after"]

    proxy.start()  # back: the same app (same engine) recovers without a restart
    assert client.get("/readyz").status_code == 200
    assert client.get("/api/notes").status_code == 200


def test_healthz_does_not_need_a_database(settings_for: Any, client_for: Any) -> None:
    client = client_for(settings_for("postgresql://nobody:pw@127.0.0.1:1/none"))
    assert client.get("/healthz").status_code == 200
    started = time.monotonic()
    assert client.get("/readyz").status_code == 503
    assert time.monotonic() - started < 5
