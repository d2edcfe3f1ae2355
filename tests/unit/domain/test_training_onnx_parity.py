"""Training: every estimator x task fits, converts, and its ONNX artifact answers like
scikit-learn, including with missing numeric values, missing categories and unseen ones.

Documented behaviour checked here: a NaN numeric input is imputed with the training median
inside the graph; an empty categorical value is its own category; an unseen category encodes
to all zeros (handle_unknown="ignore"), exactly as scikit-learn does.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import onnxruntime as ort
import pytest
from onnx_feeds import onnx_feeds

from mlops.domain.dataset import Table
from mlops.domain.metrics import compute_metrics
from mlops.domain.spec import ModelSpec
from mlops.domain.training import TrainedModel, TrainingError, feature_matrix, train_model
from mlops.registry.entities import FeatureType

SpecFactory = Callable[..., ModelSpec]
TableFactory = Callable[..., Table]

COMBINATIONS = [
    (task, kind)
    for task in ("binary", "multiclass")
    for kind in ("logistic_regression", "random_forest", "hist_gradient_boosting")
] + [
    ("regression", kind)
    for kind in ("linear_regression", "random_forest", "hist_gradient_boosting")
]


def session(model: TrainedModel) -> ort.InferenceSession:
    return ort.InferenceSession(model.onnx_bytes, providers=["CPUExecutionProvider"])


def awkward_rows(holdout: Table) -> Table:
    """The holdout with NaN numerics, missing and never-seen categories mixed in."""
    age, income, plan = holdout["age"].copy(), holdout["income"].copy(), holdout["plan"].copy()
    age[::4] = np.nan
    income[1::5] = np.nan
    plan[::3] = "enterprise-never-seen"
    plan[1::7] = ""
    return Table({**holdout.columns, "age": age, "income": income, "plan": plan}, holdout.n_rows)


@pytest.mark.parametrize(("task", "kind"), COMBINATIONS)
def test_onnx_matches_scikit_learn_on_held_out_rows(
    make_spec: SpecFactory, make_table: TableFactory, task: str, kind: str
) -> None:
    # Given a model trained on data with missing values
    spec = make_spec(task, kind)
    model = train_model(make_table(task), spec)
    # When the ONNX artifact scores held-out rows, some with NaN and unseen categories
    rows = awkward_rows(model.holdout)
    outputs = session(model).run(None, onnx_feeds(rows, spec))
    expected_input = feature_matrix(rows, spec)
    # Then it answers like the scikit-learn pipeline
    if task == "regression":
        (values,) = outputs
        assert values.shape == (rows.n_rows, 1)
        np.testing.assert_allclose(
            values.ravel(), model.pipeline.predict(expected_input), rtol=1e-4, atol=1e-6
        )
    else:
        labels, probabilities = outputs
        assert probabilities.shape == (rows.n_rows, len(model.classes or []))
        np.testing.assert_allclose(
            probabilities, model.pipeline.predict_proba(expected_input), rtol=0, atol=1e-4
        )
        assert labels.ravel().tolist() == model.pipeline.predict(expected_input).tolist()


@pytest.mark.parametrize(("task", "kind"), COMBINATIONS)
def test_the_graph_follows_the_artifact_conventions(
    make_spec: SpecFactory, make_table: TableFactory, task: str, kind: str
) -> None:
    spec = make_spec(task, kind)

    model = train_model(make_table(task, n=120), spec)

    graph = session(model)
    inputs = {item.name: (item.type, item.shape) for item in graph.get_inputs()}
    assert list(inputs) == ["age", "income", "plan"]
    assert inputs["age"][0] == "tensor(float)"
    assert inputs["plan"][0] == "tensor(string)"
    assert inputs["age"][1][1] == 1
    outputs = [item.name for item in graph.get_outputs()]
    assert outputs == (["variable"] if task == "regression" else ["label", "probabilities"])


def test_a_trained_model_describes_itself(make_spec: SpecFactory, make_table: TableFactory) -> None:
    spec = make_spec("binary", "random_forest")
    table = make_table("binary", n=200)

    model = train_model(table, spec)

    assert model.estimator == "RandomForestClassifier"
    assert model.params["n_estimators"] == 8
    assert model.params["max_depth"] == 5
    assert model.params["random_state"] == 42
    json.dumps(model.params)
    assert model.classes == ["no", "yes"]
    assert model.train_rows + model.holdout_rows == 200
    assert model.holdout_rows == 40
    assert model.holdout.names == ["age", "income", "plan", "label"]
    assert model.seed == 42
    features = feature_matrix(model.holdout, spec)
    holdout_metrics = compute_metrics(
        "binary",
        model.holdout["label"],
        probabilities=model.pipeline.predict_proba(features),
        classes=model.classes,
        labels=model.pipeline.predict(features),
    )
    assert holdout_metrics["roc_auc"] > 0.8
    age, income, plan = model.feature_schema
    assert (age.name, age.type) == ("age", FeatureType.NUMERIC)
    assert age.minimum is not None
    assert age.maximum is not None
    assert age.minimum < 40 < age.maximum
    assert plan.type is FeatureType.CATEGORICAL
    assert plan.categories == ["basic", "pro", "team"]
    assert income.categories is None


def test_regression_reports_regression_metrics(
    make_spec: SpecFactory, make_table: TableFactory
) -> None:
    model = train_model(make_table("regression"), make_spec("regression", "linear_regression"))

    assert model.classes is None
    assert model.estimator == "Ridge"
    spec = make_spec("regression", "linear_regression")
    predicted = model.pipeline.predict(feature_matrix(model.holdout, spec))
    assert compute_metrics("regression", model.holdout["label"], values=predicted)["r2"] > 0.5


def test_a_new_class_label_is_learned_and_predicted(
    make_spec: SpecFactory, make_table: TableFactory
) -> None:
    # Given data in which a new class appears, for very high incomes
    spec = make_spec("multiclass", "logistic_regression")
    table = make_table("binary", n=240)
    labels = table["label"].copy()
    labels[table["income"] > 70] = "vip"
    table = Table({**table.columns, "label": labels}, table.n_rows)
    # When a model is trained on it
    model = train_model(table, spec)
    # Then the new class is among the classes and is predicted for its rows
    assert model.classes == ["no", "vip", "yes"]
    rows = Table(
        {
            "age": np.array([40.0, 40.0]),
            "income": np.array([95.0, 20.0]),
            "plan": np.array(["basic", "basic"], dtype=object),
        },
        2,
    )
    labels_out, probabilities = session(model).run(None, onnx_feeds(rows, spec))
    assert labels_out.ravel().tolist()[0] == "vip"
    assert probabilities.shape == (2, 3)


def test_rows_without_a_label_are_left_out(
    make_spec: SpecFactory, make_table: TableFactory
) -> None:
    table = make_table("binary", n=200)
    labels = table["label"].copy()
    labels[:50] = ""

    model = train_model(Table({**table.columns, "label": labels}, 200), make_spec())

    assert model.train_rows + model.holdout_rows == 150
    assert "" not in model.holdout["label"].tolist()
    assert model.classes == ["no", "yes"]


def test_training_is_reproducible_for_a_seed(
    make_spec: SpecFactory, make_table: TableFactory
) -> None:
    spec = make_spec("binary", "hist_gradient_boosting")
    table = make_table("binary")

    first, second = train_model(table, spec), train_model(table, spec)

    assert first.holdout["income"].tolist() == second.holdout["income"].tolist()
    feeds = onnx_feeds(first.holdout, spec)
    np.testing.assert_array_equal(
        session(first).run(None, feeds)[1], session(second).run(None, feeds)[1]
    )


@pytest.mark.parametrize(
    "features",
    [
        [{"name": "age", "type": "numeric"}, {"name": "income", "type": "numeric"}],
        [{"name": "plan", "type": "categorical"}],
    ],
)
def test_numeric_only_and_categorical_only_models(
    make_spec: SpecFactory, make_table: TableFactory, features: list[dict[str, str]]
) -> None:
    spec = make_spec("binary", "random_forest", features=features)

    model = train_model(make_table("binary"), spec)

    outputs = session(model).run(None, onnx_feeds(model.holdout, spec))
    expected = model.pipeline.predict_proba(feature_matrix(model.holdout, spec))
    np.testing.assert_allclose(outputs[1], expected, atol=1e-4)


def test_a_single_class_cannot_be_trained(make_spec: SpecFactory, make_table: TableFactory) -> None:
    table = make_table("binary", n=60)
    labels = np.full(60, "yes", dtype=object)

    with pytest.raises(TrainingError, match="fewer than two classes"):
        train_model(Table({**table.columns, "label": labels}, 60), make_spec())
