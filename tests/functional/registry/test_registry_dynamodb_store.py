"""The registry contract on the DynamoDB store (moto), plus DynamoDB-specific checks."""

from typing import Any

import pytest
from registry_contract import ACTOR, MODEL, RegistryContract, draft

from mlops.registry import DynamoDBRegistryStore, RegistryStore


class TestDynamoDBRegistryStore(RegistryContract):
    """The `store` fixture (conftest.py) is a DynamoDBRegistryStore on a fresh moto table."""


def test_items_stay_small_and_keyed_by_pk_and_sk(
    store: DynamoDBRegistryStore, dynamodb: Any
) -> None:
    # Given a model with a version, an alias move and a run
    store.create_model(MODEL, actor=ACTOR)
    store.register_version(MODEL, draft(), actor=ACTOR)
    store.promote(MODEL, 1, actor=ACTOR)
    # Then every item is addressed by pk/sk only and far below DynamoDB's 400 KB item limit
    items = dynamodb.scan(TableName="registry-test")["Items"]
    assert {item["sk"]["S"].split("#")[0] for item in items} >= {
        "",
        "MODEL",
        "VERSION",
        "ALIAS",
        "AUDIT",
    }
    assert max(len(str(item)) for item in items) < 10_000


def test_a_token_from_another_model_is_refused(store: RegistryStore) -> None:
    for name in ("first", "second"):
        store.create_model(name, actor=ACTOR)
        for _ in range(3):
            store.register_version(name, draft(), actor=ACTOR)
    token = store.list_versions("first", limit=1).next_token
    with pytest.raises(ValueError, match="next_token"):
        store.list_versions("second", limit=1, next_token=token)
