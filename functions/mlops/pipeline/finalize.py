"""The Finalize step: record the run's outcome, fail the version a failed run registered, and
send one notification per run. Base layer only."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlops.observability import logger
from mlops.pipeline.payloads import FinalizeInput, PipelineState, StepError
from mlops.pipeline.recording import ensure_run, recorded_step, versions_of_run
from mlops.registry.entities import ModelVersion, RunStatus, VersionStatus
from mlops.registry.errors import VersionNotFoundError
from mlops.registry.store import RegistryStore

MAX_REASON = 1_000
MAX_SUBJECT = 99
Notify = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    model: str
    status: RunStatus
    version: int | None
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "model": self.model, "status": self.status.value,
                "version": self.version, "reason": self.reason}  # fmt: skip


def finalize_run(payload: FinalizeInput, *, store: RegistryStore, notify: Notify) -> RunSummary:
    """Close the run: completed (promoted or gate-rejected), rejected (invalid data) or failed."""
    state = payload.state
    ensure_run(store, state)
    with recorded_step(store, state.run_id, "finalize") as step:
        registered = versions_of_run(store, state.model, state.run_id)
        status, reason, version = _outcome(payload, registered)
        if status is RunStatus.FAILED and version is not None:
            _fail_version(store, state, version, reason or "the run failed")
        _fail_abandoned(store, state, registered, keep=version)
        store.finish_run(state.run_id, status=status, reason=reason, version=version)
        summary = RunSummary(state.run_id, state.model, status, version, reason)
        step.outcome = status.value
        step.detail = {"version": version, "reason": reason}
    notify(_subject(summary, state), _notification(summary, payload))
    logger.info("training run finished", extra=summary.as_dict())
    return summary


def error_text(error: StepError | None) -> str:
    """ "<ErrorType>: <message>" from a Catch's $.error (Lambda puts JSON in the Cause)."""
    if error is None:
        return "the pipeline failed without an error description"
    message = error.cause
    error_type = error.error
    try:
        cause = json.loads(error.cause)
    except ValueError:
        cause = None
    if isinstance(cause, dict):
        message = str(cause.get("errorMessage", message))
        error_type = str(cause.get("errorType", error_type))
    text = f"{error_type}: {message}" if message else error_type
    return text[:MAX_REASON]


def _outcome(
    payload: FinalizeInput, registered: list[ModelVersion]
) -> tuple[RunStatus, str | None, int | None]:
    state = payload.state
    version = state.training.version if state.training else None
    if payload.outcome == "rejected":
        reason = state.validation.reason if state.validation else "the data was rejected"
        return RunStatus.REJECTED, reason, None
    if payload.outcome == "completed" and state.gate is not None:
        if state.gate.decision == "rejected":
            return RunStatus.REJECTED, state.gate.reason, version
        return RunStatus.SUCCEEDED, f"{state.gate.decision}: {state.gate.reason}", version
    if payload.outcome == "completed":
        return RunStatus.FAILED, "the pipeline completed without a gate decision", version
    if version is None and registered:  # a step failed after Train registered a version
        version = registered[0].version
    return RunStatus.FAILED, error_text(state.error), version


def _fail_abandoned(
    store: RegistryStore, state: PipelineState, registered: list[ModelVersion], *, keep: int | None
) -> None:
    """Fail the artifact-less versions that lost attempts of a retried Train left behind (they
    can never serve; this says why). Off the path to promotion: it runs at the end."""
    for version in registered:
        if version.version != keep and version.artifact is None:
            _fail_version(store, state, version.version, "abandoned: the train step was retried")


def _fail_version(store: RegistryStore, state: PipelineState, version: int, reason: str) -> None:
    try:
        current = store.get_version(state.model, version)
    except VersionNotFoundError:
        return
    if current.status is not VersionStatus.REGISTERED:
        return  # already failed/rejected, or serving: production is never touched here
    store.update_version(
        state.model, version, actor=f"pipeline:{state.run_id}",
        status=VersionStatus.FAILED, reason=reason,
    )  # fmt: skip


def _subject(summary: RunSummary, state: PipelineState) -> str:
    words = {
        RunStatus.SUCCEEDED: state.gate.decision if state.gate else "succeeded",
        RunStatus.REJECTED: "rejected",
        RunStatus.FAILED: "failed",
    }
    version = f" v{summary.version}" if summary.version is not None else ""
    text = f"mlops: {summary.model}{version} {words.get(summary.status, summary.status.value)}"
    return text.encode("ascii", "replace").decode()[:MAX_SUBJECT]


def _notification(summary: RunSummary, payload: FinalizeInput) -> dict[str, Any]:
    state = payload.state
    links: dict[str, str] = {}
    if state.validation is not None:
        links["validation"] = state.validation.report_uri
    if state.training is not None:
        links["model"] = state.training.artifact.uri
    if state.evaluation is not None:
        links["evaluation"] = state.evaluation.report_uri
        links["evaluation_html"] = state.evaluation.report_html_uri
    return {
        "model": summary.model,
        "run": summary.run_id,
        "outcome": summary.status.value,
        "decision": state.gate.decision if state.gate else None,
        "version": summary.version,
        "reason": summary.reason,
        "trigger": state.trigger.model_dump(mode="json"),
        "data_uri": state.data_uri,
        "execution": payload.execution_id,
        "links": links,
    }
