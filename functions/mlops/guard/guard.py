"""Roll a failing canary back, or promote one whose guard period passed clean.

A canary is a candidate alias with a traffic weight (> 0, not a shadow). Its guard period
starts when the alias last moved (`updated_at`: promotion or weight change) and lasts the
spec's `promotion.guard_minutes`. Every registry change is conditioned on what was read, so a
racing change (a new candidate, a new production) wins and the guard changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from mlops.domain.spec import PromotionSpec
from mlops.guard.events import AlarmFired, Sweep, guard_alarm_prefix
from mlops.registry.entities import AliasName, AliasState, ModelRecord
from mlops.registry.errors import AliasNotSetError, ConcurrentUpdateError, NotPromotableError
from mlops.registry.store import RegistryStore

SWEEP_ACTOR = "guard:sweep"
DEFAULT_GUARD_MINUTES = PromotionSpec().guard_minutes

Outcome = Literal["rolled-back", "promoted", "watching", "ignored", "skipped"]
LOST_RACES = (AliasNotSetError, ConcurrentUpdateError, NotPromotableError)


@dataclass(frozen=True)
class FiringAlarm:
    """A CloudWatch alarm in ALARM: its name, why, and since when."""

    name: str
    reason: str
    since: datetime


@dataclass(frozen=True)
class GuardDeps:
    store: RegistryStore
    firing_alarms: Callable[[str], list[FiringAlarm]]
    """alarm name prefix -> the alarms with that prefix in ALARM now."""
    notify: Callable[[str, dict[str, Any]], None]
    """(subject, body) -> publish a notification."""


@dataclass(frozen=True)
class GuardOutcome:
    model: str
    outcome: Outcome
    version: int | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_guard(request: AlarmFired | Sweep, deps: GuardDeps) -> list[GuardOutcome]:
    """Act on one guard event: an alarm (one model) or a sweep (every model)."""
    if isinstance(request, AlarmFired):
        return [on_alarm(request, deps)]
    return sweep(request.now, deps)


def is_canary(candidate: AliasState | None) -> bool:
    return candidate is not None and candidate.weight > 0 and not candidate.shadow


def on_alarm(alarm: AlarmFired, deps: GuardDeps) -> GuardOutcome:
    """A guard alarm fired: the model's canary (if any) is rolled back at once."""
    candidate = deps.store.get_alias(alarm.model, AliasName.CANDIDATE)
    if candidate is None or not is_canary(candidate):
        why = f"{alarm.alarm_name} fired, but {alarm.model!r} has no canary candidate"
        return GuardOutcome(alarm.model, "ignored", reason=why)
    reason = f"{alarm.alarm_name} in ALARM" + (f": {alarm.reason}" if alarm.reason else "")
    return _roll_back(candidate, reason, f"guard:{alarm.alarm_name}", deps)


def sweep(now: datetime, deps: GuardDeps) -> list[GuardOutcome]:
    """Every model's canary at `now`: roll back on a firing guard alarm (one that fired
    during this canary, or any at the period's end); promote once the period passed clean."""
    outcomes = []
    for record in deps.store.list_models():
        candidate = deps.store.get_alias(record.name, AliasName.CANDIDATE)
        if candidate is None or not is_canary(candidate):
            continue
        outcomes.append(_check(record, candidate, now, deps))
    return outcomes


def guard_minutes(record: ModelRecord) -> int:
    """The model's `promotion.guard_minutes` (the default when its spec has none)."""
    spec = record.spec or {}
    promotion = spec.get("promotion") if isinstance(spec.get("promotion"), dict) else {}
    try:
        return PromotionSpec.model_validate(promotion).guard_minutes
    except ValidationError:  # specs are validated when stored; never block the guard on one
        return DEFAULT_GUARD_MINUTES


def _check(
    record: ModelRecord, candidate: AliasState, now: datetime, deps: GuardDeps
) -> GuardOutcome:
    minutes = guard_minutes(record)
    ends = candidate.updated_at + timedelta(minutes=minutes)
    firing = deps.firing_alarms(guard_alarm_prefix(record.name))
    during = [alarm for alarm in firing if alarm.since >= candidate.updated_at]
    over = ends <= now
    if during or (over and firing):
        alarm = (during or firing)[0]
        reason = f"{alarm.name} in ALARM" + (f": {alarm.reason}" if alarm.reason else "")
        return _roll_back(candidate, reason, SWEEP_ACTOR, deps)
    if not over:
        why = f"guard period of {minutes} min ends {ends.isoformat()}"
        return GuardOutcome(record.name, "watching", candidate.version, why)
    return _promote(candidate, f"guard period of {minutes} min passed clean", deps)


def _roll_back(candidate: AliasState, reason: str, actor: str, deps: GuardDeps) -> GuardOutcome:
    model, version = candidate.model, candidate.version
    try:
        deps.store.reject_candidate(model, actor=actor, reason=reason, expected_version=version)
    except LOST_RACES as lost:
        return GuardOutcome(model, "skipped", version, f"registry changed meanwhile: {lost}")
    deps.notify(
        f"mlops: canary v{version} of {model} rolled back",
        {"model": model, "version": version, "outcome": "rolled-back", "reason": reason,
         "weight": candidate.weight},
    )  # fmt: skip
    return GuardOutcome(model, "rolled-back", version, reason)


def _promote(candidate: AliasState, reason: str, deps: GuardDeps) -> GuardOutcome:
    model, version = candidate.model, candidate.version
    production = deps.store.get_alias(model, AliasName.PRODUCTION)
    try:
        deps.store.promote(
            model,
            version,
            actor=SWEEP_ACTOR,
            reason=reason,
            expected_production=production.version if production else None,
            expected_candidate=version,
        )
    except LOST_RACES as lost:
        return GuardOutcome(model, "skipped", version, f"registry changed meanwhile: {lost}")
    deps.notify(
        f"mlops: canary v{version} of {model} promoted to production",
        {"model": model, "version": version, "outcome": "promoted", "reason": reason,
         "previous_production": production.version if production else None},
    )  # fmt: skip
    return GuardOutcome(model, "promoted", version, reason)
