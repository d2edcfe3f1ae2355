"""Fixtures for the DynamoDB registry store on moto."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "registry"))

from registry_table import create_registry_table

from mlops.registry import DynamoDBRegistryStore

TABLE = "registry-test"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_registry_table(client, TABLE)
        yield client


@pytest.fixture
def store(dynamodb: Any) -> DynamoDBRegistryStore:
    return DynamoDBRegistryStore(TABLE, dynamodb)


@pytest.fixture
def serialized_moto_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serialize moto's DynamoDB request handling, as real DynamoDB isolates each request.

    moto 5.2.5's DynamoDBBackend.transact_write_items is not atomic under threads: it
    deep-copies the table, applies the writes one by one and, on a failed condition, restores
    the copy, so a concurrent request can crash the copy ("dictionary changed size during
    iteration") or be silently undone by the restore (8 threads x 10 registrations returned
    duplicate version numbers). A lock around DynamoHandler.call_action (every DynamoDB
    request) restores the isolation the store relies on; the store itself is unchanged.
    """
    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)
