"""Fixtures for the DynamoDB registry store on moto."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "registry"))

from mlops.local.cloud import FAKE_CREDENTIALS
from mlops.local.isolation import serialized_dynamodb
from mlops.local.tables import create_registry_table
from mlops.registry import DynamoDBRegistryStore

TABLE = "registry-test"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for variable, value in {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}.items():
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
def serialized_moto_dynamodb() -> Iterator[None]:
    """Serialize moto's DynamoDB request handling, as real DynamoDB isolates each request.

    The local cloud does the same (see mlops.local.isolation); the store itself is unchanged.
    """
    with serialized_dynamodb():
        yield
