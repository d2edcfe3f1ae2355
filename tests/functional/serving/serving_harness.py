"""Helpers for the serving functional tests: a fake clock, a registrar, a handler caller and
a moto server for other processes to score against."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto.server import ThreadedMotoServer
from onnx_builders import BuiltModel

from mlops import aws
from mlops.artifacts import ArtifactStore
from mlops.handlers.score import handler
from mlops.local.tables import create_registry_table
from mlops.registry.dynamodb import DynamoDBRegistryStore
from mlops.registry.entities import NewVersion, Trigger, TriggerKind
from mlops.registry.store import RegistryStore
from mlops.serving.local_server import LocalLambdaContext, proxy_event, response_headers
from mlops.settings import reset_settings


@dataclass
class FakeClock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class Registrar:
    """Registers built models the way the training pipeline does: artifact first, then version."""

    def __init__(self, store: RegistryStore, artifacts: ArtifactStore) -> None:
        self.store = store
        self.artifacts = artifacts

    def register(
        self,
        name: str,
        built: BuiltModel,
        *,
        promote: bool = False,
        spec: dict[str, Any] | None = None,
        onnx: bytes | None = None,
    ) -> int:
        if name not in {model.name for model in self.store.list_models()}:
            self.store.create_model(name, actor="test", spec=spec)
        version = self.store.get_model(name).latest_version + 1
        ref = self.artifacts.put(name, version, "model.onnx", onnx or built.onnx)
        registered = self.store.register_version(
            name,
            NewVersion(
                task=built.task,
                estimator="logistic_regression" if built.classes else "linear_regression",
                metrics={"roc_auc": 0.9} if built.classes else {"rmse": 1.0},
                feature_schema=built.feature_schema,
                classes=built.classes,
                artifact=ref,
                trigger=Trigger(kind=TriggerKind.MANUAL, source_id="test"),
            ),
            actor="test",
        )
        assert registered.version == version
        if promote:
            self.store.promote(name, version, actor="test", reason="test")
        return version


def call(
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw: str | bytes | None = None,
    request_id: str | None = None,
) -> Reply:
    """Invoke the score handler with an API Gateway proxy event, as API Gateway would."""
    payload = raw if raw is not None else (None if body is None else json.dumps(body))
    event = proxy_event(method, path, headers, payload, request_id=request_id)
    result = handler(event, LocalLambdaContext())
    text = result.get("body") or ""
    try:
        document = json.loads(text)
    except ValueError:
        document = text
    return Reply(result["statusCode"], document, response_headers(result))


@contextmanager
def moto_server_with_model(built: BuiltModel, prefix: str) -> Iterator[dict[str, str]]:
    """A moto server whose registry (`<prefix>-registry`, buckets `<prefix>-artifacts` and
    `<prefix>-data`) holds `built` promoted as model "fraud"; yields the environment variables
    that point another process at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    table, artifact_bucket = f"{prefix}-registry", f"{prefix}-artifacts"
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "MLOPS_REGISTRY_TABLE": table,
        "MLOPS_ARTIFACT_BUCKET": artifact_bucket,
        "MLOPS_DATA_BUCKET": f"{prefix}-data",
    }
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            reset_settings()
            aws.reset_clients()
            create_registry_table(aws.client("dynamodb"), table)
            for bucket in (artifact_bucket, f"{prefix}-data"):
                aws.client("s3").create_bucket(Bucket=bucket)
            store = DynamoDBRegistryStore(table, aws.client("dynamodb"))
            artifacts = ArtifactStore(aws.client("s3"), artifact_bucket)
            Registrar(store, artifacts).register("fraud", built, promote=True)
        reset_settings()
        aws.reset_clients()
        yield env
    finally:
        server.stop()
