"""Record a run and each of its steps: start and finish times, outcome, detail, error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlops.observability import logger
from mlops.pipeline.payloads import PipelineInput
from mlops.registry.entities import ModelVersion, Run, RunStep, utc_now
from mlops.registry.errors import RunNotFoundError
from mlops.registry.store import RegistryStore

VERSION_PAGE = 50
"""Versions read per registry page while looking for a run's versions."""


@dataclass
class StepLog:
    """What the step says about itself before it ends (mutable while the step runs)."""

    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)


def describe_error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


@contextmanager
def recorded_step(store: RegistryStore, run_id: str, name: str) -> Iterator[StepLog]:
    """Time the block and append it to the run as a step; a raising block is recorded as
    `failed` with its error, and the error propagates (Step Functions sees it)."""
    log = StepLog()
    started = utc_now()

    def finish() -> None:
        step = RunStep(
            name=name,
            started_at=started,
            finished_at=utc_now(),
            outcome=log.outcome,
            detail=log.detail,
        )
        record_step(store, run_id, step)

    try:
        yield log
    except Exception as error:
        log.outcome = "failed"
        log.detail = {**log.detail, "error": describe_error(error)}
        finish()
        raise
    finish()


def record_step(store: RegistryStore, run_id: str, step: RunStep) -> None:
    """Append a step to the run; a failure to record is logged, never raised."""
    try:
        store.record_run_step(run_id, step)
    except Exception:  # noqa: BLE001 - recording must never mask the step's own result or error
        logger.exception("could not record run step", extra={"run_id": run_id, "step": step.name})


def ensure_run(store: RegistryStore, payload: PipelineInput) -> None:
    """Create the run if the trigger did not (e.g. an execution started from the console).
    A read first: the run almost always exists, and a refused conditional write costs more."""
    try:
        store.get_run(payload.run_id)
    except RunNotFoundError:
        pass
    else:
        return
    store.create_run(
        Run(
            run_id=payload.run_id,
            model=payload.model,
            trigger=payload.trigger,
            data_uri=payload.data_uri,
        )
    )


def versions_of_run(store: RegistryStore, model: str, run_id: str) -> list[ModelVersion]:
    """The versions a run registered, newest first: pages back to the run's start (or through
    every version when the run is not recorded), however many other runs registered meanwhile."""
    try:
        since: datetime | None = store.get_run(run_id).started_at
    except RunNotFoundError:
        since = None
    found: list[ModelVersion] = []
    token: str | None = None
    while True:
        page = store.list_versions(model, limit=VERSION_PAGE, next_token=token)
        for version in page.items:
            if since is not None and version.created_at < since:
                return found
            if version.run_id == run_id:
                found.append(version)
        token = page.next_token
        if token is None:
            return found
