"""The manifest step's S3 access: list the input, read part records, write the manifest.

Base layer only (the manifest function has no numpy): kept apart from `wiring`, which loads
models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from mlops.batch.manifest import Listed


def list_objects(s3: Any) -> Any:
    def listing(bucket: str, prefix: str) -> Iterator[Listed]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield Listed(item["Key"], int(item.get("Size", 0)), item["LastModified"])

    return listing


def read_json(s3: Any) -> Any:
    def read(bucket: str, key: str) -> dict[str, Any] | None:
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        document: dict[str, Any] = json.loads(body)
        return document

    return read


def write_json(s3: Any) -> Any:
    def write(bucket: str, key: str, document: dict[str, Any]) -> None:
        body = json.dumps(document, indent=2, sort_keys=True, default=str).encode("utf-8")
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")

    return write
