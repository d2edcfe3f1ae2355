"""Tiny scikit-learn pipelines converted with skl2onnx exactly as the artifact conventions say.

Tests only: the scoring path never imports scikit-learn. Numeric features come first as
`float [None, 1]` inputs, categorical ones as `string [None, 1]`; labels are strings and the
classifier's probabilities are a plain tensor (zipmap off).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlops.registry.entities import FeatureSchema, FeatureType

NUMERIC = ("amount", "age")
CATEGORICAL = ("country",)
COUNTRIES = ("de", "fr", "us")


@dataclass(frozen=True)
class BuiltModel:
    onnx: bytes
    pipeline: Any
    feature_schema: list[FeatureSchema]
    classes: list[str] | None
    task: str


def _table(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    amount = rng.gamma(2.0, 50.0, size=rows)
    age = rng.integers(18, 90, size=rows).astype(float)
    country = rng.choice(COUNTRIES, size=rows)
    table = np.empty((rows, 3), dtype=object)
    table[:, 0], table[:, 1], table[:, 2] = amount, age, country
    return table, amount - 2 * age + np.where(country == "us", 40.0, 0.0)


def _schema(table: np.ndarray) -> list[FeatureSchema]:
    numeric = [
        FeatureSchema(
            name=name,
            type=FeatureType.NUMERIC,
            minimum=float(table[:, i].astype(float).min()),
            maximum=float(table[:, i].astype(float).max()),
        )
        for i, name in enumerate(NUMERIC)
    ]
    return [
        *numeric,
        FeatureSchema(name="country", type=FeatureType.CATEGORICAL, categories=list(COUNTRIES)),
    ]


def _pipeline(estimator: Any) -> Pipeline:
    prep = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), [0, 1]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), [2]),
        ]
    )
    return Pipeline([("prep", prep), ("model", estimator)])


def _convert(pipeline: Pipeline, *, classifier: bool) -> bytes:
    initial_types = [(name, FloatTensorType([None, 1])) for name in NUMERIC] + [
        (name, StringTensorType([None, 1])) for name in CATEGORICAL
    ]
    options = {id(pipeline.steps[-1][1]): {"zipmap": False}} if classifier else None
    onnx_model = convert_sklearn(pipeline, initial_types=initial_types, options=options)
    return onnx_model.SerializeToString()  # type: ignore[no-any-return]


def build_classifier(
    *, classes: tuple[str, ...] = ("fraud", "ok"), seed: int = 0, c: float = 1.0
) -> BuiltModel:
    """A logistic regression over amount, age, country with string classes."""
    table, score = _table(400, seed)
    cut = np.quantile(score, np.linspace(0, 1, len(classes) + 1)[1:-1])
    labels = np.array(classes)[np.searchsorted(cut, score)]
    pipeline = _pipeline(LogisticRegression(C=c, max_iter=500)).fit(table, labels)
    return BuiltModel(
        _convert(pipeline, classifier=True),
        pipeline,
        _schema(table),
        [str(x) for x in pipeline.classes_],
        "classification",
    )


def build_regressor(*, seed: int = 0) -> BuiltModel:
    table, score = _table(400, seed)
    pipeline = _pipeline(LinearRegression()).fit(table, score)
    return BuiltModel(
        _convert(pipeline, classifier=False), pipeline, _schema(table), None, "regression"
    )
