"""The state machine's payloads (docs/architecture.md, "Training state machine"), as pydantic.

Step inputs ignore extra keys (the state accumulates every earlier step's result); step
results are strict, and their `model_dump(mode="json")` is exactly what lands in the state.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlops.pipeline.errors import PipelineInputError
from mlops.registry.entities import ArtifactRef, DataFingerprint, Trigger

RUN_ID_PATTERN = r"^[A-Za-z0-9_-]{1,80}$"

PayloadT = TypeVar("PayloadT", bound=BaseModel)


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ValidationResult(_Result):
    valid: bool
    reason: str | None = None
    report_uri: str
    data: DataFingerprint
    table: ArtifactRef | None = None
    """The validated rows as an .npz snapshot (valid data only): what Train fits on."""


class TrainingResult(_Result):
    version: int = Field(ge=1)
    artifact: ArtifactRef
    holdout_uri: str
    baseline_uri: str


class EvaluationResult(_Result):
    metrics: dict[str, float]
    production_version: int | None = None
    production_metrics: dict[str, float] | None = None
    report_uri: str
    report_html_uri: str


GateDecisionName = Literal["promoted", "canary", "shadow", "rejected"]


class GateResult(_Result):
    decision: GateDecisionName
    reason: str


class StepError(_Input):
    """What a Catch puts at `$.error`: the error's type and its cause (Lambda's JSON)."""

    error: str = Field(default="Error", alias="Error")
    cause: str = Field(default="", alias="Cause")


class PipelineInput(_Input):
    """The execution input; every step receives at least this."""

    run_id: str = Field(pattern=RUN_ID_PATTERN)
    model: str
    data_uri: str = Field(pattern=r"^s3://[^/]+/.+")
    trigger: Trigger
    spec: dict[str, Any] | None = None
    """The model's spec when the run started (the trigger puts it in); None: the registry's."""


class TrainInput(PipelineInput):
    validation: ValidationResult


class EvaluateInput(TrainInput):
    training: TrainingResult


class GateInput(EvaluateInput):
    evaluation: EvaluationResult


class PipelineState(PipelineInput):
    """The whole state as Finalize sees it: any step's result may be missing."""

    validation: ValidationResult | None = None
    training: TrainingResult | None = None
    evaluation: EvaluationResult | None = None
    gate: GateResult | None = None
    error: StepError | None = None


class FinalizeInput(_Input):
    outcome: Literal["completed", "rejected", "failed"]
    execution_id: str | None = None
    state: PipelineState


def parse_payload(model: type[PayloadT], event: Any) -> PayloadT:
    """Validate a step's event; a PipelineInputError naming every field at fault otherwise."""
    try:
        return model.model_validate(event)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '<payload>'}: {issue['msg']}"
            for issue in error.errors()
        )
        msg = f"invalid {model.__name__} payload: {problems}"
        raise PipelineInputError(msg) from None
