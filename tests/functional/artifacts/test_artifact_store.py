"""The S3 artifact store refuses anything it cannot prove is what was written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops.artifacts import (
    ArtifactIntegrityError,
    ArtifactMissingError,
    ArtifactStore,
    sha256_hex,
    split_s3_uri,
)

BUCKET = "artifacts-test"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def store(s3: Any) -> ArtifactStore:
    return ArtifactStore(s3, BUCKET)


def test_an_artifact_round_trips_under_its_model_version_path(store: ArtifactStore) -> None:
    ref = store.put("fraud", 3, "model.onnx", b"onnx bytes")

    assert ref.uri == f"s3://{BUCKET}/models/fraud/3/model.onnx"
    assert ref.sha256 == sha256_hex(b"onnx bytes")
    assert ref.size == len(b"onnx bytes")
    assert store.load_ref(ref) == b"onnx bytes"


def test_a_load_by_uri_alone_is_verified_against_the_object_metadata(
    store: ArtifactStore,
) -> None:
    ref = store.put("fraud", 1, "metadata.json", b'{"a": [1.5]}', "application/json")

    assert store.load(ref.uri) == b'{"a": [1.5]}'


def test_a_tampered_artifact_is_refused_with_a_typed_error(store: ArtifactStore, s3: Any) -> None:
    ref = store.put("fraud", 1, "model.onnx", b"the real model")
    # Someone overwrites the object, even copying the original checksum into its metadata
    s3.put_object(
        Bucket=BUCKET,
        Key="models/fraud/1/model.onnx",
        Body=b"a different model",
        Metadata={"sha256": ref.sha256},
    )

    with pytest.raises(ArtifactIntegrityError) as refused:
        store.load_ref(ref)
    assert refused.value.expected == ref.sha256
    assert refused.value.actual == sha256_hex(b"a different model")
    assert "failed its integrity check" in str(refused.value)


def test_an_object_without_a_recorded_checksum_is_refused(store: ArtifactStore, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="models/fraud/1/baseline.json", Body=b"{}")

    with pytest.raises(ArtifactIntegrityError):
        store.load(f"s3://{BUCKET}/models/fraud/1/baseline.json")


def test_a_missing_artifact_is_a_typed_error(store: ArtifactStore) -> None:
    uri = f"s3://{BUCKET}/models/fraud/9/model.onnx"

    with pytest.raises(ArtifactMissingError) as missing:
        store.load(uri, "0" * 64)
    assert missing.value.uri == uri


@pytest.mark.parametrize("uri", ["fraud/model.onnx", "s3://", "s3://bucket", "s3://bucket/"])
def test_malformed_uris_are_rejected(uri: str) -> None:
    with pytest.raises(ValueError, match="not an s3://bucket/key URI"):
        split_s3_uri(uri)
