"""The registry contract on the DynamoDB store (moto), plus DynamoDB-specific checks."""

from typing import Any

import pytest
from conftest import TABLE
from registry_contract import ACTOR, MODEL, RegistryContract, artifact_ref, draft

from mlops.registry import (
    AliasName,
    ConcurrentUpdateError,
    DynamoDBRegistryStore,
    RegistryError,
    RegistryStore,
    VersionStatus,
    items,
    layout,
)


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


def test_an_artifact_attached_meanwhile_is_never_overwritten(
    store: DynamoDBRegistryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a version read before another writer attached its artifact
    store.create_model(MODEL, actor=ACTOR)
    store.register_version(MODEL, draft(artifact=None), actor=ACTOR)
    stale = store.get_version(MODEL, 1)
    first = artifact_ref(MODEL, 1)
    store.update_version(MODEL, 1, actor=ACTOR, artifact=first)
    reads = iter([stale])
    real_get = store.get_version
    monkeypatch.setattr(store, "get_version", lambda n, v: next(reads, None) or real_get(n, v))

    # When this writer attaches another artifact on the strength of its stale read
    with pytest.raises(ValueError, match="already has its artifact"):
        store.update_version(MODEL, 1, actor=ACTOR, artifact=artifact_ref(MODEL, 1, "b" * 64))

    # Then the conditional write refused it and the first artifact stands
    assert real_get(MODEL, 1).artifact == first


def test_versions_stored_with_the_artifact_in_their_document_still_read(
    store: DynamoDBRegistryStore, dynamodb: Any
) -> None:
    # Given a version item written before the artifact became an attribute of its own
    store.create_model(MODEL, actor=ACTOR)
    registered = store.register_version(MODEL, draft(), actor=ACTOR)
    key = layout.version_key(MODEL, 1)
    old_doc = items.doc(registered, exclude=layout.VERSION_MUTABLE - {"artifact"})
    dynamodb.update_item(
        TableName="registry-test",
        Key=key,
        UpdateExpression="SET #doc = :doc REMOVE #artifact",
        ExpressionAttributeNames={"#doc": "doc", "#artifact": "artifact"},
        ExpressionAttributeValues={":doc": old_doc},
    )

    # Then it reads back whole, serves, and its artifact still cannot be replaced
    assert store.get_version(MODEL, 1) == registered
    with pytest.raises(ValueError, match="an artifact never changes"):
        store.update_version(MODEL, 1, actor=ACTOR, artifact=artifact_ref(MODEL, 1, "c" * 64))
    store.promote(MODEL, 1, actor=ACTOR)
    assert store.resolve(MODEL).artifact == registered.artifact


def test_a_listing_never_silently_drops_entries_dynamodb_keeps_unprocessed(
    store: DynamoDBRegistryStore, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two models, and DynamoDB throttling every batch read of them
    store.create_model("churn", actor=ACTOR)
    store.create_model("fraud", actor=ACTOR)

    def throttled(RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        return {"Responses": {}, "UnprocessedKeys": RequestItems}

    monkeypatch.setattr(dynamodb, "batch_get_item", throttled)
    monkeypatch.setattr("mlops.registry.dynamodb._backoff", lambda attempt: None)

    # Then the listing fails loudly instead of returning fewer models
    with pytest.raises(RegistryError, match="keys unread after"):
        store.list_models()


def test_a_rollback_racing_a_canary_of_its_target_changes_nothing(
    store: DynamoDBRegistryStore, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given v2 in production after v1
    store.create_model(MODEL, actor=ACTOR)
    for _ in range(2):
        store.register_version(MODEL, draft(), actor=ACTOR)
    store.promote(MODEL, 1, actor=ACTOR)
    store.promote(MODEL, 2, actor=ACTOR)
    # And another client making v1 the canary after the rollback read the aliases, before it
    # reads v1 (the interleaving a racing-threads test once hit)
    other = DynamoDBRegistryStore(TABLE, dynamodb)
    read_version = store.get_version
    raced: list[object] = []

    def racing(name: str, number: int) -> object:
        if not raced:
            raced.append(other.promote(MODEL, 1, actor="other", canary_weight=0.2))
        return read_version(name, number)

    monkeypatch.setattr(store, "get_version", racing)
    # When production is rolled back, then the move is refused as concurrent
    with pytest.raises(ConcurrentUpdateError):
        store.rollback(MODEL, actor=ACTOR)
    # And v1 is the candidate only, never production and candidate at once
    production = store.get_alias(MODEL, AliasName.PRODUCTION)
    candidate = store.get_alias(MODEL, AliasName.CANDIDATE)
    assert (production and production.version, candidate and candidate.version) == (2, 1)
    assert read_version(MODEL, 1).status is VersionStatus.CANDIDATE
