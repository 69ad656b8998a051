"""The sample app's background work: ``app prune-keys`` (the ScheduledJob) and ``app worker`` (the WorkerService)
against real databases, the SQS client's SigV4 byte for byte against botocore, and the worker against moto's SQS
(its raw JSON-protocol requests answered by moto's own request handling)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.credentials import Credentials
from moto import mock_aws
from slipway_app.cli import build_parser, main
from slipway_app.iam_auth import AwsCredentials
from slipway_app.jobs import BadMessageError, prune_keys, run_task, run_worker
from slipway_app.sqs import SqsClient, SqsError, sign
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
FROZEN = dt.datetime(2026, 11, 30, 15, 4, 5)  # naive UTC, as botocore's get_current_datetime() returns


@pytest.fixture
def engine(db_url: URL) -> Iterator[Engine]:
    eng = create_engine(db_url)
    yield eng
    eng.dispose()


def add_note(engine: Engine, title: str, key: str | None, age_hours: float) -> int:
    created = NOW - dt.timedelta(hours=age_hours)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO notes (title, body, idempotency_key, created_at, updated_at) VALUES (:t, '', :k, :c, :c)"
            ),
            {"t": title, "k": key, "c": created},
        )
        return int(conn.execute(text("SELECT max(id) FROM notes")).scalar_one())


def keys(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT title, idempotency_key FROM notes ORDER BY id")).all())


def test_prune_keys_clears_only_old_keys_and_is_idempotent(engine: Engine) -> None:
    add_note(engine, "old", "k-old", age_hours=48)
    add_note(engine, "new", "k-new", age_hours=1)
    add_note(engine, "none", None, age_hours=72)
    assert prune_keys(engine, 24, now=NOW) == 1
    assert keys(engine) == {"old": None, "new": "k-new", "none": None}
    assert prune_keys(engine, 24, now=NOW) == 0  # a second (or overlapping) run finds nothing
    with pytest.raises(ValueError, match="at least 1"):
        prune_keys(engine, 0)


def test_an_expired_key_can_be_used_again(engine: Engine) -> None:
    """The stored original answer expires with the key: a new note with it is not refused as a duplicate."""
    add_note(engine, "old", "k-again", age_hours=48)
    assert prune_keys(engine, 24, now=NOW) == 1
    add_note(engine, "again", "k-again", age_hours=0)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT title FROM idempotency_keys WHERE key = 'k-again'")).scalar_one()
    assert stored == "again"


def test_tasks_run_and_bad_messages_are_refused(engine: Engine) -> None:
    note = add_note(engine, "doomed", None, age_hours=0)
    assert run_task(engine, json.dumps({"task": "delete-note", "note_id": note})) == {
        "task": "delete-note",
        "deleted": 1,
    }
    assert run_task(engine, json.dumps({"task": "delete-note", "note_id": note}))["deleted"] == 0  # redelivery
    for body in ("not json", '{"task": "rm -rf"}', '{"task": "delete-note", "note_id": "1"}', "[]"):
        with pytest.raises(BadMessageError):
            run_task(engine, body)


@pytest.mark.parametrize("token", [None, "session-token"])
def test_sqs_signature_is_byte_for_byte_botocores(monkeypatch: pytest.MonkeyPatch, token: str | None) -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/"
    body = b'{"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/q", "MaxNumberOfMessages": 10}'
    ours = sign(
        url=url,
        target="AmazonSQS.ReceiveMessage",
        body=body,
        region="eu-west-1",
        credentials=AwsCredentials("AKIDEXAMPLE", "secret", token),
        now=FROZEN.replace(tzinfo=dt.UTC),
    )
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_a, **_k: FROZEN)
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": ours["Content-Type"], "X-Amz-Target": ours["X-Amz-Target"]},
    )
    botocore.auth.SigV4Auth(Credentials("AKIDEXAMPLE", "secret", token), "sqs", "eu-west-1").add_auth(request)
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["X-Amz-Date"] == request.headers["X-Amz-Date"]


@pytest.fixture
def queue() -> Iterator[tuple[Any, str, SqsClient]]:
    """A moto SQS queue, and our client whose raw requests moto answers (botocore's before-send hook)."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
        url = sqs.create_queue(QueueName="shop-dev-worker-queue")["QueueUrl"]

        def transport(endpoint: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
            request = AWSPreparedRequest("POST", endpoint, headers, body, stream_output=False)
            action = headers["X-Amz-Target"].split(".", 1)[1]
            _, response = sqs.meta.events.emit_until_response(f"before-send.sqs.{action}", request=request)
            return int(response.status_code), bytes(response.content)

        yield sqs, url, SqsClient(url, "us-east-1", lambda: AwsCredentials("AKID", "secret"), transport=transport)


def test_the_worker_runs_tasks_deletes_them_and_leaves_failures_for_the_dead_letter_queue(
    engine: Engine, queue: tuple[Any, str, SqsClient]
) -> None:
    sqs, url, client = queue
    note = add_note(engine, "doomed", None, age_hours=0)
    add_note(engine, "old", "k-old", age_hours=10_000)
    client.send(json.dumps({"task": "delete-note", "note_id": note}))
    client.send(json.dumps({"task": "prune-keys", "older_than_hours": 24}))
    client.send("garbage")
    assert run_worker(client, engine, threading.Event(), max_polls=1) == 2
    assert keys(engine) == {"old": None}
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"  # the bad one, received and not deleted
    stop = threading.Event()
    stop.set()
    assert run_worker(client, engine, stop) == 0  # SIGTERM before a poll: nothing received


def test_an_sqs_error_is_raised_with_its_type(queue: tuple[Any, str, SqsClient]) -> None:
    _, _, client = queue
    with pytest.raises(SqsError, match="DeleteMessage: HTTP 4"):
        client.delete("not-a-receipt-handle")
    with pytest.raises(ValueError, match="https://"):
        SqsClient("http://localhost/q", "us-east-1", lambda: AwsCredentials("a", "b"))


def test_the_cli_has_both_commands(sqlite_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    assert {"worker", "prune-keys"} <= set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    monkeypatch.setenv("DATABASE_URL", sqlite_url.render_as_string(hide_password=False))
    assert main(["prune-keys", "--older-than-hours", "1"]) == 0
    assert json.loads(capsys.readouterr().out) == {"task": "prune-keys", "changed": 0}
    assert main(["worker"]) == 2  # no QUEUE_URL
    assert "QUEUE_URL and AWS_REGION" in capsys.readouterr().err
