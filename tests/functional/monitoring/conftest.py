"""The monitor on moto: the registry, both buckets, a promoted classifier with its training
baseline, and the real score API (capturing every request) to send traffic and feedback."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).parents[1] / "serving"))
sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "serving"))

from monitoring_harness import ARTIFACTS, DATA, MODEL, TABLE, Traffic, draw
from onnx_builders import BuiltModel, build_classifier
from serving_harness import Registrar, call

from mlops import aws
from mlops.artifacts import ArtifactStore
from mlops.domain.baseline import compute_baseline
from mlops.domain.dataset import Table
from mlops.local.moto_transport import moto_http
from mlops.local.tables import create_registry_table
from mlops.registry.dynamodb import DynamoDBRegistryStore
from mlops.serving import api
from mlops.settings import reset_settings


@pytest.fixture(scope="session")
def classifier() -> BuiltModel:
    return build_classifier()


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLOPS_REGISTRY_TABLE": TABLE,
        "MLOPS_ARTIFACT_BUCKET": ARTIFACTS,
        "MLOPS_DATA_BUCKET": DATA,
        "MLOPS_MAX_RECORDS_PER_REQUEST": "100",
        "MLOPS_CAPTURE_SAMPLE_RATE": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "MLOps",
    }.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    reset_settings()
    aws.reset_clients()
    with mock_aws(), moto_http():
        create_registry_table(aws.client("dynamodb"), TABLE)
        for bucket in (ARTIFACTS, DATA):
            aws.client("s3").create_bucket(Bucket=bucket)
        yield
    api.use_service(None)
    reset_settings()
    aws.reset_clients()


@pytest.fixture
def store(cloud: None) -> DynamoDBRegistryStore:
    return DynamoDBRegistryStore(TABLE, aws.client("dynamodb"))


@pytest.fixture
def promoted(store: DynamoDBRegistryStore, classifier: BuiltModel) -> int:
    """fraud v1 in production, with the baseline the training pipeline would have written."""
    artifacts = ArtifactStore(aws.client("s3"), ARTIFACTS)
    version = Registrar(store, artifacts).register(MODEL, classifier, promote=True)
    rows = draw(4_000, seed=0)
    table = Table(
        {
            "amount": np.array([r["amount"] for r in rows]),
            "age": np.array([r["age"] for r in rows]),
            "country": np.array([r["country"] for r in rows], dtype=object),
        },
        len(rows),
    )
    baseline = compute_baseline(table, classifier.feature_schema)
    ref = artifacts.put(MODEL, version, "baseline.json", json.dumps(baseline).encode())
    store.update_version(MODEL, version, actor="test", reports={"baseline": ref.uri})
    return version


@pytest.fixture
def traffic(promoted: int) -> Traffic:
    """Send records through the score API in requests of `per_request` records; the answers."""

    def send(records: list[dict[str, Any]], per_request: int = 50) -> list[dict[str, Any]]:
        answers = []
        for start in range(0, len(records), per_request):
            reply = call(
                "POST",
                f"/v1/models/{MODEL}/predict",
                {"records": records[start : start + per_request]},
            )
            assert reply.status == 200, reply.body
            answers.append(reply.body)
        return answers

    return send
