"""The model spec: what to train, on which columns, and how to judge and promote the result."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mlops.registry.entities import FeatureType, validate_model_name

Task = Literal["binary", "multiclass", "regression"]
EstimatorKind = Literal[
    "logistic_regression", "linear_regression", "random_forest", "hist_gradient_boosting"
]
PromotionMode = Literal["direct", "canary", "shadow"]

TASK_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"),
    "multiclass": (
        "accuracy",
        "precision_macro",
        "recall_macro",
        "f1_macro",
        "roc_auc_ovr_macro",
        "log_loss",
    ),
    "regression": ("rmse", "mae", "r2"),
}
DEFAULT_GATE_METRIC: dict[str, str] = {
    "binary": "roc_auc",
    "multiclass": "f1_macro",
    "regression": "rmse",
}
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})

ESTIMATOR_TASKS: dict[str, frozenset[str]] = {
    "logistic_regression": frozenset({"binary", "multiclass"}),
    "linear_regression": frozenset({"regression"}),
    "random_forest": frozenset({"binary", "multiclass", "regression"}),
    "hist_gradient_boosting": frozenset({"binary", "multiclass", "regression"}),
}


def _positive_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        msg = f"must be a number > 0, got {value!r}"
        raise ValueError(msg)
    return float(value)


def _non_negative_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        msg = f"must be a number >= 0, got {value!r}"
        raise ValueError(msg)
    return float(value)


def _int_range(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            msg = f"must be an integer from {low} to {high}, got {value!r}"
            raise ValueError(msg)
        return value

    return check


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def optional(value: Any) -> Any:
        return None if value is None else check(value)

    return optional


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        msg = f"must be true or false, got {value!r}"
        raise ValueError(msg)
    return value


def _class_weight(value: Any) -> str | None:
    if value not in (None, "balanced"):
        msg = f"must be 'balanced' or null, got {value!r}"
        raise ValueError(msg)
    return value  # type: ignore[no-any-return]


def _max_features(value: Any) -> Any:
    if value in ("sqrt", "log2", None):
        return value
    if isinstance(value, float) and 0.0 < value <= 1.0:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    msg = f"must be 'sqrt', 'log2', null, a fraction in (0, 1] or an integer >= 1, got {value!r}"
    raise ValueError(msg)


_COMMON_TREE = {
    "max_depth": _optional(_int_range(1, 1_000)),
    "min_samples_leaf": _int_range(1, 100_000),
}
ESTIMATOR_PARAMS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "logistic_regression": {
        "C": _positive_float,
        "max_iter": _int_range(1, 100_000),
        "tol": _positive_float,
        "fit_intercept": _boolean,
        "class_weight": _class_weight,
    },
    "linear_regression": {
        "alpha": _non_negative_float,
        "fit_intercept": _boolean,
        "max_iter": _optional(_int_range(1, 100_000)),
        "tol": _positive_float,
    },
    "random_forest": {
        **_COMMON_TREE,
        "n_estimators": _int_range(1, 2_000),
        "min_samples_split": _int_range(2, 100_000),
        "max_features": _max_features,
        "bootstrap": _boolean,
        "class_weight": _class_weight,
    },
    "hist_gradient_boosting": {
        **_COMMON_TREE,
        "learning_rate": _positive_float,
        "max_iter": _int_range(1, 10_000),
        "max_leaf_nodes": _optional(_int_range(2, 100_000)),
        "l2_regularization": _non_negative_float,
        "class_weight": _class_weight,
    },
}
"""Allowed parameters per estimator kind, each with its check. Anything else is refused."""


def metric_direction(metric: str) -> Literal["max", "min"]:
    """Whether a larger ("max") or a smaller ("min") value of the metric is better."""
    if not any(metric in names for names in TASK_METRICS.values()):
        msg = f"unknown metric {metric!r}"
        raise ValueError(msg)
    return "min" if metric in LOWER_IS_BETTER else "max"


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeatureSpec(SpecModel):
    name: str = Field(min_length=1, max_length=128)
    type: FeatureType
    unknown_category: Literal["ignore", "reject"] = "ignore"


class EstimatorSpec(SpecModel):
    kind: EstimatorKind
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("params")
    @classmethod
    def _check_params(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        kind = info.data.get("kind")
        if kind is None:  # the kind itself is invalid and reported
            return params
        allowed = ESTIMATOR_PARAMS[kind]
        checked: dict[str, Any] = {}
        for key, value in params.items():
            if key not in allowed:
                msg = f"{key!r} is not allowed for {kind} (allowed: {', '.join(sorted(allowed))})"
                raise ValueError(msg)
            try:
                checked[key] = allowed[key](value)
            except ValueError as error:
                msg = f"{key} {error}"
                raise ValueError(msg) from None
        return checked


class SplitSpec(SpecModel):
    holdout_fraction: float = Field(default=0.2, ge=0.05, le=0.5)
    seed: int = Field(default=42, ge=0, le=2**32 - 1)


class ValidationSpec(SpecModel):
    min_rows: int = Field(default=50, ge=2)
    max_missing_rate: float = Field(default=0.3, ge=0.0, le=1.0)
    max_duplicate_rate: float = Field(default=0.5, ge=0.0, le=1.0)
    min_class_count: int = Field(default=2, ge=1)


class GateSpec(SpecModel):
    metric: str = Field(default="", description="empty: the task's default metric")
    min_improvement: float = Field(default=0.0, ge=0.0)
    floor: float | None = None
    guards: dict[str, float] = Field(default_factory=dict)

    @field_validator("guards")
    @classmethod
    def _tolerances_non_negative(cls, guards: dict[str, float]) -> dict[str, float]:
        for metric, tolerance in guards.items():
            if tolerance < 0:
                msg = f"tolerance for {metric!r} must be >= 0, got {tolerance}"
                raise ValueError(msg)
        return guards


class PromotionSpec(SpecModel):
    mode: PromotionMode = "direct"
    canary_weight: float = Field(default=0.1, gt=0.0, lt=1.0)
    guard_minutes: int = Field(
        default=30,
        ge=1,
        le=10_080,
        strict=True,
        description="how long a canary is watched before it becomes production (minutes)",
    )


class RetrainingSpec(SpecModel):
    """Where runs started by an alarm or a schedule find their data (default: the newest
    object under training/<model>/ in the data bucket)."""

    data_prefix: str | None = Field(
        default=None,
        description="data bucket key prefix whose newest object is trained on, e.g. "
        "'training/fraud/curated/'",
    )

    @field_validator("data_prefix")
    @classmethod
    def _relative_prefix(cls, prefix: str | None) -> str | None:
        if prefix is None:
            return None
        parts = prefix.split("/")
        if not prefix.endswith("/") or prefix.startswith("/") or ".." in parts or "" in parts[:-1]:
            msg = f"must be a relative key prefix ending with '/', got {prefix!r}"
            raise ValueError(msg)
        return prefix


class ModelSpec(SpecModel):
    """Everything the pipeline needs to know about one model."""

    name: str
    description: str = ""
    task: Task
    target: str = Field(min_length=1, max_length=128)
    features: list[FeatureSpec] = Field(min_length=1)
    estimator: EstimatorSpec
    split: SplitSpec = Field(default_factory=SplitSpec)
    validation: ValidationSpec = Field(default_factory=ValidationSpec)
    gate: GateSpec = Field(default_factory=GateSpec)
    promotion: PromotionSpec = Field(default_factory=PromotionSpec)
    training_data: Literal["latest"] = "latest"
    retraining: RetrainingSpec = Field(default_factory=RetrainingSpec)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, name: str) -> str:
        return validate_model_name(name)

    @field_validator("features")
    @classmethod
    def _unique_features(cls, features: list[FeatureSpec]) -> list[FeatureSpec]:
        seen: set[str] = set()
        for feature in features:
            if feature.name in seen:
                msg = f"feature {feature.name!r} is listed twice"
                raise ValueError(msg)
            seen.add(feature.name)
        return features

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        if self.target in {feature.name for feature in self.features}:
            msg = f"target {self.target!r} must not also be a feature"
            raise ValueError(msg)
        if self.task not in ESTIMATOR_TASKS[self.estimator.kind]:
            msg = f"estimator.kind {self.estimator.kind!r} does not fit task {self.task!r}"
            raise ValueError(msg)
        if self.task == "regression" and "class_weight" in self.estimator.params:
            msg = "estimator.params.class_weight applies to classification tasks only"
            raise ValueError(msg)
        valid = TASK_METRICS[self.task]
        if not self.gate.metric:
            self.gate.metric = DEFAULT_GATE_METRIC[self.task]
        for field, metric in [("gate.metric", self.gate.metric)] + [
            (f"gate.guards.{name}", name) for name in self.gate.guards
        ]:
            if metric not in valid:
                msg = f"{field}: {metric!r} is not a {self.task} metric (use {', '.join(valid)})"
                raise ValueError(msg)
        return self

    @property
    def numeric_features(self) -> list[str]:
        return [f.name for f in self.features if f.type is FeatureType.NUMERIC]

    @property
    def categorical_features(self) -> list[str]:
        return [f.name for f in self.features if f.type is FeatureType.CATEGORICAL]

    @property
    def ordered_features(self) -> list[str]:
        """Feature names in the ONNX input order: numeric first, then categorical."""
        return self.numeric_features + self.categorical_features

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"


class SpecError(ValueError):
    """A spec that cannot be read or does not validate; the message names each bad field."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"invalid model spec {source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


def describe_validation_error(error: ValidationError) -> list[str]:
    """One line per problem, each starting with the dotted path of the field at fault."""
    lines = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{location}: {message}" if location else message)
    return lines


def parse_spec(data: Any, source: str = "<spec>") -> ModelSpec:
    """Validate already-parsed spec data (e.g. the `spec` stored in the registry)."""
    if not isinstance(data, dict):
        raise SpecError(source, [f"the spec must be a mapping, got {type(data).__name__}"])
    try:
        return ModelSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(source, describe_validation_error(error)) from None


def load_spec(text: str, filename: str) -> ModelSpec:
    """Read a spec from JSON (.json) or YAML (.yaml/.yml) text."""
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            problem = f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
            raise SpecError(filename, [problem]) from None
    elif suffix in {".yaml", ".yml"}:
        data = _load_yaml(text, filename)
    else:
        raise SpecError(filename, [f"unsupported spec format {suffix!r}: use .json or .yaml"])
    return parse_spec(data, filename)


def _load_yaml(text: str, filename: str) -> Any:
    try:
        import yaml
    except ImportError:
        problem = "reading YAML specs needs PyYAML (pip install pyyaml); or write the spec as JSON"
        raise SpecError(filename, [problem]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SpecError(filename, [f"not valid YAML ({error})"]) from None
