"""S3 artifact store: `models/<name>/<version>/<file>`, sha256 recorded at write, verified at load.

The sha256 travels twice: in the object's metadata and in the registry. A load verifies the
bytes against the registry's value when the caller has it (the authoritative one), else against
the metadata. A missing object or a mismatch is a typed error, never a silent load.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops.registry.entities import ArtifactRef

SHA256_METADATA_KEY = "sha256"


class ArtifactError(Exception):
    """Base class for artifact errors."""


class ArtifactMissingError(ArtifactError):
    def __init__(self, uri: str) -> None:
        super().__init__(f"artifact {uri} does not exist")
        self.uri = uri


class ArtifactIntegrityError(ArtifactError):
    def __init__(self, uri: str, expected: str | None, actual: str) -> None:
        super().__init__(
            f"artifact {uri} failed its integrity check: expected sha256 {expected}, got {actual}"
        )
        self.uri = uri
        self.expected = expected
        self.actual = actual


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        msg = f"not an s3://bucket/key URI: {uri!r}"
        raise ValueError(msg)
    return bucket, key


def model_prefix(model: str, version: int) -> str:
    return f"models/{model}/{version}/"


class ArtifactStore:
    """Reads and writes a model version's files in the artifact bucket."""

    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self.bucket = bucket

    def uri(self, model: str, version: int, filename: str) -> str:
        return f"s3://{self.bucket}/{model_prefix(model, version)}{filename}"

    def put(
        self,
        model: str,
        version: int,
        filename: str,
        data: bytes,
        content_type: str = "application/octet-stream",
    ) -> ArtifactRef:
        from mlops.registry.entities import ArtifactRef  # pydantic: off the score path

        digest = sha256_hex(data)
        key = model_prefix(model, version) + filename
        self._s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            Metadata={SHA256_METADATA_KEY: digest},
        )
        return ArtifactRef(uri=f"s3://{self.bucket}/{key}", sha256=digest, size=len(data))

    def load(self, uri: str, expected_sha256: str | None = None) -> bytes:
        """The object's bytes, verified; ArtifactMissingError / ArtifactIntegrityError."""
        bucket, key = split_s3_uri(uri)
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key)
        except self._s3.exceptions.NoSuchKey as error:
            raise ArtifactMissingError(uri) from error
        except self._s3.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NoSuchBucket"}:
                raise ArtifactMissingError(uri) from error
            raise
        data: bytes = response["Body"].read()
        expected = expected_sha256 or response.get("Metadata", {}).get(SHA256_METADATA_KEY)
        actual = sha256_hex(data)
        if expected != actual:
            raise ArtifactIntegrityError(uri, expected, actual)
        return data

    def load_ref(self, ref: ArtifactRef) -> bytes:
        return self.load(ref.uri, ref.sha256)
