"""The scoring API on moto: registry table, buckets, registered ONNX artifacts, a fake clock."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "serving"))

from onnx_builders import BuiltModel, build_classifier, build_regressor
from serving_harness import FakeClock, Registrar

from mlops import aws
from mlops.artifacts import ArtifactStore
from mlops.local.moto_transport import moto_http
from mlops.local.tables import create_registry_table
from mlops.registry.dynamodb import DynamoDBRegistryStore
from mlops.serving import api
from mlops.settings import get_settings, reset_settings

TABLE = "serving-registry"
ARTIFACTS = "serving-artifacts"
DATA = "serving-data"
REFRESH_SECONDS = 30.0


@pytest.fixture(scope="session")
def classifier() -> BuiltModel:
    return build_classifier()


@pytest.fixture(scope="session")
def classifier_v2() -> BuiltModel:
    return build_classifier(seed=7, c=0.05)


@pytest.fixture(scope="session")
def three_class() -> BuiltModel:
    return build_classifier(classes=("high", "low", "mid"))


@pytest.fixture(scope="session")
def regressor() -> BuiltModel:
    return build_regressor()


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto with the registry table and both buckets; settings naming them."""
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLOPS_REGISTRY_TABLE": TABLE,
        "MLOPS_ARTIFACT_BUCKET": ARTIFACTS,
        "MLOPS_DATA_BUCKET": DATA,
        "MLOPS_ALIAS_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "MLOPS_MAX_RECORDS_PER_REQUEST": "50",
        "MLOPS_MAX_BODY_BYTES": "65536",
        "MLOPS_CAPTURE_SAMPLE_RATE": "0",
        "POWERTOOLS_METRICS_NAMESPACE": "MLOps",
    }.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    reset_settings()
    aws.reset_clients()
    with mock_aws(), moto_http():
        create_registry_table(aws.client("dynamodb"), TABLE)
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=ARTIFACTS)
        s3.create_bucket(Bucket=DATA)
        yield
    api.use_service(None)
    reset_settings()
    aws.reset_clients()


@pytest.fixture
def store(cloud: None) -> DynamoDBRegistryStore:
    return DynamoDBRegistryStore(TABLE, aws.client("dynamodb"))


@pytest.fixture
def artifacts(cloud: None) -> ArtifactStore:
    return ArtifactStore(aws.client("s3"), ARTIFACTS)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def serving(cloud: None, clock: FakeClock) -> Iterator[None]:
    """The handler serves from the moto registry with the fake clock."""
    api.use_service(api.build_service(get_settings(), clock=clock))
    yield
    api.use_service(None)


@pytest.fixture
def registrar(store: DynamoDBRegistryStore, artifacts: ArtifactStore) -> Registrar:
    return Registrar(store, artifacts)
