"""Helpers for the serving functional tests: a fake clock, a registrar, a handler caller."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from onnx_builders import BuiltModel

from mlops.artifacts import ArtifactStore
from mlops.handlers.score import handler
from mlops.registry.entities import NewVersion, Trigger, TriggerKind
from mlops.registry.store import RegistryStore
from mlops.serving.local_server import LocalLambdaContext, proxy_event, response_headers


def create_registry_table(dynamodb: Any, name: str) -> None:
    """The registry table's key schema (as the storage construct declares it)."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


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
