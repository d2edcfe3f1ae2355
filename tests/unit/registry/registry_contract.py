"""The registry contract: every RegistryStore must pass these tests.

A test module subclasses RegistryContract and provides a `store` fixture returning an empty
store (see test_registry_memory_store.py here and tests/functional/registry for DynamoDB).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlops.registry import (
    AliasName,
    AliasNotSetError,
    ArtifactRef,
    AuditAction,
    ConcurrentUpdateError,
    DataFingerprint,
    FeatureSchema,
    FeatureType,
    ModelExistsError,
    ModelNotFoundError,
    NewVersion,
    NothingToRollBackError,
    NotPromotableError,
    RegistryStore,
    Run,
    RunNotFoundError,
    RunStatus,
    RunStep,
    Trigger,
    TriggerKind,
    VersionInUseError,
    VersionNotFoundError,
    VersionStatus,
)

ACTOR = "test:alice"
MODEL = "churn"


def draft(**overrides: Any) -> NewVersion:
    fields: dict[str, Any] = {
        "task": "binary",
        "estimator": "hist_gradient_boosting",
        "params": {"max_iter": 200, "learning_rate": 0.1, "nested": {"a": [1, 2.5, None]}},
        "metrics": {"roc_auc": 0.1 + 0.2, "log_loss": 1 / 3},
        "feature_schema": [
            FeatureSchema(name="tenure", type=FeatureType.NUMERIC, minimum=0.0, maximum=72.5),
            FeatureSchema(name="plan", type=FeatureType.CATEGORICAL, categories=["a", "b"]),
        ],
        "classes": ["no", "yes"],
        "data": DataFingerprint(uri="s3://data/training/churn/a.csv", sha256="0" * 64, rows=120),
        "code_version": "abc123",
        "artifact": ArtifactRef(uri="s3://art/models/churn/1/model.onnx", sha256="f" * 64, size=9),
        "trigger": Trigger(kind=TriggerKind.S3_UPLOAD, source_id="s3://data/training/churn/a.csv"),
        "run_id": "run-1",
    }
    return NewVersion(**(fields | overrides))


def artifact_ref(name: str, version: int, sha256: str = "a" * 64) -> ArtifactRef:
    return ArtifactRef(uri=f"s3://art/models/{name}/{version}/model.onnx", sha256=sha256, size=42)


def read_production_before_it_moves(
    store: RegistryStore, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Production is v2, but the store's own reads still see the v1 alias (a stale read)."""
    store.promote(model, 1, actor=ACTOR)
    stale = store.get_alias(model, AliasName.PRODUCTION)
    store.promote(model, 2, actor="other")
    fresh = store.get_alias
    monkeypatch.setattr(
        store,
        "get_alias",
        lambda name, alias: stale if alias is AliasName.PRODUCTION else fresh(name, alias),
    )


def statuses(store: RegistryStore, name: str = MODEL) -> dict[int, VersionStatus]:
    page = store.list_versions(name, limit=1000)
    return {version.version: version.status for version in page.items}


class RegistryContract:
    """Behaviour shared by every registry store."""

    @pytest.fixture
    def model(self, store: RegistryStore) -> str:
        store.create_model(MODEL, actor=ACTOR, description="churn predictor")
        return MODEL

    @pytest.fixture
    def three_versions(self, store: RegistryStore, model: str) -> str:
        for _ in range(3):
            store.register_version(model, draft(), actor=ACTOR)
        return model

    # ---- models -------------------------------------------------------------------------
    def test_models_are_created_listed_by_name_and_audited(self, store: RegistryStore) -> None:
        # Given two models created out of order
        store.create_model("zeta", actor=ACTOR)
        created = store.create_model("alpha", actor=ACTOR, description="first", spec={"k": 0.5})
        # Then they are listed by name and read back whole
        assert [record.name for record in store.list_models()] == ["alpha", "zeta"]
        assert store.get_model("alpha") == created
        assert created.spec == {"k": 0.5}
        assert created.latest_version == 0
        # And the creation is audited with its actor
        [event] = store.history("alpha")
        assert (event.action, event.actor) == (AuditAction.MODEL_CREATED, ACTOR)

    def test_creating_a_model_twice_fails(self, store: RegistryStore, model: str) -> None:
        with pytest.raises(ModelExistsError):
            store.create_model(model, actor=ACTOR)

    @pytest.mark.parametrize("name", ["Churn", "1abc", "a", "ab--c", "a_b", "x" * 41, "abc-"])
    def test_invalid_model_names_are_refused(self, store: RegistryStore, name: str) -> None:
        with pytest.raises(ValueError, match="invalid model name"):
            store.create_model(name, actor=ACTOR)
        assert store.list_models() == []

    def test_unknown_models_raise_typed_errors(self, store: RegistryStore) -> None:
        with pytest.raises(ModelNotFoundError):
            store.get_model("ghost")
        with pytest.raises(ModelNotFoundError):
            store.list_versions("ghost")
        with pytest.raises(ModelNotFoundError):
            store.register_version("ghost", draft(), actor=ACTOR)
        with pytest.raises(ModelNotFoundError):
            store.history("ghost")
        with pytest.raises(ModelNotFoundError):
            store.resolve("ghost")

    def test_put_spec_creates_the_model_then_updates_it(self, store: RegistryStore) -> None:
        store.put_spec("fraud", {"target": "label", "gate": {"margin": 0.01}}, actor=ACTOR)
        updated = store.put_spec("fraud", {"target": "is_fraud"}, actor="test:bob")
        assert updated.spec == {"target": "is_fraud"}
        assert store.get_model("fraud").spec == {"target": "is_fraud"}
        actions = [event.action for event in store.history("fraud")]
        assert actions == [
            AuditAction.MODEL_CREATED,
            AuditAction.SPEC_UPDATED,
            AuditAction.SPEC_UPDATED,
        ]

    def test_an_empty_actor_is_refused(self, store: RegistryStore) -> None:
        with pytest.raises(ValueError, match="actor"):
            store.create_model("anon", actor=" ")

    # ---- versions -----------------------------------------------------------------------
    def test_versions_are_numbered_from_one_and_stored_whole(
        self, store: RegistryStore, model: str
    ) -> None:
        wanted = draft(metrics={"roc_auc": 0.1 + 0.2, "undefined": math.nan, "big": 1e300})
        first = store.register_version(model, wanted, actor=ACTOR)
        second = store.register_version(model, draft(), actor=ACTOR)
        assert (first.version, second.version) == (1, 2)
        assert store.get_model(model).latest_version == 2
        stored = store.get_version(model, 1)
        # Every field round-trips exactly (floats included; NaN stays NaN)
        assert stored.model_dump(exclude={"metrics"}) == first.model_dump(exclude={"metrics"})
        assert stored.metrics["roc_auc"] == 0.1 + 0.2
        assert stored.metrics["big"] == 1e300
        assert math.isnan(stored.metrics["undefined"])
        assert stored.status is VersionStatus.REGISTERED
        assert stored.feature_schema[1].categories == ["a", "b"]
        registered = [e for e in store.history(model) if e.action is AuditAction.VERSION_REGISTERED]
        assert [event.to_version for event in registered] == [1, 2]

    def test_a_version_may_be_registered_as_failed_with_its_reason(
        self, store: RegistryStore, model: str
    ) -> None:
        failed = draft(status=VersionStatus.FAILED, status_reason="conversion failed")
        version = store.register_version(model, failed, actor=ACTOR)
        assert store.get_version(model, version.version).status_reason == "conversion failed"

    @pytest.mark.parametrize("status", [VersionStatus.PRODUCTION, VersionStatus.CANDIDATE])
    def test_a_new_version_cannot_start_in_service(
        self, store: RegistryStore, model: str, status: VersionStatus
    ) -> None:
        with pytest.raises(ValueError, match="status"):
            store.register_version(model, draft(status=status), actor=ACTOR)
        assert store.get_model(model).latest_version == 0

    def test_a_version_too_big_for_one_item_is_refused(
        self, store: RegistryStore, model: str
    ) -> None:
        categories = [f"category-{index:06d}" for index in range(30_000)]
        schema = [FeatureSchema(name="zip", type=FeatureType.CATEGORICAL, categories=categories)]
        with pytest.raises(ValueError, match="KB limit"):
            store.register_version(model, draft(feature_schema=schema), actor=ACTOR)
        assert store.get_model(model).latest_version == 0

    def test_unknown_versions_raise_typed_errors(self, store: RegistryStore, model: str) -> None:
        with pytest.raises(VersionNotFoundError):
            store.get_version(model, 1)
        with pytest.raises(VersionNotFoundError):
            store.promote(model, 1, actor=ACTOR)
        with pytest.raises(VersionNotFoundError):
            store.update_version(model, 1, actor=ACTOR, metrics={"a": 1.0})

    def test_versions_are_listed_newest_first_in_pages(
        self, store: RegistryStore, model: str
    ) -> None:
        for _ in range(7):
            store.register_version(model, draft(), actor=ACTOR)
        seen: list[list[int]] = []
        token: str | None = None
        while True:
            page = store.list_versions(model, limit=3, next_token=token)
            seen.append([version.version for version in page.items])
            token = page.next_token
            if token is None:
                break
        assert seen == [[7, 6, 5], [4, 3, 2], [1]]

    def test_a_page_that_ends_the_list_has_no_token(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        page = store.list_versions(three_versions, limit=3)
        assert [v.version for v in page.items] == [3, 2, 1]
        assert page.next_token is None
        assert store.list_versions(three_versions, limit=2).next_token is not None

    @pytest.mark.parametrize("token", ["garbage", "", "eyJ4IjogMX0="])
    def test_a_bad_page_token_is_refused(
        self, store: RegistryStore, three_versions: str, token: str
    ) -> None:
        with pytest.raises(ValueError, match="next_token"):
            store.list_versions(three_versions, limit=1, next_token=token)

    def test_a_bad_page_limit_is_refused(self, store: RegistryStore, model: str) -> None:
        with pytest.raises(ValueError, match="limit"):
            store.list_versions(model, limit=0)

    def test_update_merges_metrics_and_reports(self, store: RegistryStore, model: str) -> None:
        store.register_version(
            model, draft(metrics={"a": 1.0}, reports={"x": "s3://r/x"}), actor=ACTOR
        )
        store.update_version(model, 1, actor=ACTOR, metrics={"b": 0.25})
        updated = store.update_version(model, 1, actor=ACTOR, reports={"y": "s3://r/y"})
        assert updated.metrics == {"a": 1.0, "b": 0.25}
        assert updated.reports == {"x": "s3://r/x", "y": "s3://r/y"}
        assert store.get_version(model, 1) == updated
        assert updated.status is VersionStatus.REGISTERED

    def test_status_changes_are_audited_with_their_reason(
        self, store: RegistryStore, model: str
    ) -> None:
        store.register_version(model, draft(), actor=ACTOR)
        updated = store.update_version(
            model, 1, actor="gate", status=VersionStatus.REJECTED, reason="auc below floor"
        )
        assert (updated.status, updated.status_reason) == (
            VersionStatus.REJECTED,
            "auc below floor",
        )
        event = store.history(model)[-1]
        assert event.action is AuditAction.STATUS_CHANGED
        assert (event.actor, event.to_version, event.reason) == ("gate", 1, "auc below floor")
        assert event.detail == {"from": "registered", "to": "rejected"}

    def test_status_updates_honour_expected_statuses(
        self, store: RegistryStore, model: str
    ) -> None:
        store.register_version(model, draft(status=VersionStatus.FAILED), actor=ACTOR)
        before = store.history(model)
        with pytest.raises(ConcurrentUpdateError):
            store.update_version(
                model,
                1,
                actor=ACTOR,
                status=VersionStatus.REJECTED,
                expected_statuses=frozenset({VersionStatus.REGISTERED}),
            )
        assert store.get_version(model, 1).status is VersionStatus.FAILED
        assert store.history(model) == before

    def test_update_version_cannot_put_a_version_in_service(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        with pytest.raises(ValueError, match="promote"):
            store.update_version(three_versions, 1, actor=ACTOR, status=VersionStatus.PRODUCTION)

    def test_a_serving_version_keeps_its_status_until_an_alias_moves(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 1, actor=ACTOR)
        store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.5)
        for version in (1, 2):
            with pytest.raises(VersionInUseError):
                store.update_version(
                    three_versions, version, actor=ACTOR, status=VersionStatus.FAILED
                )
        assert statuses(store)[1] is VersionStatus.PRODUCTION

    # ---- artifacts: attached once, after registration ------------------------------------
    def test_an_artifact_is_attached_after_registration(
        self, store: RegistryStore, model: str
    ) -> None:
        # Given a version registered before its files exist (the number names their folder)
        registered = store.register_version(model, draft(artifact=None), actor=ACTOR)
        assert store.get_version(model, registered.version).artifact is None
        before = store.history(model)
        # When its artifact and report URIs are attached
        ref = artifact_ref(model, registered.version)
        updated = store.update_version(
            model, registered.version, actor=ACTOR, artifact=ref, reports={"holdout": "s3://h"}
        )
        # Then the version carries them, keeps its status, and nothing else changed
        assert updated.artifact == ref
        assert store.get_version(model, registered.version) == updated
        assert updated.status is VersionStatus.REGISTERED
        assert updated.reports["holdout"] == "s3://h"
        assert store.list_versions(model).items[0].artifact == ref
        assert store.history(model) == before

    def test_an_artifact_is_written_once(self, store: RegistryStore, model: str) -> None:
        store.register_version(model, draft(artifact=None), actor=ACTOR)
        ref = artifact_ref(model, 1)
        store.update_version(model, 1, actor=ACTOR, artifact=ref)
        # The same reference again (a retried step) is a no-op ...
        again = store.update_version(model, 1, actor=ACTOR, artifact=ref, metrics={"m": 1.0})
        assert (again.artifact, again.metrics["m"]) == (ref, 1.0)
        # ... another one is refused, naming the field, and changes nothing
        other = artifact_ref(model, 1, sha256="e" * 64)
        with pytest.raises(ValueError, match="artifact: version 1 of 'churn' already has"):
            store.update_version(model, 1, actor=ACTOR, artifact=other, metrics={"m": 2.0})
        assert store.get_version(model, 1) == again

    def test_an_artifact_given_at_registration_cannot_be_replaced(
        self, store: RegistryStore, model: str
    ) -> None:
        store.register_version(model, draft(), actor=ACTOR)
        with pytest.raises(ValueError, match="an artifact never changes"):
            store.update_version(model, 1, actor=ACTOR, artifact=artifact_ref(model, 1))
        assert store.get_version(model, 1).artifact == draft().artifact

    @pytest.mark.parametrize(
        "move",
        [
            {},
            {"canary_weight": 0.25},
            {"shadow": True},
        ],
        ids=["production", "canary", "shadow"],
    )
    def test_a_version_without_an_artifact_is_not_promotable(
        self, store: RegistryStore, model: str, move: dict[str, Any]
    ) -> None:
        # Given a version whose training has not attached its artifact yet
        store.register_version(model, draft(artifact=None), actor=ACTOR)
        before = store.history(model)
        # Then it cannot serve in any way, and nothing moved
        with pytest.raises(NotPromotableError, match="version 1 of 'churn' has no model artifact"):
            store.promote(model, 1, actor=ACTOR, **move)
        assert store.get_alias(model, AliasName.PRODUCTION) is None
        assert store.get_alias(model, AliasName.CANDIDATE) is None
        assert store.history(model) == before
        # Until the artifact is attached
        store.update_version(model, 1, actor=ACTOR, artifact=artifact_ref(model, 1))
        store.promote(model, 1, actor=ACTOR, **move)
        assert statuses(store)[1] in {VersionStatus.PRODUCTION, VersionStatus.CANDIDATE}

    # ---- aliases: production ------------------------------------------------------------
    def test_first_promotion_sets_production(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        event = store.promote(three_versions, 2, actor=ACTOR, reason="beats the floor")
        assert (event.action, event.alias, event.actor) == (
            AuditAction.ALIAS_MOVED,
            AliasName.PRODUCTION,
            ACTOR,
        )
        assert (event.from_version, event.to_version, event.reason) == (None, 2, "beats the floor")
        assert store.history(three_versions)[-1] == event
        alias = store.get_alias(three_versions, AliasName.PRODUCTION)
        assert alias is not None
        assert (alias.version, alias.weight, alias.shadow, alias.previous_versions) == (
            2,
            1.0,
            False,
            [],
        )
        assert store.resolve(three_versions).version == 2
        assert store.resolve(three_versions, version=3).version == 3
        assert statuses(store) == {
            3: VersionStatus.REGISTERED,
            2: VersionStatus.PRODUCTION,
            1: VersionStatus.REGISTERED,
        }

    def test_a_new_production_version_archives_the_old_one(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 1, actor=ACTOR)
        event = store.promote(three_versions, 3, actor=ACTOR)
        assert (event.from_version, event.to_version) == (1, 3)
        alias = store.get_alias(three_versions, AliasName.PRODUCTION)
        assert alias is not None
        assert (alias.version, alias.previous_versions) == (3, [1])
        assert statuses(store) == {
            3: VersionStatus.PRODUCTION,
            2: VersionStatus.REGISTERED,
            1: VersionStatus.ARCHIVED,
        }

    @pytest.mark.parametrize("status", [VersionStatus.REJECTED, VersionStatus.FAILED])
    def test_rejected_and_failed_versions_are_not_promotable(
        self, store: RegistryStore, model: str, status: VersionStatus
    ) -> None:
        store.register_version(model, draft(status=status, status_reason="bad"), actor=ACTOR)
        before = store.history(model)
        with pytest.raises(NotPromotableError, match=status.value):
            store.promote(model, 1, actor=ACTOR)
        with pytest.raises(NotPromotableError):
            store.promote(model, 1, actor=ACTOR, canary_weight=0.1)
        assert store.get_alias(model, AliasName.PRODUCTION) is None
        assert store.history(model) == before

    def test_promoting_the_production_version_again_is_refused(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 1, actor=ACTOR)
        with pytest.raises(NotPromotableError, match="already production"):
            store.promote(three_versions, 1, actor=ACTOR)
        with pytest.raises(NotPromotableError):
            store.promote(three_versions, 1, actor=ACTOR, canary_weight=0.2)

    def test_an_archived_version_may_serve_again(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 1, actor=ACTOR)
        store.promote(three_versions, 2, actor=ACTOR)
        store.promote(three_versions, 1, actor=ACTOR)
        alias = store.get_alias(three_versions, AliasName.PRODUCTION)
        assert alias is not None
        assert (alias.version, alias.previous_versions) == (1, [1, 2])

    # ---- aliases: candidate -------------------------------------------------------------
    def test_a_canary_candidate_carries_its_weight(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 1, actor=ACTOR)
        event = store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.1, reason="canary")
        assert (event.alias, event.to_version, event.detail) == (
            AliasName.CANDIDATE,
            2,
            {"weight": 0.1, "shadow": False},
        )
        candidate = store.get_alias(three_versions, AliasName.CANDIDATE)
        assert candidate is not None
        assert (candidate.version, candidate.weight, candidate.shadow) == (2, 0.1, False)
        assert store.resolve(three_versions, alias=AliasName.CANDIDATE).version == 2
        assert store.resolve(three_versions).version == 1
        assert statuses(store)[2] is VersionStatus.CANDIDATE

    def test_a_shadow_candidate_takes_no_traffic(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 3, actor=ACTOR, shadow=True)
        candidate = store.get_alias(three_versions, AliasName.CANDIDATE)
        assert candidate is not None
        assert (candidate.version, candidate.weight, candidate.shadow) == (3, 0.0, True)
        assert store.get_alias(three_versions, AliasName.PRODUCTION) is None

    @pytest.mark.parametrize(
        ("weight", "shadow"), [(1.5, False), (-0.1, False), (math.nan, False), (0.3, True)]
    )
    def test_bad_canary_weights_are_refused(
        self, store: RegistryStore, three_versions: str, weight: float, shadow: bool
    ) -> None:
        with pytest.raises(ValueError, match="canary_weight"):
            store.promote(three_versions, 2, actor=ACTOR, canary_weight=weight, shadow=shadow)
        assert store.get_alias(three_versions, AliasName.CANDIDATE) is None

    def test_the_candidate_weight_can_be_changed(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.1)
        event = store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.5)
        assert (event.from_version, event.to_version) == (2, 2)
        candidate = store.get_alias(three_versions, AliasName.CANDIDATE)
        assert candidate is not None
        assert candidate.weight == 0.5
        with pytest.raises(NotPromotableError, match="already the candidate"):
            store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.5)

    def test_a_new_candidate_archives_the_old_one(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.1)
        store.promote(three_versions, 3, actor=ACTOR, canary_weight=0.2)
        assert statuses(store) == {
            3: VersionStatus.CANDIDATE,
            2: VersionStatus.ARCHIVED,
            1: VersionStatus.REGISTERED,
        }

    def test_promoting_the_candidate_clears_it_in_one_event(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 1, actor=ACTOR)
        store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.3)
        events_before = len(store.history(three_versions))
        event = store.promote(three_versions, 2, actor=ACTOR, reason="canary healthy")
        assert event.detail == {"candidate_cleared": True}
        assert len(store.history(three_versions)) == events_before + 1
        assert store.get_alias(three_versions, AliasName.CANDIDATE) is None
        assert statuses(store) == {
            3: VersionStatus.REGISTERED,
            2: VersionStatus.PRODUCTION,
            1: VersionStatus.ARCHIVED,
        }

    def test_clearing_the_candidate_archives_it(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.3)
        event = store.clear_candidate(three_versions, actor=ACTOR, reason="error rate")
        assert (event.action, event.from_version, event.reason) == (
            AuditAction.ALIAS_CLEARED,
            2,
            "error rate",
        )
        assert store.get_alias(three_versions, AliasName.CANDIDATE) is None
        assert statuses(store)[2] is VersionStatus.ARCHIVED
        with pytest.raises(AliasNotSetError):
            store.clear_candidate(three_versions, actor=ACTOR)
        with pytest.raises(AliasNotSetError):
            store.resolve(three_versions, alias=AliasName.CANDIDATE)

    # ---- rejecting the candidate (the post-promotion guard) ------------------------------
    def test_rejecting_the_canary_takes_it_out_of_service_in_one_event(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        # Given production v1 and a 20% canary v2
        store.promote(three_versions, 1, actor=ACTOR)
        store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.2)
        events_before = len(store.history(three_versions))
        # When the guard rejects the canary
        reason = "mlops/churn/guard/errors: Threshold Crossed"
        event = store.reject_candidate(
            three_versions, actor="guard", reason=reason, expected_version=2
        )
        # Then one audit event says so, the candidate is gone and the version rejected
        assert (event.action, event.alias, event.from_version, event.to_version) == (
            AuditAction.CANDIDATE_REJECTED,
            AliasName.CANDIDATE,
            2,
            None,
        )
        assert (event.actor, event.reason) == ("guard", reason)
        assert event.detail == {"weight": 0.2, "shadow": False, "status": "rejected"}
        assert store.history(three_versions)[-1] == event
        assert len(store.history(three_versions)) == events_before + 1
        assert store.get_alias(three_versions, AliasName.CANDIDATE) is None
        rejected = store.get_version(three_versions, 2)
        assert (rejected.status, rejected.status_reason) == (VersionStatus.REJECTED, reason)
        # And production serves on, untouched; the rejected version may never serve again
        production = store.get_alias(three_versions, AliasName.PRODUCTION)
        assert production is not None
        assert (production.version, statuses(store)[1]) == (1, VersionStatus.PRODUCTION)
        with pytest.raises(NotPromotableError, match="rejected"):
            store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.2)

    def test_rejecting_a_candidate_that_moved_changes_nothing(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        # Given a guard that saw candidate v2, which has since been replaced by v3
        store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.2)
        store.promote(three_versions, 3, actor="other", canary_weight=0.1)
        history = store.history(three_versions)
        # When it rejects v2
        with pytest.raises(ConcurrentUpdateError, match="v3, not v2"):
            store.reject_candidate(three_versions, actor="guard", reason="x", expected_version=2)
        # Then nothing changed
        assert store.history(three_versions) == history
        assert statuses(store)[3] is VersionStatus.CANDIDATE

    def test_rejecting_without_a_candidate_or_a_reason_is_refused(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        with pytest.raises(AliasNotSetError):
            store.reject_candidate(three_versions, actor="guard", reason="x", expected_version=1)
        store.promote(three_versions, 1, actor=ACTOR, canary_weight=0.2)
        with pytest.raises(ValueError, match="reason"):
            store.reject_candidate(three_versions, actor="guard", reason=" ", expected_version=1)
        with pytest.raises(ValueError, match="actor"):
            store.reject_candidate(three_versions, actor="", reason="x", expected_version=1)
        with pytest.raises(ModelNotFoundError):
            store.reject_candidate("ghost", actor="guard", reason="x", expected_version=1)
        assert statuses(store)[1] is VersionStatus.CANDIDATE

    def test_a_rejection_planned_on_a_stale_candidate_read_changes_nothing(
        self, store: RegistryStore, three_versions: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given a guard whose read of the candidate (v2 at 20%) is stale: its weight changed
        store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.2)
        stale = store.get_alias(three_versions, AliasName.CANDIDATE)
        store.promote(three_versions, 2, actor="other", canary_weight=0.5)
        history = store.history(three_versions)
        monkeypatch.setattr(store, "get_alias", lambda name, alias: stale)
        # When it rejects v2 on the strength of that read
        with pytest.raises(ConcurrentUpdateError):
            store.reject_candidate(three_versions, actor="guard", reason="x", expected_version=2)
        monkeypatch.undo()
        # Then the atomic write noticed the alias moved, and nothing changed
        assert store.history(three_versions) == history
        candidate = store.get_alias(three_versions, AliasName.CANDIDATE)
        assert candidate is not None
        assert (candidate.version, candidate.weight) == (2, 0.5)

    def test_promoting_the_expected_candidate_to_production(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        # Given production v1 and canary v2
        store.promote(three_versions, 1, actor=ACTOR)
        store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.2)
        # When v2 is promoted on condition that it is still the candidate
        event = store.promote(
            three_versions, 2, actor="guard", expected_production=1, expected_candidate=2
        )
        # Then it is production and the candidate is cleared
        assert event.detail == {"candidate_cleared": True}
        assert store.resolve(three_versions).version == 2
        assert store.get_alias(three_versions, AliasName.CANDIDATE) is None

    def test_promoting_a_candidate_that_was_replaced_changes_nothing(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        # Given a guard that saw canary v2, which has since been replaced by v3 (v2 archived)
        store.promote(three_versions, 1, actor=ACTOR)
        store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.2)
        store.promote(three_versions, 3, actor="other", canary_weight=0.2)
        history = store.history(three_versions)
        # When it promotes v2 as the candidate it saw
        with pytest.raises(ConcurrentUpdateError, match="v3, not v2"):
            store.promote(three_versions, 2, actor="guard", expected_candidate=2)
        store.clear_candidate(three_versions, actor="other")
        with pytest.raises(AliasNotSetError):
            store.promote(three_versions, 2, actor="guard", expected_candidate=2)
        # Then production never moved
        assert store.resolve(three_versions).version == 1
        assert store.history(three_versions)[: len(history)] == history
        with pytest.raises(ValueError, match="expected_candidate"):
            store.promote(three_versions, 3, actor="guard", canary_weight=0.1, expected_candidate=3)

    # ---- rollback -----------------------------------------------------------------------
    def test_rollback_walks_production_back(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        for version in (1, 2, 3):
            store.promote(three_versions, version, actor=ACTOR)
        event = store.rollback(three_versions, actor="oncall", reason="latency")
        assert (event.action, event.alias, event.from_version, event.to_version) == (
            AuditAction.ROLLBACK,
            AliasName.PRODUCTION,
            3,
            2,
        )
        assert (event.actor, event.reason) == ("oncall", "latency")
        assert statuses(store) == {
            3: VersionStatus.ARCHIVED,
            2: VersionStatus.PRODUCTION,
            1: VersionStatus.ARCHIVED,
        }
        store.rollback(three_versions, actor=ACTOR)
        assert store.resolve(three_versions).version == 1
        with pytest.raises(NothingToRollBackError):
            store.rollback(three_versions, actor=ACTOR)
        assert store.resolve(three_versions).version == 1

    def test_rollback_without_production_fails(self, store: RegistryStore, model: str) -> None:
        with pytest.raises(NothingToRollBackError):
            store.rollback(model, actor=ACTOR)
        with pytest.raises(ModelNotFoundError):
            store.rollback("ghost", actor=ACTOR)

    def test_rollback_skips_versions_that_may_no_longer_serve(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        for version in (1, 2, 3):
            store.promote(three_versions, version, actor=ACTOR)
        store.update_version(three_versions, 2, actor=ACTOR, status=VersionStatus.FAILED)
        event = store.rollback(three_versions, actor=ACTOR)
        assert event.to_version == 1
        alias = store.get_alias(three_versions, AliasName.PRODUCTION)
        assert alias is not None
        assert alias.previous_versions == []

    def test_rollback_onto_the_candidate_clears_it(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 1, actor=ACTOR)
        store.promote(three_versions, 2, actor=ACTOR)
        store.promote(three_versions, 1, actor=ACTOR, canary_weight=0.2)
        store.rollback(three_versions, actor=ACTOR)
        assert store.get_alias(three_versions, AliasName.CANDIDATE) is None
        assert statuses(store)[1] is VersionStatus.PRODUCTION

    # ---- lost races ---------------------------------------------------------------------
    def test_a_promotion_planned_on_a_stale_alias_changes_nothing(
        self, store: RegistryStore, three_versions: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given a promoter that read production before another promotion landed
        read_production_before_it_moves(store, three_versions, monkeypatch)
        history = store.history(three_versions)
        # When it promotes
        with pytest.raises(ConcurrentUpdateError):
            store.promote(three_versions, 3, actor=ACTOR)
        monkeypatch.undo()
        # Then nothing changed
        assert store.history(three_versions) == history
        assert store.resolve(three_versions).version == 2
        assert statuses(store) == {
            3: VersionStatus.REGISTERED,
            2: VersionStatus.PRODUCTION,
            1: VersionStatus.ARCHIVED,
        }

    @pytest.mark.parametrize("canary_weight", [None, 0.1])
    def test_a_promotion_judged_against_another_production_changes_nothing(
        self, store: RegistryStore, three_versions: str, canary_weight: float | None
    ) -> None:
        # Given version 3 judged against production v1, but production is now v2
        store.promote(three_versions, 1, actor=ACTOR)
        store.promote(three_versions, 2, actor="other")
        history = store.history(three_versions)
        # When the gate promotes it on that condition
        with pytest.raises(ConcurrentUpdateError, match="v2, not v1"):
            store.promote(
                three_versions, 3, actor=ACTOR, canary_weight=canary_weight, expected_production=1
            )
        # Then nothing changed
        assert store.history(three_versions) == history
        assert store.get_alias(three_versions, AliasName.CANDIDATE) is None
        assert statuses(store)[3] is VersionStatus.REGISTERED

    def test_promotions_judged_against_the_current_production_go_through(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 1, actor=ACTOR, expected_production=None)
        store.promote(three_versions, 2, actor=ACTOR, canary_weight=0.2, expected_production=1)
        store.promote(three_versions, 3, actor=ACTOR, expected_production=1)

        assert store.resolve(three_versions).version == 3
        assert store.get_alias(three_versions, AliasName.CANDIDATE) is not None

    def test_a_canary_judged_on_a_stale_production_read_changes_nothing(
        self, store: RegistryStore, three_versions: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given a gate that read production v1 just before another promotion moved it to v2
        read_production_before_it_moves(store, three_versions, monkeypatch)
        history = store.history(three_versions)
        # When it makes version 3 a canary on the condition that production is still v1
        with pytest.raises(ConcurrentUpdateError):
            store.promote(three_versions, 3, actor=ACTOR, canary_weight=0.1, expected_production=1)
        monkeypatch.undo()
        # Then the atomic write noticed production moved, and nothing changed
        assert store.history(three_versions) == history
        assert store.get_alias(three_versions, AliasName.CANDIDATE) is None
        assert statuses(store)[3] is VersionStatus.REGISTERED

    # ---- history ------------------------------------------------------------------------
    def test_history_is_oldest_first_and_limited_to_the_latest(
        self, store: RegistryStore, three_versions: str
    ) -> None:
        store.promote(three_versions, 1, actor=ACTOR)
        store.promote(three_versions, 2, actor=ACTOR)
        full = store.history(three_versions)
        assert [event.action for event in full] == [
            AuditAction.MODEL_CREATED,
            *[AuditAction.VERSION_REGISTERED] * 3,
            AuditAction.ALIAS_MOVED,
            AuditAction.ALIAS_MOVED,
        ]
        assert store.history(three_versions, limit=2) == full[-2:]
        assert [event.at for event in full] == sorted(event.at for event in full)

    # ---- runs ---------------------------------------------------------------------------
    def make_run(self, run_id: str, minutes: int = 0, model: str = MODEL) -> Run:
        return Run(
            run_id=run_id,
            model=model,
            trigger=Trigger(kind=TriggerKind.MANUAL, source_id="cli:alice"),
            data_uri=f"s3://data/training/{model}/{run_id}.csv",
            started_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
        )

    def test_runs_are_created_once_and_found_by_id(self, store: RegistryStore) -> None:
        first = self.make_run("run-a")
        assert store.create_run(first) == first
        again = first.model_copy(update={"data_uri": "s3://elsewhere/x.csv"})
        assert store.create_run(again) == first
        assert store.get_run("run-a") == first
        with pytest.raises(RunNotFoundError):
            store.get_run("run-missing")

    def test_runs_are_listed_newest_first(self, store: RegistryStore) -> None:
        for index, run_id in enumerate(["r1", "r2", "r3"]):
            store.create_run(self.make_run(run_id, minutes=index))
        store.create_run(self.make_run("other", model="fraud"))
        assert [run.run_id for run in store.list_runs(MODEL)] == ["r3", "r2", "r1"]
        assert [run.run_id for run in store.list_runs(MODEL, limit=2)] == ["r3", "r2"]
        assert store.list_runs("nobody") == []

    def test_run_steps_and_outcome_are_recorded(self, store: RegistryStore) -> None:
        store.create_run(self.make_run("run-b"))
        start = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
        store.record_run_step("run-b", RunStep(name="validate", started_at=start))
        store.record_run_step(
            "run-b",
            RunStep(
                name="train",
                started_at=start,
                finished_at=start + timedelta(seconds=3),
                detail={"rows": 100, "seconds": 2.75},
            ),
        )
        finished = store.finish_run(
            "run-b", status=RunStatus.REJECTED, reason="auc 0.61 < floor 0.7", version=4
        )
        assert [step.name for step in finished.steps] == ["validate", "train"]
        assert finished.steps[1].detail == {"rows": 100, "seconds": 2.75}
        assert (finished.status, finished.reason, finished.version) == (
            RunStatus.REJECTED,
            "auc 0.61 < floor 0.7",
            4,
        )
        assert finished.finished_at is not None
        assert store.get_run("run-b") == finished

    def test_updating_an_unknown_run_fails(self, store: RegistryStore) -> None:
        with pytest.raises(RunNotFoundError):
            store.record_run_step("nope", RunStep(name="x", started_at=datetime.now(UTC)))
        with pytest.raises(RunNotFoundError):
            store.finish_run("nope", status=RunStatus.FAILED)
