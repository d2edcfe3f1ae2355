"""S3 reads and writes for the pipeline, on an injected client, with errors made typed:
a missing or forbidden object is ObjectUnreadableError, throttling and 5xx are TransientError."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlops.artifacts import SHA256_METADATA_KEY, sha256_hex, split_s3_uri
from mlops.pipeline.errors import ObjectUnreadableError, TransientError

_MISSING_CODES = frozenset(
    {"NoSuchKey", "NoSuchBucket", "404", "403", "AccessDenied", "NotFound", "InvalidObjectState"}
)


@dataclass(frozen=True)
class StoredObject:
    uri: str
    size: int
    etag: str | None
    last_modified: datetime | None


@dataclass(frozen=True)
class ObjectData:
    uri: str
    body: bytes
    etag: str | None

    @property
    def sha256(self) -> str:
        return sha256_hex(self.body)


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _translate(error: Exception, uri: str) -> Exception:
    code = _error_code(error)
    if code in _MISSING_CODES:
        denied = code in {"403", "AccessDenied"}
        return ObjectUnreadableError(uri, "access denied" if denied else "not found")
    return TransientError(f"S3 error on {uri}: {code or type(error).__name__}: {error}")


def _etag(value: Any) -> str | None:
    return value.strip('"') if isinstance(value, str) else None


def head_object(s3: Any, uri: str) -> StoredObject:
    try:
        bucket, key = split_s3_uri(uri)
    except ValueError as error:
        raise ObjectUnreadableError(uri, str(error)) from None
    try:
        response = s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as error:
        raise _translate(error, uri) from error
    return StoredObject(
        uri=uri,
        size=int(response.get("ContentLength", 0)),
        etag=_etag(response.get("ETag")),
        last_modified=response.get("LastModified"),
    )


def newest_object(s3: Any, bucket: str, prefix: str) -> StoredObject | None:
    """The most recently modified object under the prefix (ties: the greatest key)."""
    newest: tuple[datetime, str, StoredObject] | None = None
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                if key.endswith("/"):
                    continue
                stored = StoredObject(
                    uri=f"s3://{bucket}/{key}",
                    size=int(item.get("Size", 0)),
                    etag=_etag(item.get("ETag")),
                    last_modified=item["LastModified"],
                )
                candidate = (item["LastModified"], key, stored)
                if newest is None or candidate[:2] > newest[:2]:
                    newest = candidate
    except s3.exceptions.ClientError as error:
        raise _translate(error, f"s3://{bucket}/{prefix}") from error
    return newest[2] if newest else None


def read_object(s3: Any, uri: str) -> ObjectData:
    try:
        bucket, key = split_s3_uri(uri)
    except ValueError as error:
        raise ObjectUnreadableError(uri, str(error)) from None
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        body: bytes = response["Body"].read()
    except s3.exceptions.ClientError as error:
        raise _translate(error, uri) from error
    return ObjectData(uri=uri, body=body, etag=_etag(response.get("ETag")))


def put_object(s3: Any, uri: str, body: bytes, content_type: str) -> str:
    """Write an object with its sha256 in the metadata (as ArtifactStore does); its sha256."""
    bucket, key = split_s3_uri(uri)
    digest = sha256_hex(body)
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            Metadata={SHA256_METADATA_KEY: digest},
        )
    except s3.exceptions.ClientError as error:
        raise TransientError(f"S3 error writing {uri}: {error}") from error
    return digest
