"""Binary, multiclass and regression, each with numeric and categorical features, end to end;
and a class added to the data becomes a class the model predicts."""

from __future__ import annotations

import numpy as np
import pytest
from e2e_platform import Platform

from mlops.artifacts import ArtifactStore
from mlops.domain.onnx_model import OnnxModel
from mlops.local.demo_data import COLORS, make_rows, to_csv
from mlops.registry import VersionStatus


def _production_model(platform: Platform, model: str) -> tuple[OnnxModel, list[str] | None]:
    version = platform.store.resolve(model)
    assert version.artifact is not None
    store = ArtifactStore(platform.cloud.client("s3"), platform.cloud.settings.artifact_bucket)
    return OnnxModel(store.load_ref(version.artifact)), version.classes


@pytest.mark.parametrize(
    ("task", "estimator", "metric"),
    [
        ("binary", "hist_gradient_boosting", "roc_auc"),
        ("multiclass", "random_forest", "f1_macro"),
        ("regression", "hist_gradient_boosting", "rmse"),
    ],
)
def test_each_task_runs_end_to_end(
    platform: Platform, task: str, estimator: str, metric: str
) -> None:
    params = {"max_iter": 30} if estimator == "hist_gradient_boosting" else {"n_estimators": 20}
    platform.put_spec("shapes", task, estimator={"kind": estimator, "params": params})

    execution = platform.upload_and_wait(
        "training/shapes/data.csv", to_csv(make_rows(task, 600, seed=4))
    )

    assert execution["status"] == "SUCCEEDED", execution
    version = platform.store.resolve("shapes")
    assert version.status is VersionStatus.PRODUCTION
    assert metric in version.metrics
    assert {schema.name: schema.type.value for schema in version.feature_schema} == {
        "x1": "numeric", "x2": "numeric", "x3": "numeric", "color": "categorical",
    }  # fmt: skip
    color = next(schema for schema in version.feature_schema if schema.name == "color")
    assert sorted(color.categories or []) == sorted(COLORS)
    onnx_model, classes = _production_model(platform, "shapes")
    output = onnx_model.predict_columns(
        {
            "x1": np.array([0.5, -1.0]),
            "x2": np.array([np.nan, 0.3]),  # missing numeric values are imputed
            "x3": np.array([0.0, 1.0]),
            "color": np.array(["red", "purple"], dtype=object),  # unseen category: all zeros
        }
    )
    if task == "regression":
        assert output.values is not None
        assert np.isfinite(output.values).all()
    else:
        assert output.labels is not None
        assert set(output.labels) <= set(classes or [])


def test_a_new_class_in_the_data_yields_a_model_that_predicts_it(platform: Platform) -> None:
    # Given a multiclass model that knows three package shapes
    platform.put_spec("packages", "multiclass")
    three = to_csv(make_rows("multiclass", 600, seed=5))
    assert platform.upload_and_wait("training/packages/v1.csv", three)["status"] == "SUCCEEDED"
    assert platform.store.resolve("packages").classes == ["bag", "box", "tube"]

    # When the data gains a fourth shape
    shapes = ("box", "tube", "bag", "crate")
    four = make_rows("multiclass", 800, seed=6, classes=shapes)
    execution = platform.upload_and_wait("training/packages/v2.csv", to_csv(four))

    # Then the new production version knows it and predicts it
    assert execution["status"] == "SUCCEEDED"
    version = platform.store.resolve("packages")
    assert version.version == 2
    assert version.classes == ["bag", "box", "crate", "tube"]
    onnx_model, _ = _production_model(platform, "packages")
    crates = [row for row in four if row["label"] == "crate"][:50]
    output = onnx_model.predict_columns(
        {
            name: np.array(
                [np.nan if row[name] is None else row[name] for row in crates],
                dtype=object if name == "color" else float,
            )
            for name in ("x1", "x2", "x3", "color")
        }
    )
    assert output.labels is not None
    assert np.mean(output.labels == "crate") > 0.5
