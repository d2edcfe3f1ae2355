"""Typed platform configuration, read from the ``mlops`` key of the CDK context (cdk.json)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from mlops.settings import Settings, check_setting

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTEXT_KEY = "mlops"
MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
SCORE_SETTINGS = (
    "alias_refresh_seconds",
    "max_records_per_request",
    "max_body_bytes",
    "capture_sample_rate",
)
"""cdk.json's `serving` values that become the score function's MLOPS_* variables."""
_SCORE_DEFAULTS = Settings()
SCHEDULE_PATTERN = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _schedule_expression(value: str | None) -> str | None:
    if value is not None and not SCHEDULE_PATTERN.match(value):
        raise ValueError("expected rate(N unit) or cron(...)")
    return value


def _s3_prefix(value: str | None) -> str | None:
    """A key prefix in the data bucket: relative, no '..', ends with '/'."""
    if value is None:
        return None
    if not value or value.startswith("/") or ".." in value.split("/") or not value.endswith("/"):
        raise ValueError("expected a key prefix such as 'batch/input/fraud/' (relative, ends /)")
    return value


class BatchConfig(_Strict):
    """Scheduled batch scoring of one model (docs/batch.md)."""

    schedule: str | None = Field(
        default=None, description="EventBridge rate() or cron(); None: by hand only"
    )
    input_prefix: str | None = Field(
        default=None, description="data bucket prefix to score; default batch/input/<model>/"
    )
    output_prefix: str | None = Field(
        default=None, description="data bucket prefix for results; default batch/output/<model>/"
    )
    max_concurrency: int = Field(default=10, ge=1, le=10_000)
    tolerated_failure_percentage: float = Field(default=0.0, ge=0.0, le=100.0)

    _schedule = field_validator("schedule")(_schedule_expression)
    _prefixes = field_validator("input_prefix", "output_prefix")(_s3_prefix)

    @field_validator("input_prefix", "output_prefix")
    @classmethod
    def _under_batch_area(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Inputs under batch/input/, outputs under batch/output/: what the functions may
        read and write."""
        area = "batch/input/" if info.field_name == "input_prefix" else "batch/output/"
        if value is not None and not value.startswith(area):
            raise ValueError(f"expected a prefix under {area}, such as '{area}fraud/'")
        return value


class MonitoringConfig(_Strict):
    """Alarm thresholds of one model (docs/monitoring.md)."""

    drift_psi_alarm: float = Field(
        default=0.2, gt=0.0, description="alarm when the largest feature PSI reaches this"
    )
    quality_metric: Literal["accuracy", "f1", "mae"] = "accuracy"
    quality_threshold: float | None = Field(
        default=None, description="live quality alarm: accuracy/f1 below, or mae above; None: off"
    )
    error_rate_alarm: float = Field(default=0.05, gt=0.0, le=1.0)
    latency_p99_ms_alarm: float = Field(default=1_000.0, gt=0.0)
    canary_error_rate_alarm: float = Field(default=0.05, gt=0.0, le=1.0)


class ModelConfig(_Strict):
    """A model the platform trains; ``schedule`` is an EventBridge rate() or cron() expression."""

    name: str = Field(pattern=MODEL_NAME_PATTERN)
    schedule: str | None = None
    batch: BatchConfig | None = None
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)

    _schedule = field_validator("schedule")(_schedule_expression)


class ServingConfig(_Strict):
    """The score function's settings (checked by the rules `mlops.settings` applies at run
    time), its memory and SnapStart."""

    alias_refresh_seconds: float = _SCORE_DEFAULTS.alias_refresh_seconds
    max_records_per_request: int = _SCORE_DEFAULTS.max_records_per_request
    max_body_bytes: int = _SCORE_DEFAULTS.max_body_bytes
    capture_sample_rate: float = _SCORE_DEFAULTS.capture_sample_rate
    memory_mb: int = Field(default=1_024, ge=128, le=10_240)
    snap_start: bool = Field(
        default=False,
        description=(
            "Lambda SnapStart on the score function (the API then calls its `live` alias): "
            "imports and client setup leave the cold path; snapshots are billed while cached"
        ),
    )

    @field_validator(*SCORE_SETTINGS)
    @classmethod
    def _as_the_score_function_checks_it(cls, value: object, info: ValidationInfo) -> object:
        return check_setting(info.field_name or "", value)


class ApiConfig(_Strict):
    auth: Literal["iam", "api_key"] = "iam"
    cors_origins: list[str] = Field(default_factory=list)
    throttle_rate_limit: float = Field(default=50.0, gt=0)
    throttle_burst_limit: int = Field(default=100, ge=1)


class TrainingConfig(_Strict):
    memory_mb: int = Field(default=3_008, ge=128, le=10_240)
    timeout_minutes: int = Field(default=15, ge=1, le=15)


def git_code_version(repo: Path = REPO_ROOT) -> str:
    """The short commit of the checkout, or "unknown" outside git."""
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        result = subprocess.run(  # noqa: S603
            [git, "rev-parse", "--short", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


class PlatformMonitoringConfig(_Strict):
    """How often the drift/quality monitor and the canary guard run (every model at once)."""

    schedule: str = "rate(1 hour)"
    guard_schedule: str = "rate(5 minutes)"

    _schedules = field_validator("schedule", "guard_schedule")(_schedule_expression)


class PlatformConfig(_Strict):
    """Everything a deployment may tune; an empty context gives a working platform."""

    models: list[ModelConfig] = Field(default_factory=list)
    monitoring: PlatformMonitoringConfig = Field(default_factory=PlatformMonitoringConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    notification_emails: list[str] = Field(default_factory=list)
    code_version: str = Field(default_factory=git_code_version, min_length=1)

    @field_validator("models")
    @classmethod
    def _model_names_unique(cls, models: list[ModelConfig]) -> list[ModelConfig]:
        names = [model.name for model in models]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate model names: {', '.join(duplicates)}")
        return models

    @field_validator("notification_emails")
    @classmethod
    def _emails_look_like_emails(cls, emails: list[str]) -> list[str]:
        bad = [email for email in emails if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)]
        if bad:
            raise ValueError(f"not an e-mail address: {', '.join(bad)}")
        return emails


class ConfigError(ValueError):
    """The ``mlops`` context is invalid; the message names the fields at fault."""


def load_config(context: Any) -> PlatformConfig:
    """Validate the raw ``mlops`` context value (None means all defaults).

    ``cdk -c mlops='{...}'`` passes the value as a JSON string; it is parsed first.
    """
    if isinstance(context, str):
        try:
            context = json.loads(context)
        except json.JSONDecodeError as error:
            raise ConfigError(
                f"invalid cdk.json context: {CONTEXT_KEY}: not JSON ({error})"
            ) from None
    try:
        return PlatformConfig.model_validate(context or {})
    except ValidationError as error:
        problems = "; ".join(
            f"{CONTEXT_KEY}.{'.'.join(str(part) for part in issue['loc'])}: {issue['msg']}"
            for issue in error.errors()
        )
        raise ConfigError(f"invalid cdk.json context: {problems}") from None
