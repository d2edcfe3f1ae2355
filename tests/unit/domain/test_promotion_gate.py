"""The promotion gate: floors, margins, guards and direction-aware comparisons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mlops.domain.gate import GateDecision, decide
from mlops.domain.spec import ModelSpec

SpecFactory = Callable[..., ModelSpec]


@pytest.fixture
def binary(make_spec: SpecFactory) -> Callable[..., ModelSpec]:
    def build(gate: dict[str, Any] | None = None, **promotion: Any) -> ModelSpec:
        return make_spec("binary", gate=gate or {}, promotion=promotion or {})

    return build


def test_a_first_version_without_a_floor_is_promoted(binary: Callable[..., ModelSpec]) -> None:
    decision = decide(binary(), {"roc_auc": 0.61}, None)

    assert decision == GateDecision(
        promote=True, mode="direct", reason="first version; roc_auc 0.61, no floor set"
    )


def test_a_first_version_must_reach_the_floor(binary: Callable[..., ModelSpec]) -> None:
    spec = binary({"floor": 0.8})

    passed = decide(spec, {"roc_auc": 0.85}, None)
    failed = decide(spec, {"roc_auc": 0.75}, None)

    assert passed.promote
    assert passed.reason == "first version; roc_auc 0.85 meets the floor (>= 0.8)"
    assert not failed.promote
    assert failed.reason == "roc_auc 0.75 does not meet the floor (>= 0.8)"


def test_a_first_version_goes_live_directly_even_under_a_canary_policy(
    binary: Callable[..., ModelSpec],
) -> None:
    decision = decide(binary(mode="canary", canary_weight=0.2), {"roc_auc": 0.9}, None)

    assert (decision.promote, decision.mode, decision.canary_weight) == (True, "direct", None)


def test_a_candidate_that_beats_production_by_the_margin_is_promoted(
    binary: Callable[..., ModelSpec],
) -> None:
    decision = decide(binary({"min_improvement": 0.01}), {"roc_auc": 0.92}, {"roc_auc": 0.905})

    assert decision.promote
    assert decision.mode == "direct"
    assert decision.reason == (
        "roc_auc 0.92 vs production 0.905: improvement 0.015 >= required 0.01"
    )


def test_a_candidate_short_of_the_margin_is_rejected(binary: Callable[..., ModelSpec]) -> None:
    decision = decide(binary({"min_improvement": 0.01}), {"roc_auc": 0.912}, {"roc_auc": 0.905})

    assert not decision.promote
    assert decision.reason == (
        "roc_auc 0.912 vs production 0.905: improvement 0.007 < required 0.01"
    )


def test_an_equal_score_passes_a_zero_margin(binary: Callable[..., ModelSpec]) -> None:
    assert decide(binary(), {"roc_auc": 0.9}, {"roc_auc": 0.9}).promote
    assert not decide(binary(), {"roc_auc": 0.8999}, {"roc_auc": 0.9}).promote


def test_a_floor_applies_to_later_versions_too(binary: Callable[..., ModelSpec]) -> None:
    decision = decide(binary({"floor": 0.7}), {"roc_auc": 0.65}, {"roc_auc": 0.6})

    assert not decision.promote
    assert "does not meet the floor" in decision.reason


def test_a_guard_metric_may_not_regress_beyond_its_tolerance(
    binary: Callable[..., ModelSpec],
) -> None:
    spec = binary({"guards": {"recall": 0.02, "log_loss": 0.05}})
    production = {"roc_auc": 0.90, "recall": 0.80, "log_loss": 0.40}

    within = decide(spec, {"roc_auc": 0.91, "recall": 0.79, "log_loss": 0.44}, production)
    beyond = decide(spec, {"roc_auc": 0.91, "recall": 0.75, "log_loss": 0.40}, production)
    lossy = decide(spec, {"roc_auc": 0.91, "recall": 0.80, "log_loss": 0.50}, production)

    assert within.promote, within.reason
    assert "guard recall 0.79 vs production 0.8: regression 0.01 <= tolerance 0.02" in within.reason
    assert not beyond.promote
    assert beyond.reason.endswith(
        "but guard recall 0.75 vs production 0.8: regression 0.05 > tolerance 0.02"
    )
    assert not lossy.promote
    assert "guard log_loss 0.5 vs production 0.4: regression 0.1 > tolerance 0.05" in lossy.reason


def test_a_missing_guard_metric_in_the_candidate_rejects_it(
    binary: Callable[..., ModelSpec],
) -> None:
    decision = decide(
        binary({"guards": {"f1": 0.0}}), {"roc_auc": 0.95}, {"roc_auc": 0.9, "f1": 0.7}
    )

    assert not decision.promote
    assert "the candidate has no guard metric f1" in decision.reason


@pytest.mark.parametrize(
    ("candidate", "production", "promote", "reason"),
    [
        (9.0, 10.0, True, "rmse 9 vs production 10: improvement 1 >= required 0.5"),
        (9.8, 10.0, False, "rmse 9.8 vs production 10: improvement 0.2 < required 0.5"),
        (11.0, 10.0, False, "rmse 11 vs production 10: improvement -1 < required 0.5"),
    ],
)
def test_lower_is_better_metrics_are_compared_the_right_way(
    make_spec: SpecFactory, candidate: float, production: float, promote: bool, reason: str
) -> None:
    spec = make_spec("regression", "linear_regression", gate={"min_improvement": 0.5})

    decision = decide(spec, {"rmse": candidate}, {"rmse": production})

    assert (decision.promote, decision.reason) == (promote, reason)


def test_a_lower_is_better_floor_is_a_ceiling(make_spec: SpecFactory) -> None:
    spec = make_spec("regression", "linear_regression", gate={"floor": 5.0})

    assert decide(spec, {"rmse": 4.0}, None).promote
    refused = decide(spec, {"rmse": 6.0}, None)
    assert refused.reason == "rmse 6 does not meet the floor (<= 5)"


@pytest.mark.parametrize(("mode", "weight"), [("canary", 0.25), ("shadow", None), ("direct", None)])
def test_the_promotion_mode_comes_from_the_spec(
    binary: Callable[..., ModelSpec], mode: str, weight: float | None
) -> None:
    decision = decide(binary(mode=mode, canary_weight=0.25), {"roc_auc": 0.9}, {"roc_auc": 0.8})

    assert (decision.promote, decision.mode, decision.canary_weight) == (True, mode, weight)


def test_a_candidate_without_the_gate_metric_is_rejected(
    binary: Callable[..., ModelSpec],
) -> None:
    decision = decide(binary(), {"accuracy": 0.9}, {"roc_auc": 0.8})

    assert not decision.promote
    assert decision.reason == "the candidate has no roc_auc to judge it by"


def test_a_production_version_without_the_metric_is_replaced(
    binary: Callable[..., ModelSpec],
) -> None:
    decision = decide(binary(), {"roc_auc": 0.9}, {"accuracy": 0.8})

    assert decision.promote
    assert decision.reason == "production has no roc_auc: the candidate replaces it"
