"""Promotion policy: does the candidate replace production, and how?

Rules, in order: the candidate must report the gate metric; it must reach the absolute floor
(when set); with a production version it must improve on it by at least `min_improvement`
(an equal score passes when that is 0) and no guard metric may get worse by more than its
tolerance. A first version promotes directly even under a canary or shadow policy: there is
no production version to share traffic with.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mlops.domain.spec import ModelSpec, PromotionMode, metric_direction


class GateDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    promote: bool
    mode: PromotionMode
    canary_weight: float | None = None
    reason: str


def _fmt(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:.6g}"


def _gain(metric: str, candidate: float, production: float) -> float:
    """How much better the candidate is (negative: worse), whatever the metric's direction."""
    return candidate - production if metric_direction(metric) == "max" else production - candidate


def decide(
    spec: ModelSpec, candidate: dict[str, float], production: dict[str, float] | None
) -> GateDecision:
    """Apply the spec's gate to the candidate's metrics (and production's, if any)."""
    metric = spec.gate.metric
    if metric not in candidate:
        return _reject(spec, f"the candidate has no {metric} to judge it by")
    notes = []
    floor = spec.gate.floor
    if floor is not None:
        comparison = ">=" if metric_direction(metric) == "max" else "<="
        verdict = f"{metric} {_fmt(candidate[metric])}"
        if _gain(metric, candidate[metric], floor) < 0:
            return _reject(spec, f"{verdict} does not meet the floor ({comparison} {_fmt(floor)})")
        notes.append(f"{verdict} meets the floor ({comparison} {_fmt(floor)})")
    if production is None:
        if floor is None:
            notes.append(f"{metric} {_fmt(candidate[metric])}, no floor set")
        reason = "; ".join(["first version", *notes])
        return GateDecision(promote=True, mode="direct", reason=reason)
    if metric not in production:
        notes.append(f"production has no {metric}: the candidate replaces it")
        return _promote(spec, "; ".join(notes))
    try:
        notes.extend(_compare(spec, candidate, production))
    except _GateFailedError as rejected:
        return _reject(spec, "; ".join([*notes, str(rejected)]))
    return _promote(spec, "; ".join(notes))


class _GateFailedError(Exception):
    """A comparison with production failed; the message says why."""


def _compare(
    spec: ModelSpec, candidate: dict[str, float], production: dict[str, float]
) -> list[str]:
    """Notes on the gate metric and each guard; raises _GateFailedError if one fails."""
    metric, required = spec.gate.metric, spec.gate.min_improvement
    gain = _gain(metric, candidate[metric], production[metric])
    summary = (
        f"{metric} {_fmt(candidate[metric])} vs production {_fmt(production[metric])}: "
        f"improvement {_fmt(gain)} {'>=' if gain >= required else '<'} required {_fmt(required)}"
    )
    if gain < required:
        raise _GateFailedError(summary)
    notes = [summary]
    for guard, tolerance in spec.gate.guards.items():
        if guard not in candidate:
            raise _GateFailedError(f"{summary}; but the candidate has no guard metric {guard}")
        if guard not in production:
            notes.append(f"guard {guard}: production has none, not compared")
            continue
        drop = -_gain(guard, candidate[guard], production[guard])
        verdict = (
            f"guard {guard} {_fmt(candidate[guard])} vs production {_fmt(production[guard])}: "
            f"regression {_fmt(max(drop, 0.0))}"
        )
        if drop > tolerance:
            raise _GateFailedError(f"{summary}; but {verdict} > tolerance {_fmt(tolerance)}")
        notes.append(f"{verdict} <= tolerance {_fmt(tolerance)}")
    return notes


def _reject(spec: ModelSpec, reason: str) -> GateDecision:
    return GateDecision(promote=False, mode=spec.promotion.mode, reason=reason)


def _promote(spec: ModelSpec, reason: str) -> GateDecision:
    mode = spec.promotion.mode
    weight = spec.promotion.canary_weight if mode == "canary" else None
    return GateDecision(promote=True, mode=mode, canary_weight=weight, reason=reason)
