"""Start a training run: check the model and its data, record the run, start the execution.

`start_training` takes its collaborators as callables (no boto3 here): the trigger Lambda wires
them to S3, Step Functions and SNS; the CLI does the same for `mlops train`; tests use fakes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from mlops.pipeline.errors import ExecutionExistsError, ObjectUnreadableError
from mlops.pipeline.events import TRAINING_PREFIX, TrainingRequest, TriggerRejectedError
from mlops.pipeline.recording import record_step
from mlops.pipeline.s3io import StoredObject
from mlops.registry.entities import Run, RunStep, utc_now
from mlops.registry.errors import ModelNotFoundError, RunNotFoundError
from mlops.registry.store import RegistryStore

Outcome = Literal["started", "duplicate", "rejected", "ignored"]


@dataclass(frozen=True)
class TriggerDeps:
    """What starting a run needs from the outside world."""

    store: RegistryStore
    data_bucket: str
    state_machine_arn: str
    start_execution: Callable[[str, str], str]
    """(execution name, input JSON) -> execution ARN; ExecutionExistsError if the name is taken."""
    head_object: Callable[[str], StoredObject]
    """s3 URI -> object info; ObjectUnreadableError if missing or unreadable."""
    newest_object: Callable[[str, str], StoredObject | None]
    """(bucket, prefix) -> the newest object under it, or None."""
    notify: Callable[[str, dict[str, Any]], None]
    """(subject, body) -> publish a notification (a no-op when no topic is configured)."""


@dataclass(frozen=True)
class TriggerOutcome:
    outcome: Outcome
    model: str | None
    run_id: str | None = None
    data_uri: str | None = None
    execution_arn: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives the execution `name` of that state machine."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def execution_input(request: TrainingRequest, data_uri: str, spec: dict[str, Any]) -> str:
    """The execution input: deterministic for a given event, so redeliveries compare equal.
    It carries the model's spec as it is now: every step of the run uses that one spec."""
    document = {
        "run_id": request.run_id,
        "model": request.model,
        "data_uri": data_uri,
        "trigger": request.trigger.model_dump(mode="json"),
        "spec": spec,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def start_training(request: TrainingRequest, deps: TriggerDeps) -> TriggerOutcome:
    """Start the run `request` asks for, once; reject (log + notify) when it cannot run."""
    try:
        spec = _stored_spec(request, deps)
        data_uri = _checked_data_uri(request, deps, spec)
    except TriggerRejectedError as rejection:
        return reject(rejection.reason, deps, model=request.model, run_id=request.run_id)
    started_at = utc_now()
    arn = execution_arn(deps.state_machine_arn, request.run_id)
    existed = _run_exists(deps.store, request.run_id)
    deps.store.create_run(
        Run(
            run_id=request.run_id,
            model=request.model,
            trigger=request.trigger,
            data_uri=data_uri,
            execution_arn=arn,
        )
    )
    outcome: Outcome = "duplicate" if existed else "started"
    try:
        arn = deps.start_execution(request.run_id, execution_input(request, data_uri, spec))
    except ExecutionExistsError:
        outcome = "duplicate"
    step = RunStep(
        name="trigger",
        started_at=started_at,
        finished_at=utc_now(),
        outcome=outcome,
        detail={"kind": request.trigger.kind.value, "source_id": request.trigger.source_id},
    )
    record_step(deps.store, request.run_id, step)
    return TriggerOutcome(
        outcome=outcome,
        model=request.model,
        run_id=request.run_id,
        data_uri=data_uri,
        execution_arn=arn,
    )


def reject(
    reason: str, deps: TriggerDeps, *, model: str | None, run_id: str | None = None
) -> TriggerOutcome:
    """Notify why nothing was started (the caller logs the outcome)."""
    subject = f"mlops: training not started for {model or 'unknown model'}"
    deps.notify(
        subject,
        {"model": model, "run": run_id, "outcome": "rejected", "version": None, "reason": reason},
    )
    return TriggerOutcome(outcome="rejected", model=model, run_id=run_id, reason=reason)


def _stored_spec(request: TrainingRequest, deps: TriggerDeps) -> dict[str, Any]:
    try:
        model = deps.store.get_model(request.model)
    except ModelNotFoundError:
        msg = f"unknown model {request.model!r}: create it with `mlops specs put FILE`"
        raise TriggerRejectedError(msg, model=request.model) from None
    if model.spec is None:
        msg = f"model {request.model!r} has no spec: set one with `mlops specs put FILE`"
        raise TriggerRejectedError(msg, model=request.model)
    return model.spec


def retraining_prefix(model: str, spec: dict[str, Any]) -> str:
    """Where a run without a data file (alarm, schedule) looks for the newest object: the
    spec's retraining.data_prefix, else training/<model>/ (the stored spec was validated)."""
    retraining = spec.get("retraining")
    configured = retraining.get("data_prefix") if isinstance(retraining, dict) else None
    return (
        configured if isinstance(configured, str) and configured else f"{TRAINING_PREFIX}{model}/"
    )


def _checked_data_uri(request: TrainingRequest, deps: TriggerDeps, spec: dict[str, Any]) -> str:
    if request.data_uri is None:
        prefix = retraining_prefix(request.model, spec)
        newest = deps.newest_object(deps.data_bucket, prefix)
        if newest is None:
            msg = f"no training data under s3://{deps.data_bucket}/{prefix}"
            raise TriggerRejectedError(msg, model=request.model)
        return newest.uri
    try:
        deps.head_object(request.data_uri)
    except ObjectUnreadableError as error:
        raise TriggerRejectedError(str(error), model=request.model) from None
    return request.data_uri


def _run_exists(store: RegistryStore, run_id: str) -> bool:
    try:
        store.get_run(run_id)
    except RunNotFoundError:
        return False
    return True
