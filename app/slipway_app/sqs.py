"""A minimal Amazon SQS client without boto3: the JSON protocol (``X-Amz-Target: AmazonSQS.<Action>``) signed with
SigV4 headers, byte for byte what botocore signs (``app/tests/test_app_jobs.py``). Credentials come from the same
place as the database's IAM tokens (:func:`slipway_app.iam_auth.default_credentials`: environment keys, else the
ECS container endpoint), so the image needs no AWS SDK.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .iam_auth import AwsCredentials, _hmac, _utcnow

SERVICE = "sqs"
ALGORITHM = "AWS4-HMAC-SHA256"
CONTENT_TYPE = "application/x-amz-json-1.0"
Transport = Callable[[str, dict[str, str], bytes], tuple[int, bytes]]
"""(url, headers, body) -> (HTTP status, response body)."""


class SqsError(Exception):
    """SQS answered with an error (its ``__type`` and message)."""


def _urllib_transport(url: str, headers: dict[str, str], body: bytes, timeout: float = 30) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (https only)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read()


def sign(
    *,
    url: str,
    target: str,
    body: bytes,
    region: str,
    credentials: AwsCredentials,
    now: dt.datetime,
) -> dict[str, str]:
    """The headers of a signed SQS JSON-protocol POST to ``url``."""
    if now.tzinfo is not None:
        now = now.astimezone(dt.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    host = urlsplit(url).netloc
    headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": target, "X-Amz-Date": amz_date}
    if credentials.session_token is not None:
        headers["X-Amz-Security-Token"] = credentials.session_token
    canonical = {"host": host, **{k.lower(): v.strip() for k, v in headers.items()}}
    names = sorted(canonical)
    canonical_request = "\n".join(
        [
            "POST",
            urlsplit(url).path or "/",
            "",
            "".join(f"{name}:{canonical[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{SERVICE}/aws4_request"
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = _hmac(f"AWS4{credentials.secret_access_key}".encode(), amz_date[:8])
    for part in (region, SERVICE, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, SignedHeaders={';'.join(names)}, "
        f"Signature={signature}"
    )
    return headers


class SqsClient:
    """ReceiveMessage / DeleteMessage / SendMessage on one queue."""

    def __init__(
        self,
        queue_url: str,
        region: str,
        credentials: Callable[[], AwsCredentials],
        *,
        transport: Transport = _urllib_transport,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        parts = urlsplit(queue_url)
        if parts.scheme != "https" or not parts.netloc:
            raise ValueError(f"QUEUE_URL must be an https:// SQS queue URL, got {queue_url!r}")
        self.queue_url, self.region = queue_url, region
        self.endpoint = f"https://{parts.netloc}/"
        self._credentials, self._transport, self._clock = credentials, transport, clock

    def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"QueueUrl": self.queue_url, **payload}).encode()
        headers = sign(
            url=self.endpoint,
            target=f"AmazonSQS.{action}",
            body=body,
            region=self.region,
            credentials=self._credentials(),
            now=self._clock(),
        )
        status, raw = self._transport(self.endpoint, headers, body)
        answer = json.loads(raw or b"{}")
        if status >= 300:
            raise SqsError(f"SQS {action}: HTTP {status} {answer.get('__type', '')}: {answer.get('message', raw)}")
        return dict(answer)

    def receive(self, *, max_messages: int = 10, wait_seconds: int = 20) -> list[dict[str, Any]]:
        answer = self.call("ReceiveMessage", {"MaxNumberOfMessages": max_messages, "WaitTimeSeconds": wait_seconds})
        return list(answer.get("Messages", []))

    def delete(self, receipt_handle: str) -> None:
        self.call("DeleteMessage", {"ReceiptHandle": receipt_handle})

    def send(self, body: str) -> str:
        return str(self.call("SendMessage", {"MessageBody": body})["MessageId"])
