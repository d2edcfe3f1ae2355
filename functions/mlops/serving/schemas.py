"""Pydantic models of the API's bodies, used only to generate the OpenAPI document.

Requests are validated by mlops.serving.validation (one place, every fault named), not by
these models; they describe the same shapes for clients.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

FeatureValue = float | str | None


class PredictRequest(BaseModel):
    records: list[dict[str, FeatureValue]] | None = Field(
        default=None, description="Records keyed by feature name (or use 'record')"
    )
    record: dict[str, FeatureValue] | None = Field(default=None, description="One record")
    version: int | None = Field(default=None, ge=1, description="Pin a version")
    alias: Literal["production", "candidate"] | None = Field(default=None)


class Prediction(BaseModel):
    label: str | None = None
    probabilities: dict[str, float] | None = Field(default=None, description="class -> p")
    value: float | None = Field(default=None, description="regression prediction")


class PredictResponse(BaseModel):
    model: str
    version: int
    request_id: str
    served_by: Literal["production", "candidate", "pinned"]
    predictions: list[Prediction]


class FieldProblem(BaseModel):
    record: int | None = None
    field: str | None
    problem: str


class ErrorResponse(BaseModel):
    message: str
    errors: list[FieldProblem] = Field(default_factory=list)


class ModelSummary(BaseModel):
    name: str
    description: str
    latest_version: int
    production_version: int | None
    candidate_version: int | None


class ModelList(BaseModel):
    models: list[ModelSummary]


class Feature(BaseModel):
    name: str
    type: Literal["numeric", "categorical"]
    categories: list[str] | None = None
    minimum: float | None = None
    maximum: float | None = None


class Candidate(BaseModel):
    version: int
    weight: float
    shadow: bool


class ModelDescription(BaseModel):
    name: str
    production_version: int
    task: str
    estimator: str
    classes: list[str] | None
    metrics: dict[str, float]
    feature_schema: list[Feature]
    candidate: Candidate | None


class FeedbackItem(BaseModel):
    request_id: str
    record: int | None = Field(
        default=None, ge=0, description="0-based; names one record of a request of several"
    )
    label: str | None = None
    value: float | None = None


class FeedbackRequest(BaseModel):
    items: list[FeedbackItem]


class FeedbackResponse(BaseModel):
    model: str
    accepted: int
    key: str


class Health(BaseModel):
    status: Literal["ok"]
    code_version: str


REQUEST_BODIES: dict[str, type[BaseModel]] = {
    "/v1/models/{name}/predict": PredictRequest,
    "/v1/models/{name}/feedback": FeedbackRequest,
}
