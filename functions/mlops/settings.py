"""Settings: the only module that reads the environment. Validated once, at cold start.

A plain pydantic model filled from `MLOPS_<FIELD>` variables: pydantic-settings would do the
same for ~40 ms more of every cold start (it imports asyncio), which the score API pays.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "MLOPS_"
STACK_OUTPUT_FIELDS = {
    "RegistryTableName": "registry_table",
    "ArtifactBucketName": "artifact_bucket",
    "DataBucketName": "data_bucket",
    "NotificationTopicArn": "notification_topic_arn",
    "TrainingStateMachineArn": "training_state_machine_arn",
}
"""The stack's outputs (docs/architecture.md) -> the Settings fields they fill."""


class Settings(BaseModel):
    """Every Lambda's configuration. CDK sets these variables; the local cloud does the same."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    registry_table: str = Field(default="mlops-registry", min_length=3)
    artifact_bucket: str = Field(default="mlops-artifacts", min_length=3)
    data_bucket: str = Field(default="mlops-data", min_length=3)
    notification_topic_arn: str | None = None
    training_state_machine_arn: str | None = None
    code_version: str = "unknown"
    # serving
    alias_refresh_seconds: float = Field(default=30.0, ge=0.0)
    max_records_per_request: int = Field(default=100, ge=1, le=10_000)
    max_body_bytes: int = Field(default=1_048_576, ge=1_024, le=6_291_456)
    capture_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `MLOPS_*` variables; fields not set keep their defaults (and stay out
        of `model_fields_set`). Raises pydantic.ValidationError naming the bad field."""
        source = os.environ if environ is None else environ
        values = {
            name: source[ENV_PREFIX + name.upper()]
            for name in cls.model_fields
            if ENV_PREFIX + name.upper() in source
        }
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment()


def reset_settings() -> None:
    """Forget the cached settings (the local cloud switches environments between functions)."""
    get_settings.cache_clear()
