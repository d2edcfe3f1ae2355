"""The Gate and Finalize use-cases on the in-memory registry (no AWS)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops.local.demo_data import make_spec
from mlops.pipeline.errors import PipelineInputError
from mlops.pipeline.finalize import error_text, finalize_run
from mlops.pipeline.gate import apply_gate
from mlops.pipeline.payloads import (
    FinalizeInput,
    GateInput,
    PipelineInput,
    StepError,
    parse_payload,
)
from mlops.registry import (
    AliasName,
    ArtifactRef,
    InMemoryRegistryStore,
    NewVersion,
    Run,
    RunStatus,
    Trigger,
    TriggerKind,
    VersionStatus,
)

TRIGGER = Trigger(kind=TriggerKind.MANUAL, source_id="test")
SHA = "0" * 64


def _store(**spec_overrides: Any) -> InMemoryRegistryStore:
    store = InMemoryRegistryStore()
    store.put_spec("fraud", make_spec("fraud", "binary", **spec_overrides), actor="test")
    return store


def _register(store: InMemoryRegistryStore, run_id: str) -> int:
    store.create_run(Run(run_id=run_id, model="fraud", trigger=TRIGGER, data_uri="s3://d/k.csv"))
    version = store.register_version(
        "fraud",
        NewVersion(
            task="binary",
            estimator="LogisticRegression",
            trigger=TRIGGER,
            run_id=run_id,
            artifact=ArtifactRef(uri="s3://a/models/fraud/1/model.onnx", sha256=SHA, size=1),
        ),
        actor="test",
    )
    return version.version


def _state(
    run_id: str, version: int, metrics: dict[str, float], production: Any = None
) -> dict[str, Any]:
    production_version, production_metrics = production or (None, None)
    return {
        "run_id": run_id,
        "model": "fraud",
        "data_uri": "s3://d/k.csv",
        "trigger": TRIGGER.model_dump(mode="json"),
        "validation": {
            "valid": True,
            "reason": None,
            "report_uri": f"s3://a/runs/{run_id}/validation.json",
            "data": {"uri": "s3://d/k.csv", "rows": 100},
        },
        "training": {
            "version": version,
            "artifact": {"uri": "s3://a/m.onnx", "sha256": SHA, "size": 1},
            "holdout_uri": "s3://a/h",
            "baseline_uri": "s3://a/b",
        },
        "evaluation": {
            "metrics": metrics,
            "production_version": production_version,
            "production_metrics": production_metrics,
            "report_uri": "s3://a/e.json",
            "report_html_uri": "s3://a/e.html",
        },
    }


def test_first_version_is_promoted_and_a_retried_gate_is_harmless() -> None:
    store = _store()
    version = _register(store, "run-1")
    payload = GateInput.model_validate(_state("run-1", version, {"roc_auc": 0.9}))

    first = apply_gate(payload, store=store)
    again = apply_gate(payload, store=store)

    assert first.decision == again.decision == "promoted"
    assert store.resolve("fraud").version == version
    assert [step.outcome for step in store.get_run("run-1").steps] == ["promoted", "promoted"]


def test_canary_and_shadow_policies_move_the_candidate_alias() -> None:
    for mode, decision in (("canary", "canary"), ("shadow", "shadow")):
        store = _store(promotion={"mode": mode, "canary_weight": 0.25})
        first = _register(store, "run-1")
        apply_gate(GateInput.model_validate(_state("run-1", first, {"roc_auc": 0.8})), store=store)
        second = _register(store, "run-2")
        state = _state("run-2", second, {"roc_auc": 0.9}, (first, {"roc_auc": 0.8}))

        result = apply_gate(GateInput.model_validate(state), store=store)

        assert result.decision == decision
        candidate = store.get_alias("fraud", AliasName.CANDIDATE)
        assert candidate is not None
        assert candidate.version == second
        assert candidate.shadow is (mode == "shadow")
        if mode == "canary":
            assert candidate.weight == pytest.approx(0.25)
        assert store.resolve("fraud").version == first


def test_a_worse_candidate_is_rejected_with_the_numbers() -> None:
    store = _store(gate={"min_improvement": 0.01})
    first = _register(store, "run-1")
    apply_gate(GateInput.model_validate(_state("run-1", first, {"roc_auc": 0.9})), store=store)
    second = _register(store, "run-2")
    state = _state("run-2", second, {"roc_auc": 0.905}, (first, {"roc_auc": 0.9}))

    result = apply_gate(GateInput.model_validate(state), store=store)

    assert result.decision == "rejected"
    assert "improvement 0.005 < required 0.01" in result.reason
    assert store.get_version("fraud", second).status is VersionStatus.REJECTED
    assert store.resolve("fraud").version == first


def test_production_moving_during_the_run_blocks_the_promotion() -> None:
    store = _store()
    first = _register(store, "run-1")
    second = _register(store, "run-2")
    store.promote("fraud", first, actor="someone")  # after run-2 compared against nothing
    state = _state("run-2", second, {"roc_auc": 0.99})

    result = apply_gate(GateInput.model_validate(state), store=store)

    assert result.decision == "rejected"
    assert "production moved to v1" in result.reason
    assert store.resolve("fraud").version == first


def test_finalize_failed_marks_the_runs_version_failed_and_notifies() -> None:
    store = _store()
    version = _register(store, "run-1")
    state = _state("run-1", version, {})
    del state["training"], state["evaluation"]  # Train raised after registering
    cause = {"errorType": "MemoryError", "errorMessage": "out of memory", "stackTrace": []}
    state["error"] = {"Error": "MemoryError", "Cause": json.dumps(cause)}
    sent: list[tuple[str, dict[str, Any]]] = []

    summary = finalize_run(
        FinalizeInput.model_validate({"outcome": "failed", "execution_id": "x", "state": state}),
        store=store,
        notify=lambda subject, body: sent.append((subject, body)),
    )

    assert summary.status is RunStatus.FAILED
    assert summary.version == version
    failed = store.get_version("fraud", version)
    assert (failed.status, failed.status_reason) == (
        VersionStatus.FAILED,
        "MemoryError: out of memory",
    )
    run = store.get_run("run-1")
    assert (run.status, run.reason, run.version) == (
        RunStatus.FAILED,
        "MemoryError: out of memory",
        1,
    )
    [(subject, body)] = sent
    assert subject == "mlops: fraud v1 failed"
    assert body["links"]["validation"] == "s3://a/runs/run-1/validation.json"


def test_finalize_never_fails_a_serving_version() -> None:
    store = _store()
    version = _register(store, "run-1")
    store.promote("fraud", version, actor="test")
    state = _state("run-1", version, {})
    state["error"] = {"Error": "States.Timeout", "Cause": "timed out"}

    finalize_run(
        FinalizeInput.model_validate({"outcome": "failed", "state": state}),
        store=store,
        notify=lambda *_: None,
    )

    assert store.get_version("fraud", version).status is VersionStatus.PRODUCTION


def test_error_text_reads_lambda_causes_and_plain_ones() -> None:
    lambda_cause = json.dumps({"errorType": "ValueError", "errorMessage": "bad"})
    assert error_text(StepError.model_validate({"Error": "ValueError", "Cause": lambda_cause})) == (
        "ValueError: bad"
    )
    assert error_text(StepError.model_validate({"Error": "States.Timeout", "Cause": "late"})) == (
        "States.Timeout: late"
    )
    assert error_text(None).startswith("the pipeline failed")


def test_malformed_payloads_name_every_field_at_fault() -> None:
    with pytest.raises(PipelineInputError) as caught:
        parse_payload(PipelineInput, {"run_id": "has spaces", "model": "fraud", "trigger": {}})
    message = str(caught.value)
    for field in ("run_id", "data_uri", "trigger.kind", "trigger.source_id"):
        assert field in message
