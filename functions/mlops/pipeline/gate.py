"""The Gate step: apply the spec's promotion policy, then promote (direct, canary or shadow)
or reject the version with the reason. Base layer only: no numpy on this path."""

from __future__ import annotations

from mlops.domain.gate import GateDecision, decide
from mlops.pipeline.payloads import GateDecisionName, GateInput, GateResult
from mlops.pipeline.recording import recorded_step
from mlops.pipeline.specs import run_spec
from mlops.registry.entities import AliasName, VersionStatus
from mlops.registry.errors import ConcurrentUpdateError, NotPromotableError
from mlops.registry.store import RegistryStore

_DECISIONS: dict[str, GateDecisionName] = {
    "direct": "promoted",
    "canary": "canary",
    "shadow": "shadow",
}


def apply_gate(payload: GateInput, *, store: RegistryStore) -> GateResult:
    """Decide and act on the decision; the result says what happened and why."""
    with recorded_step(store, payload.run_id, "gate") as step:
        spec = run_spec(payload, store)
        version = payload.training.version
        evaluation = payload.evaluation
        decision = decide(spec, evaluation.metrics, evaluation.production_metrics)
        actor = f"pipeline:{payload.run_id}"
        if decision.promote:
            result = _promote(
                store, payload.model, version, decision, actor=actor,
                compared_with=evaluation.production_version,
            )  # fmt: skip
        else:
            result = GateResult(decision="rejected", reason=decision.reason)
        if result.decision == "rejected":
            _reject(store, payload.model, version, actor, result.reason)
        step.outcome = result.decision
        step.detail = {"version": version, "reason": result.reason}
        return result


def _promote(
    store: RegistryStore,
    model: str,
    version: int,
    decision: GateDecision,
    *,
    actor: str,
    compared_with: int | None,
) -> GateResult:
    """Promote on condition that production is still what evaluation compared against (the
    registry checks it in the same transaction as the move)."""
    name = _DECISIONS[decision.mode]
    alias = AliasName.PRODUCTION if decision.mode == "direct" else AliasName.CANDIDATE
    try:
        store.promote(
            model,
            version,
            actor=actor,
            reason=decision.reason,
            canary_weight=decision.canary_weight if decision.mode == "canary" else None,
            shadow=decision.mode == "shadow",
            expected_production=compared_with,
        )
    except NotPromotableError:
        state = store.get_alias(model, alias)
        if state is not None and state.version == version:  # a retried Gate: already done
            return GateResult(decision=name, reason=decision.reason)
        raise
    except ConcurrentUpdateError:
        return GateResult(
            decision="rejected", reason=_lost_race(store, model, alias, version, compared_with)
        )
    return GateResult(decision=name, reason=decision.reason)


def _lost_race(
    store: RegistryStore, model: str, alias: AliasName, version: int, compared_with: int | None
) -> str:
    production = store.get_alias(model, AliasName.PRODUCTION)
    current = production.version if production is not None else None
    if current == compared_with:
        return f"{alias.value} moved while promoting v{version}; not promoted"

    def named(number: int | None) -> str:
        return "no production version" if number is None else f"v{number}"

    return (
        f"production moved to {named(current)} while this run compared against "
        f"{named(compared_with)}; not promoted (run again to compare with the new production "
        "version)"
    )


def _reject(store: RegistryStore, model: str, version: int, actor: str, reason: str) -> None:
    if store.get_version(model, version).status is VersionStatus.REJECTED:
        return  # a retried Gate
    store.update_version(model, version, actor=actor, status=VersionStatus.REJECTED, reason=reason)
