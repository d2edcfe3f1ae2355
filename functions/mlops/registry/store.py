"""The abstract registry store: the one interface both the DynamoDB and in-memory stores honour.

Semantics every implementation guarantees (tests/unit/registry/registry_contract.py checks them):

* version numbers per model are allocated atomically: unique and gapless, starting at 1;
* an alias move is one atomic step, conditioned on the alias' current value: it updates the
  alias, the statuses of the versions involved and appends exactly one audit event, or it
  changes nothing and raises ConcurrentUpdateError;
* every change leaves an audit event (actor, time, from, to, reason);
* a version's artifact is attached once (at registration or by update_version) and a version
  without one never serves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import Enum
from typing import Any, Literal

from mlops.registry.entities import (
    AliasName,
    AliasState,
    ArtifactRef,
    AuditEvent,
    ModelRecord,
    ModelVersion,
    NewVersion,
    Page,
    Run,
    RunStatus,
    RunStep,
    VersionStatus,
)
from mlops.registry.errors import AliasNotSetError


class Unchecked(Enum):
    """The default of `expected_production`: promote whatever production currently is."""

    PRODUCTION = "unchecked"


UNCHECKED = Unchecked.PRODUCTION
ExpectedProduction = int | None | Literal[Unchecked.PRODUCTION]
"""The production version a promotion was judged against (None: no production version)."""


class RegistryStore(ABC):
    # ---- models -------------------------------------------------------------------------
    @abstractmethod
    def create_model(
        self, name: str, *, actor: str, description: str = "", spec: dict[str, Any] | None = None
    ) -> ModelRecord:
        """Create a model; ModelExistsError if it exists; ValueError for an invalid name."""

    @abstractmethod
    def put_spec(self, name: str, spec: dict[str, Any], *, actor: str) -> ModelRecord:
        """Create the model if needed and set its spec (audited as spec-updated)."""

    @abstractmethod
    def get_model(self, name: str) -> ModelRecord:
        """ModelNotFoundError if absent."""

    @abstractmethod
    def list_models(self) -> list[ModelRecord]:
        """All models, sorted by name."""

    # ---- versions -----------------------------------------------------------------------
    @abstractmethod
    def register_version(self, name: str, draft: NewVersion, *, actor: str) -> ModelVersion:
        """Allocate the next version number atomically and store the version."""

    @abstractmethod
    def get_version(self, name: str, version: int) -> ModelVersion:
        """VersionNotFoundError (or ModelNotFoundError) if absent."""

    @abstractmethod
    def list_versions(self, name: str, *, limit: int = 50, next_token: str | None = None) -> Page:
        """Versions newest first; Page.items are ModelVersion."""

    @abstractmethod
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
        """Update status (audited as status-changed), merge metrics and reports, and/or attach
        the version's artifact.

        The artifact is written once: registration allocates the number, the caller writes the
        files under it, then attaches their reference here (the same reference again is a
        no-op; a different one is a ValueError). A version without one cannot be promoted.

        With expected_statuses, the update is conditioned on the current status being one of
        them (ConcurrentUpdateError otherwise). Use promote/rollback for alias moves: setting
        production/candidate here is a ValueError, and changing the status of the version an
        alias points to is a VersionInUseError (clear the candidate or roll back first).
        """

    # ---- aliases ------------------------------------------------------------------------
    @abstractmethod
    def get_alias(self, name: str, alias: AliasName) -> AliasState | None:
        """The alias' state, or None when unset."""

    @abstractmethod
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
        """Move `production` to version (canary_weight None and not shadow), or `candidate` to
        version with that traffic weight (0-1), or as a shadow (weight 0, scores every request).
        Status updates: the new production version -> production, the replaced one ->
        archived, a candidate that became production leaves `candidate`.
        NotPromotableError for rejected/failed versions, a version without an artifact, or a
        version already at that alias;
        ConcurrentUpdateError if the alias moved meanwhile, or if production is not (or stops
        being, up to the atomic write) `expected_production`: a version judged against one
        production version is never promoted over another.
        expected_candidate (promoting the candidate to production only): the move is also
        conditioned on the candidate alias still being that version (AliasNotSetError if it
        was cleared, ConcurrentUpdateError if another version took its place).
        """

    @abstractmethod
    def reject_candidate(
        self, name: str, *, actor: str, reason: str, expected_version: int
    ) -> AuditEvent:
        """Take the candidate out of service as rejected, in one atomic step: the candidate
        alias is removed (all traffic goes to production, which is untouched), the version's
        status becomes rejected with `reason`, and one candidate-rejected audit event is
        appended; or nothing changes. Conditioned on the candidate still being
        `expected_version`: AliasNotSetError if there is no candidate, ConcurrentUpdateError if
        it is another version (or moves meanwhile). ValueError for an empty reason.
        """

    @abstractmethod
    def clear_candidate(self, name: str, *, actor: str, reason: str = "") -> AuditEvent:
        """Remove the candidate alias (canary aborted); AliasNotSetError if unset."""

    @abstractmethod
    def rollback(self, name: str, *, actor: str, reason: str = "") -> AuditEvent:
        """Move production back to the previous production version.

        NothingToRollBackError if there is none. The version rolled back from becomes archived.
        """

    @abstractmethod
    def history(self, name: str, *, limit: int = 100) -> list[AuditEvent]:
        """The latest `limit` audit events, oldest first."""

    # ---- runs (training pipeline executions) --------------------------------------------
    @abstractmethod
    def create_run(self, run: Run) -> Run:
        """Store a new run; returns the stored run unchanged if run_id exists (idempotent).

        The model need not exist yet, so a run rejected for an unknown model is on record too.
        """

    @abstractmethod
    def get_run(self, run_id: str) -> Run:
        """RunNotFoundError if absent."""

    @abstractmethod
    def list_runs(self, name: str, *, limit: int = 50) -> list[Run]:
        """Runs of a model, newest first."""

    @abstractmethod
    def record_run_step(self, run_id: str, step: RunStep) -> Run:
        """Append a step (name, timings, outcome) to a run."""

    @abstractmethod
    def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        reason: str | None = None,
        version: int | None = None,
    ) -> Run:
        """Set the run's final status, reason and produced version."""

    # ---- conveniences shared by every store ---------------------------------------------
    def resolve(
        self, name: str, *, version: int | None = None, alias: AliasName | None = None
    ) -> ModelVersion:
        """The version by number, else by alias (default production)."""
        if version is not None:
            return self.get_version(name, version)
        wanted = alias or AliasName.PRODUCTION
        state = self.get_alias(name, wanted)
        if state is None:
            self.get_model(name)  # raises ModelNotFoundError for an unknown model
            raise AliasNotSetError(name, wanted.value)
        return self.get_version(name, state.version)
