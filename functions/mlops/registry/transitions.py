"""Registry rules shared by every store: which alias moves and status changes are allowed.

The functions here are pure: given what a store has read, they return a plan (the aliases'
expected and new states, the status changes with their expected current status, the audit
event) or raise the typed error. A store then applies a plan atomically, conditioned on every
`before` value, so both stores enforce the same rules and differ only in how they write.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlops.registry.entities import (
    PROMOTABLE_STATUSES,
    AliasName,
    AliasState,
    ArtifactRef,
    AuditAction,
    AuditEvent,
    ModelVersion,
    NewVersion,
    VersionStatus,
)
from mlops.registry.errors import (
    AliasNotSetError,
    ConcurrentUpdateError,
    NothingToRollBackError,
    NotPromotableError,
    VersionInUseError,
    VersionNotFoundError,
)
from mlops.registry.store import UNCHECKED, ExpectedProduction

MAX_PREVIOUS_VERSIONS = 20
"""How many earlier production versions an alias remembers for rollback."""

MAX_VERSION_BYTES = 300_000
"""A version's record must fit one DynamoDB item (400 KB) with room to spare."""

ALIASED_STATUSES = frozenset({VersionStatus.PRODUCTION, VersionStatus.CANDIDATE})
INITIAL_STATUSES = frozenset(
    {VersionStatus.REGISTERED, VersionStatus.REJECTED, VersionStatus.FAILED}
)


@dataclass(frozen=True)
class StatusChange:
    version: int
    before: VersionStatus
    after: VersionStatus
    reason: str | None


@dataclass(frozen=True)
class AliasChange:
    alias: AliasName
    before: AliasState | None
    after: AliasState | None
    """None deletes the alias."""


@dataclass(frozen=True)
class MovePlan:
    """One atomic alias move: apply all of it, conditioned on every `before`, or nothing."""

    event: AuditEvent
    aliases: list[AliasChange] = field(default_factory=list)
    statuses: list[StatusChange] = field(default_factory=list)


def new_event(
    model: str, action: AuditAction, actor: str, at: datetime, **fields: Any
) -> AuditEvent:
    return AuditEvent(
        model=model, event_id=uuid.uuid4().hex, action=action, actor=actor, at=at, **fields
    )


def registered_event(version: ModelVersion, actor: str) -> AuditEvent:
    """The audit event of a newly registered version."""
    return new_event(
        version.model,
        AuditAction.VERSION_REGISTERED,
        actor,
        version.created_at,
        to_version=version.version,
        reason=version.status_reason or "",
        detail={"status": version.status.value, "run_id": version.run_id},
    )


def status_event(
    current: ModelVersion, status: VersionStatus, reason: str | None, actor: str, at: datetime
) -> AuditEvent:
    """The audit event of update_version moving `current` to `status`."""
    return new_event(
        current.model,
        AuditAction.STATUS_CHANGED,
        actor,
        at,
        to_version=current.version,
        reason=reason or "",
        detail={"from": current.status.value, "to": status.value},
    )


def check_actor(actor: str) -> str:
    if not actor.strip():
        msg = "actor: say who makes the change (e.g. 'cli:alice' or 'pipeline:<run id>')"
        raise ValueError(msg)
    return actor


def check_draft(draft: NewVersion) -> None:
    """ValueError for a version that may not be registered as drafted."""
    size = len(draft.model_dump_json().encode())
    if size > MAX_VERSION_BYTES:
        msg = (
            f"version: its record is {size // 1000} KB, over the registry's "
            f"{MAX_VERSION_BYTES // 1000} KB limit; keep large data (many categories, big "
            "params) in the artifact bucket"
        )
        raise ValueError(msg)
    if draft.status not in INITIAL_STATUSES:
        msg = (
            f"status: a new version starts as registered, rejected or failed, not "
            f"{draft.status.value}; promote it to make it serve"
        )
        raise ValueError(msg)


def check_page_limit(limit: int) -> None:
    if not 1 <= limit <= 1000:
        msg = f"limit must be between 1 and 1000, got {limit}"
        raise ValueError(msg)


def check_expected(
    current: ModelVersion, expected_statuses: frozenset[VersionStatus] | None
) -> None:
    """ConcurrentUpdateError unless the version's status is one the caller expects."""
    if expected_statuses is not None and current.status not in expected_statuses:
        wanted = ", ".join(sorted(status.value for status in expected_statuses))
        msg = (
            f"version {current.version} of {current.model!r} is {current.status.value}, "
            f"expected one of: {wanted}"
        )
        raise ConcurrentUpdateError(msg)


def check_status_update(
    current: ModelVersion,
    status: VersionStatus,
    expected_statuses: frozenset[VersionStatus] | None,
) -> None:
    """Raise the typed error when update_version may not set `status` on `current`."""
    if status in ALIASED_STATUSES:
        msg = f"status: use promote to make a version {status.value}"
        raise ValueError(msg)
    check_expected(current, expected_statuses)
    if current.status in ALIASED_STATUSES:
        raise VersionInUseError(current.model, current.version, current.status.value)


def check_artifact(current: ModelVersion, artifact: ArtifactRef | None) -> bool:
    """Whether update_version must set `artifact`: a version's artifact is written once (the
    same reference again is a no-op, so a retried step may repeat it); ValueError otherwise."""
    if artifact is None or current.artifact == artifact:
        return False
    if current.artifact is not None:
        msg = (
            f"artifact: version {current.version} of {current.model!r} already has its artifact "
            f"{current.artifact.uri}; an artifact never changes, register a new version"
        )
        raise ValueError(msg)
    return True


def _check_weight(canary_weight: float | None, shadow: bool) -> tuple[float, bool]:
    if shadow:
        if canary_weight not in (None, 0.0):
            msg = "canary_weight: a shadow candidate takes no traffic; omit the weight"
            raise ValueError(msg)
        return 0.0, True
    assert canary_weight is not None
    if math.isnan(canary_weight) or not 0.0 <= canary_weight <= 1.0:
        msg = f"canary_weight must be between 0 and 1, got {canary_weight}"
        raise ValueError(msg)
    return canary_weight, False


def _check_promotable(target: ModelVersion) -> None:
    if target.status not in PROMOTABLE_STATUSES:
        why = f" ({target.status_reason})" if target.status_reason else ""
        msg = (
            f"version {target.version} of {target.model!r} is {target.status.value}{why} "
            "and cannot be promoted"
        )
        raise NotPromotableError(msg)
    if target.artifact is None:
        msg = (
            f"version {target.version} of {target.model!r} has no model artifact yet (its "
            "training has not finished) and cannot be promoted"
        )
        raise NotPromotableError(msg)


def plan_promotion(
    target: ModelVersion,
    production: AliasState | None,
    candidate: AliasState | None,
    *,
    actor: str,
    reason: str,
    canary_weight: float | None,
    shadow: bool,
    now: datetime,
    expected_production: ExpectedProduction = UNCHECKED,
    expected_candidate: int | None = None,
) -> MovePlan:
    """Plan a move of `production` (no weight, no shadow) or `candidate` to target."""
    check_actor(actor)
    model, version = target.model, target.version
    if expected_candidate is not None:
        if canary_weight is not None or shadow or version != expected_candidate:
            msg = "expected_candidate: give it only to promote that candidate to production"
            raise ValueError(msg)
        _check_candidate(model, candidate, expected_candidate)
    if production is not None and production.version == version:
        msg = f"version {version} of {model!r} is already production"
        raise NotPromotableError(msg)
    current = production.version if production is not None else None
    if expected_production is not UNCHECKED and current != expected_production:
        msg = (
            f"production of {model!r} is {_named(current)}, not {_named(expected_production)} "
            f"that version {version} was judged against; nothing was changed"
        )
        raise ConcurrentUpdateError(msg)
    if canary_weight is None and not shadow:
        return _plan_production(
            target, production=production, candidate=candidate, actor=actor, reason=reason, now=now
        )
    # a candidate move leaves production as it is, but on condition that it still is
    unchanged_production = (
        [AliasChange(AliasName.PRODUCTION, production, production)]
        if expected_production is not UNCHECKED
        else []
    )
    weight, shadow = _check_weight(canary_weight, shadow)
    if candidate is not None and candidate.version == version:
        if (candidate.weight, candidate.shadow) == (weight, shadow):
            msg = f"version {version} of {model!r} is already the candidate with that weight"
            raise NotPromotableError(msg)
        statuses = []
    else:
        _check_promotable(target)
        statuses = [StatusChange(version, target.status, VersionStatus.CANDIDATE, reason or None)]
        if candidate is not None:
            statuses.append(
                StatusChange(
                    candidate.version,
                    VersionStatus.CANDIDATE,
                    VersionStatus.ARCHIVED,
                    f"candidate replaced by version {version}",
                )
            )
    after = AliasState(
        model=model,
        alias=AliasName.CANDIDATE,
        version=version,
        weight=weight,
        shadow=shadow,
        updated_at=now,
    )
    event = new_event(
        model,
        AuditAction.ALIAS_MOVED,
        actor,
        now,
        alias=AliasName.CANDIDATE,
        from_version=candidate.version if candidate else None,
        to_version=version,
        reason=reason,
        detail={"weight": weight, "shadow": shadow},
    )
    changes = [AliasChange(AliasName.CANDIDATE, candidate, after), *unchanged_production]
    return MovePlan(event, changes, statuses)


def _unchanged_candidate(candidate: AliasState | None) -> AliasChange:
    """A production move leaves the candidate alias as it is, on condition that it still is:
    the aliases and the target version are read one after the other, so a version that became
    the candidate in between would otherwise end up both production and candidate."""
    return AliasChange(AliasName.CANDIDATE, candidate, candidate)


def _named(version: int | None) -> str:
    return "unset" if version is None else f"v{version}"


def _plan_production(
    target: ModelVersion,
    *,
    production: AliasState | None,
    candidate: AliasState | None,
    actor: str,
    reason: str,
    now: datetime,
) -> MovePlan:
    _check_promotable(target)
    model, version = target.model, target.version
    previous = [*production.previous_versions, production.version] if production else []
    after = AliasState(
        model=model,
        alias=AliasName.PRODUCTION,
        version=version,
        previous_versions=previous[-MAX_PREVIOUS_VERSIONS:],
        updated_at=now,
    )
    statuses = [StatusChange(version, target.status, VersionStatus.PRODUCTION, reason or None)]
    if production is not None:
        statuses.append(
            StatusChange(
                production.version,
                VersionStatus.PRODUCTION,
                VersionStatus.ARCHIVED,
                f"replaced in production by version {version}",
            )
        )
    aliases = [AliasChange(AliasName.PRODUCTION, production, after)]
    detail: dict[str, Any] = {}
    if candidate is not None and candidate.version == version:
        aliases.append(AliasChange(AliasName.CANDIDATE, candidate, None))
        detail["candidate_cleared"] = True
    else:
        aliases.append(_unchanged_candidate(candidate))
    event = new_event(
        model,
        AuditAction.ALIAS_MOVED,
        actor,
        now,
        alias=AliasName.PRODUCTION,
        from_version=production.version if production else None,
        to_version=version,
        reason=reason,
        detail=detail,
    )
    return MovePlan(event, aliases, statuses)


def plan_clear_candidate(
    model: str, candidate: AliasState | None, *, actor: str, reason: str, now: datetime
) -> MovePlan:
    check_actor(actor)
    if candidate is None:
        raise AliasNotSetError(model, AliasName.CANDIDATE.value)
    change = StatusChange(
        candidate.version,
        VersionStatus.CANDIDATE,
        VersionStatus.ARCHIVED,
        f"candidate cleared: {reason}" if reason else "candidate cleared",
    )
    event = new_event(
        model,
        AuditAction.ALIAS_CLEARED,
        actor,
        now,
        alias=AliasName.CANDIDATE,
        from_version=candidate.version,
        reason=reason,
    )
    return MovePlan(event, [AliasChange(AliasName.CANDIDATE, candidate, None)], [change])


def _check_candidate(model: str, candidate: AliasState | None, expected: int) -> AliasState:
    """The candidate alias, if it is still version `expected`; typed errors otherwise."""
    if candidate is None:
        raise AliasNotSetError(model, AliasName.CANDIDATE.value)
    if candidate.version != expected:
        msg = (
            f"the candidate of {model!r} is v{candidate.version}, not v{expected}; "
            "nothing was changed"
        )
        raise ConcurrentUpdateError(msg)
    return candidate


def plan_reject_candidate(
    model: str,
    candidate: AliasState | None,
    *,
    actor: str,
    reason: str,
    expected_version: int,
    now: datetime,
) -> MovePlan:
    """Plan taking the candidate out of service as rejected: the alias is removed (its traffic
    goes back to production) and the version may never serve again."""
    check_actor(actor)
    if not reason.strip():
        msg = "reason: say why the candidate is rejected (e.g. the alarm that fired)"
        raise ValueError(msg)
    candidate = _check_candidate(model, candidate, expected_version)
    change = StatusChange(
        candidate.version, VersionStatus.CANDIDATE, VersionStatus.REJECTED, reason
    )
    event = new_event(
        model,
        AuditAction.CANDIDATE_REJECTED,
        actor,
        now,
        alias=AliasName.CANDIDATE,
        from_version=candidate.version,
        reason=reason,
        detail={"weight": candidate.weight, "shadow": candidate.shadow, "status": "rejected"},
    )
    return MovePlan(event, [AliasChange(AliasName.CANDIDATE, candidate, None)], [change])


def plan_rollback(
    model: str,
    production: AliasState | None,
    candidate: AliasState | None,
    lookup: Callable[[int], ModelVersion],
    *,
    actor: str,
    reason: str,
    now: datetime,
) -> MovePlan:
    """Plan production's move back to the newest earlier version that may still serve."""
    check_actor(actor)
    if production is None:
        raise NothingToRollBackError(model)
    earlier = list(production.previous_versions)
    target: ModelVersion | None = None
    while earlier and target is None:
        number = earlier.pop()
        try:
            found = lookup(number)
        except VersionNotFoundError:
            continue
        if found.status in PROMOTABLE_STATUSES and found.artifact is not None:
            target = found
    if target is None:
        raise NothingToRollBackError(model)
    after = AliasState(
        model=model,
        alias=AliasName.PRODUCTION,
        version=target.version,
        previous_versions=earlier,
        updated_at=now,
    )
    statuses = [
        StatusChange(target.version, target.status, VersionStatus.PRODUCTION, reason or None),
        StatusChange(
            production.version,
            VersionStatus.PRODUCTION,
            VersionStatus.ARCHIVED,
            f"rolled back to version {target.version}" + (f": {reason}" if reason else ""),
        ),
    ]
    aliases = [AliasChange(AliasName.PRODUCTION, production, after)]
    if candidate is not None and candidate.version == target.version:
        aliases.append(AliasChange(AliasName.CANDIDATE, candidate, None))
    else:
        aliases.append(_unchanged_candidate(candidate))
    event = new_event(
        model,
        AuditAction.ROLLBACK,
        actor,
        now,
        alias=AliasName.PRODUCTION,
        from_version=production.version,
        to_version=target.version,
        reason=reason,
    )
    return MovePlan(event, aliases, statuses)
