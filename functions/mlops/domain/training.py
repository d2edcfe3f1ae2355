"""Fit the spec's scikit-learn pipeline and convert it to ONNX (training layer only).

The pipeline: numeric columns -> median imputation -> standard scaling; categorical columns ->
one-hot encoding with unknown categories ignored (all zeros); then the estimator. Missing
categorical values are the empty string, a category of its own. Classification labels are
strings, so the ONNX `label` output is a string tensor and `classes` is a list of str.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlops.domain.dataset import Table, missing_mask, split_table
from mlops.domain.spec import ModelSpec
from mlops.registry.entities import FeatureSchema, FeatureType

TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
SEEDED_KINDS = frozenset({"random_forest", "hist_gradient_boosting"})


class TrainingError(ValueError):
    """The data cannot train the spec's model (e.g. a single class left after the split)."""


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model, its ONNX form and what the registry records about it."""

    onnx_bytes: bytes
    estimator: str
    params: dict[str, Any]
    feature_schema: list[FeatureSchema]
    classes: list[str] | None
    holdout: Table
    train_rows: int
    holdout_rows: int
    seed: int
    pipeline: Pipeline


def train_model(table: Table, spec: ModelSpec) -> TrainedModel:
    """Drop rows without a label, split, fit and convert to ONNX (the holdout is kept for the
    evaluate step, which scores the ONNX artifact)."""
    labelled = table.take(np.flatnonzero(~missing_mask(table[spec.target])))
    target = labelled[spec.target]
    stratify = target if spec.is_classification else None
    train, holdout = split_table(
        labelled.select([*spec.ordered_features, spec.target]),
        spec.split.holdout_fraction,
        spec.split.seed,
        stratify,
    )
    y_train = _target(train, spec)
    if spec.is_classification and len(np.unique(y_train)) < 2:
        msg = f"the training split of {spec.target!r} has fewer than two classes"
        raise TrainingError(msg)
    estimator = _estimator(spec)
    pipeline = Pipeline([("preprocess", _preprocessor(spec)), ("estimator", estimator)])
    pipeline.fit(feature_matrix(train, spec), y_train)
    classes = [str(label) for label in estimator.classes_] if spec.is_classification else None
    return TrainedModel(
        onnx_bytes=to_onnx(pipeline, spec),
        estimator=type(estimator).__name__,
        params=_json_params(estimator.get_params(deep=False)),
        feature_schema=_feature_schema(pipeline, train, spec),
        classes=classes,
        holdout=holdout,
        train_rows=train.n_rows,
        holdout_rows=holdout.n_rows,
        seed=spec.split.seed,
        pipeline=pipeline,
    )


def feature_matrix(table: Table, spec: ModelSpec) -> np.ndarray:
    """An object array: numeric columns (float, NaN missing) first, then categorical (str)."""
    names = spec.ordered_features
    matrix = np.empty((table.n_rows, len(names)), dtype=object)
    for index, name in enumerate(names):
        matrix[:, index] = table[name]
    return matrix


def to_onnx(pipeline: Pipeline, spec: ModelSpec) -> bytes:
    """Convert a fitted pipeline: one [None, 1] input per feature, no ZipMap for classifiers."""
    initial_types: list[tuple[str, Any]] = [
        (name, FloatTensorType([None, 1])) for name in spec.numeric_features
    ] + [(name, StringTensorType([None, 1])) for name in spec.categorical_features]
    estimator = pipeline.named_steps["estimator"]
    options = {id(estimator): {"zipmap": False}} if spec.is_classification else None
    with warnings.catch_warnings():
        # skl2onnx 1.20 writes booleans into int attributes (HistGradientBoosting); protobuf 6
        # accepts them with this warning. The pins in pyproject.toml keep the pair working.
        warnings.filterwarnings("ignore", message=".*Expected an int, got a boolean")
        model = convert_sklearn(
            pipeline, initial_types=initial_types, options=options, target_opset=TARGET_OPSET
        )
    return bytes(model.SerializeToString())


def _target(table: Table, spec: ModelSpec) -> np.ndarray:
    values = table[spec.target]
    return values.astype(str) if spec.is_classification else values.astype(np.float64)


def _preprocessor(spec: ModelSpec) -> ColumnTransformer:
    n_numeric = len(spec.numeric_features)
    n_total = len(spec.features)
    transformers: list[tuple[str, Any, list[int]]] = []
    if n_numeric:
        numeric = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        transformers.append(("num", numeric, list(range(n_numeric))))
    if n_total > n_numeric:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        transformers.append(("cat", encoder, list(range(n_numeric, n_total))))
    return ColumnTransformer(transformers)


def _estimator(spec: ModelSpec) -> Any:
    kind, params = spec.estimator.kind, dict(spec.estimator.params)
    if kind in SEEDED_KINDS:
        params["random_state"] = spec.split.seed
    if kind == "logistic_regression":
        return LogisticRegression(**{"max_iter": 1000, **params})
    if kind == "linear_regression":
        return Ridge(**params)
    classification = spec.is_classification
    if kind == "random_forest":
        forest = RandomForestClassifier if classification else RandomForestRegressor
        return forest(**params)
    boosting = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
    return boosting(**params)


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    """Effective estimator parameters as JSON values (anything else as its repr)."""
    result: dict[str, Any] = {}
    for key, value in sorted(params.items()):
        if value is None or isinstance(value, bool | int | str):
            result[key] = value
        elif isinstance(value, float):
            result[key] = value if math.isfinite(value) else str(value)
        elif isinstance(value, np.generic):
            result[key] = value.item()
        else:
            result[key] = repr(value)
    return result


def _feature_schema(pipeline: Pipeline, train: Table, spec: ModelSpec) -> list[FeatureSchema]:
    """Per feature, in ONNX input order: observed min/max (numeric), known categories."""
    preprocess: ColumnTransformer = pipeline.named_steps["preprocess"]
    known: dict[str, list[str]] = {}
    if spec.categorical_features:
        encoder: OneHotEncoder = preprocess.named_transformers_["cat"]
        for name, categories in zip(spec.categorical_features, encoder.categories_, strict=True):
            known[name] = [str(category) for category in categories if category != ""]
    schema = []
    for name in spec.numeric_features:
        values = train[name].astype(np.float64)
        finite = values[~np.isnan(values)]
        schema.append(
            FeatureSchema(
                name=name,
                type=FeatureType.NUMERIC,
                minimum=float(finite.min()) if finite.size else None,
                maximum=float(finite.max()) if finite.size else None,
            )
        )
    schema.extend(
        FeatureSchema(name=name, type=FeatureType.CATEGORICAL, categories=known[name])
        for name in spec.categorical_features
    )
    return schema
