"""Captured predictions and feedback, written as JSON Lines to the data bucket.

`captures/<model>/<yyyy-mm-dd>/<request_id>.jsonl` (sampled predictions, for drift monitoring)
and `feedback/<model>/<yyyy-mm-dd>/<random hex>.jsonl` (ground truth, for live quality).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Now = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def capture_key(model: str, day: str, request_id: str) -> str:
    return f"captures/{model}/{day}/{request_id}.jsonl"


def feedback_key(model: str, day: str, batch_id: str) -> str:
    return f"feedback/{model}/{day}/{batch_id}.jsonl"


def _json_lines(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode()


class Recorder:
    """Writes capture and feedback objects; the S3 client is any boto3-compatible client."""

    def __init__(self, s3_client: Any, bucket: str, *, now: Now = _utc_now) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._now = now

    def timestamp(self) -> datetime:
        return self._now()

    def capture(self, model: str, request_id: str, lines: list[dict[str, Any]]) -> str:
        key = capture_key(model, self._now().date().isoformat(), request_id)
        self._put(key, lines)
        return key

    def feedback(self, model: str, items: list[dict[str, Any]]) -> str:
        moment = self._now()
        received_at = moment.isoformat()
        lines = [{**item, "model": model, "received_at": received_at} for item in items]
        key = feedback_key(model, moment.date().isoformat(), os.urandom(16).hex())
        self._put(key, lines)
        return key

    def _put(self, key: str, lines: list[dict[str, Any]]) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=_json_lines(lines),
            ContentType="application/x-ndjson",
        )
