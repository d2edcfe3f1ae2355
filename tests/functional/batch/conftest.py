"""Batch scoring on moto: registry table, buckets, a promoted classifier, handler drivers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "serving"))

from onnx_builders import BuiltModel, build_classifier

from mlops import aws
from mlops.artifacts import ArtifactStore
from mlops.batch import wiring
from mlops.local.tables import create_registry_table
from mlops.registry.dynamodb import DynamoDBRegistryStore
from mlops.registry.entities import NewVersion, Trigger, TriggerKind
from mlops.serving.local_server import LocalLambdaContext
from mlops.settings import reset_settings

TABLE, ARTIFACTS, DATA = "batch-registry", "batch-artifacts", "batch-data"
MODEL = "fraud"


@dataclass
class BatchEnv:
    store: DynamoDBRegistryStore
    s3: Any
    model: BuiltModel

    def register(self, built: BuiltModel, *, promote: bool = True) -> int:
        draft = NewVersion(
            task=built.task, estimator="test", feature_schema=built.feature_schema,
            classes=built.classes, trigger=Trigger(kind=TriggerKind.MANUAL, source_id="test"),
        )  # fmt: skip
        version = self.store.register_version(MODEL, draft, actor="test").version
        ref = ArtifactStore(self.s3, ARTIFACTS).put(MODEL, version, "model.onnx", built.onnx)
        self.store.update_version(MODEL, version, actor="test", artifact=ref)
        if promote:
            self.store.promote(MODEL, version, actor="test")
        return version

    def upload(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=DATA, Key=key, Body=body)

    def read(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=DATA, Key=key)["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=DATA, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def part(self, run: dict[str, Any], key: str) -> dict[str, Any]:
        from mlops.batch.keys import part_key

        return dict(json.loads(self.read(part_key(run["output_prefix"], key))))


@pytest.fixture(scope="session")
def classifier() -> BuiltModel:
    return build_classifier()


@pytest.fixture(scope="session")
def classifier_v2() -> BuiltModel:
    return build_classifier(seed=7, c=0.05)


@pytest.fixture
def batch_env(monkeypatch: pytest.MonkeyPatch, classifier: BuiltModel) -> Iterator[BatchEnv]:
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLOPS_REGISTRY_TABLE": TABLE,
        "MLOPS_ARTIFACT_BUCKET": ARTIFACTS,
        "MLOPS_DATA_BUCKET": DATA,
        "POWERTOOLS_METRICS_NAMESPACE": "MLOps",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    reset_settings()
    aws.reset_clients()
    wiring._loaded.clear()
    with mock_aws():
        create_registry_table(aws.client("dynamodb"), TABLE)
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=ARTIFACTS)
        s3.create_bucket(Bucket=DATA)
        store = DynamoDBRegistryStore(TABLE, aws.client("dynamodb"))
        store.create_model(MODEL, actor="test")
        env = BatchEnv(store, s3, classifier)
        env.register(classifier)
        yield env
    wiring._loaded.clear()
    reset_settings()
    aws.reset_clients()


def run_input(run_id: str = "fraud-run-1") -> dict[str, Any]:
    return {
        "run_id": run_id,
        "model": MODEL,
        "input_bucket": DATA,
        "input_prefix": f"batch/input/{MODEL}/",
        "output_bucket": DATA,
        "output_prefix": f"batch/output/{MODEL}/{run_id}/",
        "trigger": {"kind": "manual", "time": "2026-01-01T00:00:00Z", "source_id": "test"},
        "max_concurrency": 2,
        "tolerated_failure_percentage": 50.0,
    }


def child_event(
    run: dict[str, Any], pinned: dict[str, Any], key: str, size: int = 0
) -> dict[str, Any]:
    """What the Map's ItemSelector gives each child."""
    return {
        "run_id": run["run_id"], "model": run["model"], "version": pinned["version"],
        "sha256": pinned["sha256"], "artifact_uri": pinned["artifact_uri"],
        "input_bucket": run["input_bucket"], "input_prefix": run["input_prefix"], "key": key,
        "size": size, "output_bucket": run["output_bucket"], "output_prefix": run["output_prefix"],
    }  # fmt: skip


CONTEXT = LocalLambdaContext()
