"""Background work of the sample app: ``app prune-keys`` (the scheduled job) and ``app worker`` (the queue worker).

- ``app prune-keys --older-than-hours 24``: clears the ``Idempotency-Key`` of notes created more than that long ago.
  A key only has to outlive a client's retries; clearing it keeps the unique index small. Idempotent: a second run
  (or an overlapping one) finds nothing left to clear. Prints the number of notes changed.
- ``app worker``: long-polls the SQS queue in ``QUEUE_URL`` (``WorkerService`` sets it) and runs each message, a JSON
  object: ``{"task": "prune-keys", "older_than_hours": 24}`` or ``{"task": "delete-note", "note_id": 5}``. A message is
  deleted only after its task succeeded; one that fails stays on the queue, is received again after the visibility
  timeout, and moves to the dead-letter queue after ``maxReceiveCount`` receives (its alarm pages). SIGTERM finishes
  the message in hand, then exits 0 (ECS stops a task with SIGTERM, then SIGKILL 30 s later).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

from sqlalchemy import Engine, text

log = logging.getLogger("slipway_app.jobs")
EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2


class BadMessageError(ValueError):
    """A message that is not a task this worker knows (it stays on the queue until it is dead-lettered)."""


def prune_keys(engine: Engine, older_than_hours: int, now: dt.datetime | None = None) -> int:
    """Expire the idempotency keys used before ``now - older_than_hours``: the stored original answers
    (``idempotency_keys``) and the keys on their notes, in one transaction, so an expired key may be used again;
    the number of notes changed."""
    if older_than_hours < 1:
        raise ValueError("older_than_hours must be at least 1")
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(hours=older_than_hours)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM idempotency_keys WHERE created_at < :cutoff"), {"cutoff": cutoff})
        result = conn.execute(
            text("UPDATE notes SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL AND created_at < :cutoff"),
            {"cutoff": cutoff},
        )
    return int(result.rowcount or 0)


def delete_note(engine: Engine, note_id: int) -> int:
    """Delete one note (0 when it is already gone: a redelivered message does no harm)."""
    with engine.begin() as conn:
        return int(conn.execute(text("DELETE FROM notes WHERE id = :id"), {"id": note_id}).rowcount or 0)


def run_task(engine: Engine, body: str) -> dict[str, Any]:
    """Run one message's task; raises :class:`BadMessageError` for anything but a known, well-formed task."""
    try:
        message = json.loads(body)
    except ValueError:
        raise BadMessageError(f"not JSON: {body[:80]!r}") from None
    task = message.get("task") if isinstance(message, dict) else None
    if task == "prune-keys" and isinstance(message.get("older_than_hours", 24), int):
        return {"task": task, "changed": prune_keys(engine, int(message.get("older_than_hours", 24)))}
    if task == "delete-note" and isinstance(message.get("note_id"), int):
        return {"task": task, "deleted": delete_note(engine, int(message["note_id"]))}
    raise BadMessageError(f"unknown or malformed task: {body[:80]!r}")


def run_worker(client: Any, engine: Engine, stop: threading.Event, *, max_polls: int | None = None) -> int:
    """Receive, run and delete messages until ``stop`` is set (or ``max_polls`` receives, for tests); the number of
    messages that succeeded."""
    done, polls = 0, 0
    while not stop.is_set() and (max_polls is None or polls < max_polls):
        polls += 1
        for message in client.receive(wait_seconds=20 if max_polls is None else 0):
            try:
                result = run_task(engine, message["Body"])
            except Exception as exc:  # the message stays; after maxReceiveCount it is dead-lettered
                log.error("message failed", extra={"message_id": message.get("MessageId"), "error": str(exc)})
                continue
            client.delete(message["ReceiptHandle"])
            done += 1
            log.info("message done", extra={"message_id": message.get("MessageId"), **result})
    return done


def _engine() -> Engine:
    from .cli import _settings_or_exit
    from .db import engine_for_url
    from .iam_auth import password_provider
    from .logs import configure_logging

    settings = _settings_or_exit()
    configure_logging(settings.log_level)
    return engine_for_url(settings.sqlalchemy_url(), pooled=False, password=password_provider(settings))


def cmd_prune_keys(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        changed = prune_keys(_engine(), args.older_than_hours)
    except SQLAlchemyError as exc:
        print(f"app prune-keys: {type(exc).__name__}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return EXIT_FAILURE
    print(json.dumps({"task": "prune-keys", "changed": changed}))
    return EXIT_OK


def cmd_worker(_args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    from .iam_auth import default_credentials
    from .sqs import SqsClient

    queue_url, region = os.environ.get("QUEUE_URL", ""), os.environ.get("AWS_REGION") or os.environ.get("DB_REGION")
    if not queue_url or not region:
        print("app worker: QUEUE_URL and AWS_REGION (or DB_REGION) must be set", file=sys.stderr)
        return EXIT_CONFIG
    try:
        client = SqsClient(queue_url, region, default_credentials())
    except ValueError as exc:
        print(f"app worker: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    stop = stop or threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_worker(client, _engine(), stop)
    return EXIT_OK


def add_commands(sub: Any) -> None:
    """Register ``worker`` and ``prune-keys`` on the ``app`` command."""
    prune = sub.add_parser("prune-keys", help="clear idempotency keys older than --older-than-hours (scheduled job)")
    prune.add_argument("--older-than-hours", type=int, default=24, help="age of the notes whose key is cleared (24)")
    prune.set_defaults(func=cmd_prune_keys)
    worker = sub.add_parser("worker", help="run the tasks of the SQS queue in QUEUE_URL until SIGTERM")
    worker.set_defaults(func=cmd_worker)
