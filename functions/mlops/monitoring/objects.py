"""New objects under a prefix since a watermark, and their JSON Lines.

The watermark is the S3 LastModified second of the newest object processed, with the keys
processed at that second (S3 timestamps have one-second resolution, so several objects can
share it; an object written in that second after the listing is still new next time). Keys are
day-partitioned (`<prefix><yyyy-mm-dd>/...`, the writer's UTC date), so a listing starts two
days before the watermark's date instead of at the beginning of the prefix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

READ_THREADS = 16
LOOKBACK = timedelta(days=2)


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified: datetime
    """LastModified, truncated to the second (UTC)."""


@dataclass(frozen=True)
class Watermark:
    second: datetime | None = None
    keys: frozenset[str] = frozenset()

    def is_new(self, item: StoredObject) -> bool:
        if self.second is None or item.modified > self.second:
            return True
        return item.modified == self.second and item.key not in self.keys

    def advance(self, processed: Iterable[StoredObject]) -> Watermark:
        """The watermark after processing these objects (all of them new)."""
        second, keys = self.second, set(self.keys)
        for item in processed:
            if second is None or item.modified > second:
                second, keys = item.modified, {item.key}
            elif item.modified == second:
                keys.add(item.key)
        return Watermark(second, frozenset(keys))

    def as_dict(self) -> dict[str, Any]:
        return {
            "second": None if self.second is None else self.second.isoformat(),
            "keys": sorted(self.keys),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Watermark:
        if not data or not data.get("second"):
            return cls()
        second = datetime.fromisoformat(str(data["second"])).astimezone(UTC)
        return cls(second, frozenset(str(key) for key in data.get("keys", [])))


@dataclass(frozen=True)
class NewObjects:
    objects: list[StoredObject]
    watermark: Watermark
    left_for_later: int = 0


@dataclass
class Lines:
    """Parsed JSON Lines per key, and the lines that were not JSON objects."""

    by_key: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    bad_lines: int = 0
    unreadable: list[str] = field(default_factory=list)


def list_new(s3: Any, bucket: str, prefix: str, mark: Watermark, limit: int) -> NewObjects:
    """The objects under `prefix` past the watermark, oldest first, at most `limit` (the rest
    stay new for the next run), and the watermark after them."""
    arguments: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if mark.second is not None:
        arguments["StartAfter"] = prefix + (mark.second - LOOKBACK).date().isoformat()
    found: list[StoredObject] = []
    for page in s3.get_paginator("list_objects_v2").paginate(**arguments):
        for entry in page.get("Contents", []):
            modified = entry["LastModified"].astimezone(UTC).replace(microsecond=0)
            item = StoredObject(entry["Key"], modified)
            if mark.is_new(item):
                found.append(item)
    found.sort(key=lambda item: (item.modified, item.key))
    taken = found[:limit]
    return NewObjects(taken, mark.advance(taken), len(found) - len(taken))


def read_lines(s3: Any, bucket: str, keys: list[str]) -> Lines:
    """Every object's JSON Lines (objects read in parallel); missing objects are listed in
    `unreadable`, lines that are not JSON objects counted in `bad_lines`."""
    lines = Lines()
    if not keys:
        return lines
    with ThreadPoolExecutor(max_workers=min(READ_THREADS, len(keys))) as pool:
        bodies = list(pool.map(lambda key: read_object(s3, bucket, key), keys))
    for key, body in zip(keys, bodies, strict=True):
        if body is None:
            lines.unreadable.append(key)
            continue
        parsed, bad = parse_json_lines(body)
        lines.by_key[key] = parsed
        lines.bad_lines += bad
    return lines


def read_object(s3: Any, bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None if it does not exist."""
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            return None
        raise
    return body


def parse_json_lines(body: bytes) -> tuple[list[dict[str, Any]], int]:
    """(the JSON object lines, the number of non-empty lines that were not JSON objects)."""
    parsed: list[dict[str, Any]] = []
    bad = 0
    for raw in body.splitlines():
        if not raw.strip():
            continue
        try:
            document = json.loads(raw)
        except ValueError:
            bad += 1
            continue
        if isinstance(document, dict):
            parsed.append(document)
        else:
            bad += 1
    return parsed, bad


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    body = read_object(s3, bucket, key)
    if body is None:
        return None
    document = json.loads(body)
    return document if isinstance(document, dict) else None


def put_bytes(s3: Any, bucket: str, key: str, body: bytes, content_type: str) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    return f"s3://{bucket}/{key}"
