"""Registry entities: what the model registry stores, as validated pydantic models."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from mlops.registry.enums import (
    MODEL_NAME_PATTERN,
    PROMOTABLE_STATUSES,
    AliasName,
    AuditAction,
    FeatureType,
    RunStatus,
    TriggerKind,
    VersionStatus,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Entity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Trigger(Entity):
    """The event that caused a training run (and so a version)."""

    kind: TriggerKind
    source_id: str = Field(description="S3 URI, alarm ARN/name, rule name or user")
    detail: dict[str, Any] = Field(default_factory=dict)


class FeatureSchema(Entity):
    """One input feature as the served artifact expects it (by name)."""

    name: str
    type: FeatureType
    categories: list[str] | None = None
    minimum: float | None = None
    maximum: float | None = None


class DataFingerprint(Entity):
    uri: str
    sha256: str | None = None
    etag: str | None = None
    rows: int = Field(ge=0)


class ArtifactRef(Entity):
    uri: str = Field(description="s3://bucket/models/<name>/<version>/model.onnx")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


Weight = Annotated[float, Field(ge=0.0, le=1.0)]


class ModelRecord(Entity):
    name: str = Field(pattern=MODEL_NAME_PATTERN)
    description: str = ""
    spec: dict[str, Any] | None = Field(
        default=None, description="The model spec (validated by mlops.domain.spec.ModelSpec)"
    )
    latest_version: int = 0
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)


class NewVersion(Entity):
    """What a caller supplies to register a version; the store allocates the number."""

    task: str
    estimator: str
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    feature_schema: list[FeatureSchema] = Field(default_factory=list)
    classes: list[str] | None = None
    data: DataFingerprint | None = None
    code_version: str = "unknown"
    artifact: ArtifactRef | None = None
    trigger: Trigger
    run_id: str | None = None
    status: VersionStatus = VersionStatus.REGISTERED
    status_reason: str | None = None
    reports: dict[str, str] = Field(
        default_factory=dict, description="name -> S3 URI (evaluation report, baseline, ...)"
    )


class ModelVersion(NewVersion):
    model: str
    version: int = Field(ge=1)
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)


class AliasState(Entity):
    model: str
    alias: AliasName
    version: int
    weight: Weight = 1.0
    shadow: bool = Field(
        default=False,
        description="candidate only: score every request in shadow, never answer with it",
    )
    previous_versions: list[int] = Field(
        default_factory=list, description="Earlier targets, most recent last (for rollback)"
    )
    updated_at: datetime = Field(default_factory=utc_now)


class AuditEvent(Entity):
    model: str
    event_id: str
    action: AuditAction
    actor: str
    at: datetime = Field(default_factory=utc_now)
    alias: AliasName | None = None
    from_version: int | None = None
    to_version: int | None = None
    reason: str = ""
    detail: dict[str, Any] = Field(default_factory=dict)


class RunStep(Entity):
    name: str
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str = "ok"
    detail: dict[str, Any] = Field(default_factory=dict)


class Run(Entity):
    """One training pipeline execution, as the registry remembers it."""

    run_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,80}$")
    model: str
    trigger: Trigger
    data_uri: str
    status: RunStatus = RunStatus.RUNNING
    reason: str | None = None
    version: int | None = None
    execution_arn: str | None = None
    steps: list[RunStep] = Field(default_factory=list)
    started_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None


class Page(BaseModel):
    """One page of a listing; pass next_token back to get the next one."""

    items: list[Any]
    next_token: str | None = None


def validate_model_name(name: str) -> str:
    if not re.fullmatch(MODEL_NAME_PATTERN, name) or "--" in name:
        msg = (
            f"invalid model name {name!r}: use 2-40 lowercase letters, digits and single "
            "hyphens, starting with a letter"
        )
        raise ValueError(msg)
    return name


__all__ = [
    "MODEL_NAME_PATTERN",
    "PROMOTABLE_STATUSES",
    "AliasName",
    "AliasState",
    "ArtifactRef",
    "AuditAction",
    "AuditEvent",
    "DataFingerprint",
    "FeatureSchema",
    "FeatureType",
    "ModelRecord",
    "ModelVersion",
    "NewVersion",
    "Page",
    "Run",
    "RunStatus",
    "RunStep",
    "Trigger",
    "TriggerKind",
    "VersionStatus",
    "Weight",
    "utc_now",
]
