"""In-memory registry store: the same rules as the DynamoDB store, behind one lock.

Used by unit tests and anywhere a registry is needed without AWS. Every value going in or out
is a deep copy, so callers can no more change stored state than they could in DynamoDB.
"""

from __future__ import annotations

import base64
import binascii
import copy
import threading
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from mlops.registry import transitions
from mlops.registry.entities import (
    AliasName,
    AliasState,
    ArtifactRef,
    AuditAction,
    AuditEvent,
    ModelRecord,
    ModelVersion,
    NewVersion,
    Page,
    Run,
    RunStatus,
    RunStep,
    VersionStatus,
    utc_now,
    validate_model_name,
)
from mlops.registry.errors import (
    ConcurrentUpdateError,
    ModelExistsError,
    ModelNotFoundError,
    RunNotFoundError,
    VersionNotFoundError,
)
from mlops.registry.store import UNCHECKED, ExpectedProduction, RegistryStore

EntityT = TypeVar("EntityT", bound=BaseModel)


def _copy(entity: EntityT) -> EntityT:
    return entity.model_copy(deep=True)


@dataclass
class _ModelState:
    record: ModelRecord
    versions: dict[int, ModelVersion] = field(default_factory=dict)
    aliases: dict[AliasName, AliasState] = field(default_factory=dict)
    audit: list[AuditEvent] = field(default_factory=list)


class InMemoryRegistryStore(RegistryStore):
    """A thread-safe registry held in this process."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._models: dict[str, _ModelState] = {}
        self._runs: dict[str, Run] = {}

    # ---- models -------------------------------------------------------------------------
    def create_model(
        self, name: str, *, actor: str, description: str = "", spec: dict[str, Any] | None = None
    ) -> ModelRecord:
        validate_model_name(name)
        transitions.check_actor(actor)
        with self._lock:
            if name in self._models:
                raise ModelExistsError(name)
            now = utc_now()
            record = ModelRecord(
                name=name, description=description, spec=spec, created_at=now, updated_at=now
            )
            state = _ModelState(_copy(record))
            state.audit.append(transitions.new_event(name, AuditAction.MODEL_CREATED, actor, now))
            self._models[name] = state
            return _copy(record)

    def put_spec(self, name: str, spec: dict[str, Any], *, actor: str) -> ModelRecord:
        with self._lock:
            if name not in self._models:
                self.create_model(name, actor=actor)
            state = self._models[name]
            now = utc_now()
            state.record = state.record.model_copy(
                update={"spec": copy.deepcopy(spec), "updated_at": now}
            )
            state.audit.append(transitions.new_event(name, AuditAction.SPEC_UPDATED, actor, now))
            return _copy(state.record)

    def get_model(self, name: str) -> ModelRecord:
        with self._lock:
            return _copy(self._state(name).record)

    def list_models(self) -> list[ModelRecord]:
        with self._lock:
            return [_copy(self._models[name].record) for name in sorted(self._models)]

    # ---- versions -----------------------------------------------------------------------
    def register_version(self, name: str, draft: NewVersion, *, actor: str) -> ModelVersion:
        transitions.check_draft(draft)
        transitions.check_actor(actor)
        with self._lock:
            state = self._state(name)
            now = utc_now()
            number = state.record.latest_version + 1
            version = ModelVersion(
                **draft.model_dump(), model=name, version=number, created_at=now, updated_at=now
            )
            state.versions[number] = _copy(version)
            state.record = state.record.model_copy(
                update={"latest_version": number, "updated_at": now}
            )
            state.audit.append(transitions.registered_event(version, actor))
            return version

    def get_version(self, name: str, version: int) -> ModelVersion:
        with self._lock:
            return _copy(self._version(name, version))

    def list_versions(self, name: str, *, limit: int = 50, next_token: str | None = None) -> Page:
        transitions.check_page_limit(limit)
        below = _decode_token(next_token)
        with self._lock:
            numbers = sorted(self._state(name).versions, reverse=True)
            if below is not None:
                numbers = [n for n in numbers if n < below]
            page = [self.get_version(name, n) for n in numbers[:limit]]
        token = _encode_token(page[-1].version) if len(numbers) > limit else None
        return Page(items=page, next_token=token)

    def update_version(
        self,
        name: str,
        version: int,
        *,
        actor: str,
        status: VersionStatus | None = None,
        reason: str | None = None,
        expected_statuses: frozenset[VersionStatus] | None = None,
        metrics: dict[str, float] | None = None,
        reports: dict[str, str] | None = None,
        artifact: ArtifactRef | None = None,
    ) -> ModelVersion:
        transitions.check_actor(actor)
        status = VersionStatus(status) if status is not None else None
        with self._lock:
            state = self._state(name)
            current = self._version(name, version)
            if status is None:
                transitions.check_expected(current, expected_statuses)
            else:
                transitions.check_status_update(current, status, expected_statuses)
            now = utc_now()
            update: dict[str, Any] = {
                "updated_at": now,
                "metrics": {**current.metrics, **(metrics or {})},
                "reports": {**current.reports, **(reports or {})},
            }
            if transitions.check_artifact(current, artifact):
                update["artifact"] = artifact
            if status is not None:
                update |= {"status": status, "status_reason": reason}
                state.audit.append(transitions.status_event(current, status, reason, actor, now))
            updated = current.model_copy(update=update)
            state.versions[version] = _copy(updated)
            return updated

    # ---- aliases ------------------------------------------------------------------------
    def get_alias(self, name: str, alias: AliasName) -> AliasState | None:
        with self._lock:
            state = self._models.get(name)
            found = state.aliases.get(AliasName(alias)) if state else None
            return _copy(found) if found else None

    def promote(
        self,
        name: str,
        version: int,
        *,
        actor: str,
        reason: str = "",
        canary_weight: float | None = None,
        shadow: bool = False,
        expected_production: ExpectedProduction = UNCHECKED,
        expected_candidate: int | None = None,
    ) -> AuditEvent:
        with self._lock:
            target = self._version(name, version)
            plan = transitions.plan_promotion(
                target,
                self.get_alias(name, AliasName.PRODUCTION),
                self.get_alias(name, AliasName.CANDIDATE),
                actor=actor,
                reason=reason,
                canary_weight=canary_weight,
                shadow=shadow,
                now=utc_now(),
                expected_production=expected_production,
                expected_candidate=expected_candidate,
            )
            return self._apply(name, plan)

    def clear_candidate(self, name: str, *, actor: str, reason: str = "") -> AuditEvent:
        with self._lock:
            self._state(name)
            plan = transitions.plan_clear_candidate(
                name,
                self.get_alias(name, AliasName.CANDIDATE),
                actor=actor,
                reason=reason,
                now=utc_now(),
            )
            return self._apply(name, plan)

    def reject_candidate(
        self, name: str, *, actor: str, reason: str, expected_version: int
    ) -> AuditEvent:
        with self._lock:
            self._state(name)
            plan = transitions.plan_reject_candidate(
                name,
                self.get_alias(name, AliasName.CANDIDATE),
                actor=actor,
                reason=reason,
                expected_version=expected_version,
                now=utc_now(),
            )
            return self._apply(name, plan)

    def rollback(self, name: str, *, actor: str, reason: str = "") -> AuditEvent:
        with self._lock:
            self._state(name)
            plan = transitions.plan_rollback(
                name,
                self.get_alias(name, AliasName.PRODUCTION),
                self.get_alias(name, AliasName.CANDIDATE),
                lambda number: self.get_version(name, number),
                actor=actor,
                reason=reason,
                now=utc_now(),
            )
            return self._apply(name, plan)

    def history(self, name: str, *, limit: int = 100) -> list[AuditEvent]:
        transitions.check_page_limit(limit)
        with self._lock:
            return [_copy(event) for event in self._state(name).audit[-limit:]]

    def _apply(self, name: str, plan: transitions.MovePlan) -> AuditEvent:
        """Apply a plan whole, after checking every expected value (under the lock)."""
        state = self._state(name)
        for change in plan.aliases:
            if state.aliases.get(change.alias) != change.before:
                msg = f"the {change.alias.value} alias of {name!r} moved meanwhile; try again"
                raise ConcurrentUpdateError(msg)
        for status in plan.statuses:
            if self._version(name, status.version).status != status.before:
                msg = f"version {status.version} of {name!r} changed meanwhile; try again"
                raise ConcurrentUpdateError(msg)
        for change in plan.aliases:
            if change.after is None:
                state.aliases.pop(change.alias, None)
            else:
                state.aliases[change.alias] = _copy(change.after)
        for status in plan.statuses:
            state.versions[status.version] = state.versions[status.version].model_copy(
                update={
                    "status": status.after,
                    "status_reason": status.reason,
                    "updated_at": plan.event.at,
                }
            )
        state.audit.append(_copy(plan.event))
        return _copy(plan.event)

    # ---- runs ---------------------------------------------------------------------------
    def create_run(self, run: Run) -> Run:
        with self._lock:
            if run.run_id not in self._runs:
                self._runs[run.run_id] = _copy(run)
            return _copy(self._runs[run.run_id])

    def get_run(self, run_id: str) -> Run:
        with self._lock:
            if run_id not in self._runs:
                raise RunNotFoundError(run_id)
            return _copy(self._runs[run_id])

    def list_runs(self, name: str, *, limit: int = 50) -> list[Run]:
        transitions.check_page_limit(limit)
        with self._lock:
            runs = [run for run in self._runs.values() if run.model == name]
            runs.sort(key=lambda run: (run.started_at, run.run_id), reverse=True)
            return [_copy(run) for run in runs[:limit]]

    def record_run_step(self, run_id: str, step: RunStep) -> Run:
        with self._lock:
            run = self.get_run(run_id)
            updated = run.model_copy(update={"steps": [*run.steps, _copy(step)]})
            self._runs[run_id] = updated
            return _copy(updated)

    def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        reason: str | None = None,
        version: int | None = None,
    ) -> Run:
        with self._lock:
            run = self.get_run(run_id)
            updated = run.model_copy(
                update={
                    "status": RunStatus(status),
                    "reason": reason,
                    "version": version,
                    "finished_at": utc_now(),
                }
            )
            self._runs[run_id] = updated
            return _copy(updated)

    # ---- lookups (call with the lock held) ----------------------------------------------
    def _state(self, name: str) -> _ModelState:
        state = self._models.get(name)
        if state is None:
            raise ModelNotFoundError(name)
        return state

    def _version(self, name: str, version: int) -> ModelVersion:
        found = self._state(name).versions.get(version)
        if found is None:
            raise VersionNotFoundError(name, version)
        return found


def _encode_token(version: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{version}".encode()).decode()


def _decode_token(token: str | None) -> int | None:
    if token is None:
        return None
    try:
        prefix, number = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        if prefix != "v1":
            raise ValueError(prefix)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        msg = f"next_token: not a token this registry returned: {token!r}"
        raise ValueError(msg) from error
