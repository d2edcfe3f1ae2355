"""The numpy metrics equal scikit-learn's on random data (to 1e-9)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from mlops.domain.metrics import compute_metrics, confusion_matrix, residuals, roc_curve

SEEDS = [0, 1, 2, 3]


def random_probabilities(rng: np.random.Generator, n: int, k: int, *, ties: bool) -> np.ndarray:
    raw = rng.random((n, k))
    if ties:
        raw = np.round(raw, 1) + 0.01
    return raw / raw.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
def test_binary_metrics_equal_scikit_learn(seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    classes = ["ham", "spam"]
    y_true = rng.choice(classes, 300)
    proba = random_probabilities(rng, 300, 2, ties=ties)
    proba[:5, 1] = 1.0
    proba[:5, 0] = 0.0
    labels = np.array(classes)[(proba[:, 1] > 0.5).astype(int)]

    result = compute_metrics("binary", y_true, labels=labels, probabilities=proba, classes=classes)

    expected = {
        "accuracy": sk.accuracy_score(y_true, labels),
        "precision": sk.precision_score(y_true, labels, pos_label="spam"),
        "recall": sk.recall_score(y_true, labels, pos_label="spam"),
        "f1": sk.f1_score(y_true, labels, pos_label="spam"),
        "roc_auc": sk.roc_auc_score(y_true == "spam", proba[:, 1]),
        "log_loss": sk.log_loss(y_true, proba, labels=classes),
    }
    assert result.keys() == expected.keys()
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, abs=1e-9), name


def test_the_positive_class_is_the_second_class() -> None:
    y_true = np.array(["1", "1", "0", "0"])
    labels = np.array(["1", "0", "0", "0"])

    result = compute_metrics("binary", y_true, labels=labels, classes=["0", "1"])

    assert result == {"accuracy": 0.75, "precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3)}


def test_labels_default_to_the_most_probable_class() -> None:
    proba = np.array([[0.2, 0.8], [0.9, 0.1]])

    result = compute_metrics("binary", ["b", "a"], probabilities=proba, classes=["a", "b"])

    assert result["accuracy"] == 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_multiclass_metrics_equal_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    classes = ["bird", "cat", "dog", "fish"]
    y_true = rng.choice(classes, 400)
    proba = random_probabilities(rng, 400, 4, ties=seed % 2 == 1)
    labels = rng.choice(classes[:3], 400)

    result = compute_metrics(
        "multiclass", y_true, labels=labels, probabilities=proba, classes=classes
    )

    expected = {
        "accuracy": sk.accuracy_score(y_true, labels),
        "precision_macro": sk.precision_score(y_true, labels, average="macro", zero_division=0),
        "recall_macro": sk.recall_score(y_true, labels, average="macro", zero_division=0),
        "f1_macro": sk.f1_score(y_true, labels, average="macro", zero_division=0),
        "roc_auc_ovr_macro": sk.roc_auc_score(
            y_true, proba, multi_class="ovr", average="macro", labels=classes
        ),
        "log_loss": sk.log_loss(y_true, proba, labels=classes),
    }
    assert result.keys() == expected.keys()
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, abs=1e-9), name


def test_multiclass_auc_skips_classes_absent_from_the_truth() -> None:
    rng = np.random.default_rng(5)
    classes = ["a", "b", "c"]
    y_true = rng.choice(["a", "b"], 100)
    proba = random_probabilities(rng, 100, 3, ties=False)

    result = compute_metrics("multiclass", y_true, probabilities=proba, classes=classes)

    per_class = [sk.roc_auc_score(y_true == label, proba[:, i]) for i, label in enumerate("ab")]
    assert result["roc_auc_ovr_macro"] == pytest.approx(np.mean(per_class), abs=1e-9)


def test_auc_is_left_out_when_the_truth_has_one_class() -> None:
    proba = np.array([[0.3, 0.7], [0.6, 0.4]])

    result = compute_metrics("binary", ["b", "b"], probabilities=proba, classes=["a", "b"])

    assert "roc_auc" not in result
    assert result["log_loss"] == pytest.approx(sk.log_loss(["b", "b"], proba, labels=["a", "b"]))


@pytest.mark.parametrize("seed", SEEDS)
def test_regression_metrics_equal_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.normal(100, 20, 250)
    values = y_true + rng.normal(0, 5, 250)

    result = compute_metrics("regression", y_true, values=values.reshape(-1, 1))

    assert result["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y_true, values)), abs=1e-9)
    assert result["mae"] == pytest.approx(sk.mean_absolute_error(y_true, values), abs=1e-9)
    assert result["r2"] == pytest.approx(sk.r2_score(y_true, values), abs=1e-9)


@pytest.mark.parametrize("values", [[2.0, 2.0, 2.0], [2.0, 2.5, 2.0]])
def test_r2_of_a_constant_target_follows_scikit_learn(values: list[float]) -> None:
    y_true = [2.0, 2.0, 2.0]

    assert compute_metrics("regression", y_true, values=values)["r2"] == sk.r2_score(y_true, values)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "ranking", "y_true": [1]}, "unknown task 'ranking'"),
        ({"task": "regression", "y_true": [1.0]}, "need the predicted values"),
        ({"task": "regression", "y_true": [1.0, 2.0], "values": [1.0]}, "1 predictions for 2"),
        ({"task": "binary", "y_true": ["a"], "classes": ["a"]}, "at least two classes"),
        ({"task": "binary", "y_true": ["a"], "classes": ["a", "b"]}, "labels or probabilities"),
        (
            {"task": "binary", "y_true": ["a"], "classes": ["a", "b"], "probabilities": [[1.0]]},
            "probabilities must have shape (1, 2)",
        ),
        (
            {"task": "binary", "y_true": ["z"], "classes": ["a", "b"], "probabilities": [[1, 0]]},
            "true labels ['z'] are not among the classes",
        ),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(kwargs: dict[str, object], message: str) -> None:
    task = kwargs.pop("task")
    y_true = kwargs.pop("y_true")
    if "probabilities" in kwargs:
        kwargs["probabilities"] = np.asarray(kwargs["probabilities"], dtype=float)

    with pytest.raises(ValueError) as raised:
        compute_metrics(str(task), y_true, **kwargs)  # type: ignore[arg-type]

    assert message in str(raised.value)


def test_confusion_matrix_equals_scikit_learn() -> None:
    rng = np.random.default_rng(9)
    classes = ["x", "y", "z"]
    y_true, y_pred = rng.choice(classes, 200), rng.choice(classes, 200)

    matrix = confusion_matrix(y_true, y_pred, classes)

    assert matrix == sk.confusion_matrix(y_true, y_pred, labels=classes).tolist()


@pytest.mark.parametrize("ties", [False, True])
def test_roc_curve_equals_scikit_learn(ties: bool) -> None:
    rng = np.random.default_rng(4)
    truth = rng.random(150) < 0.4
    scores = rng.random(150)
    if ties:
        scores = np.round(scores, 1)

    points = roc_curve(truth, scores, max_points=1_000)

    fpr, tpr, _ = sk.roc_curve(truth, scores, drop_intermediate=False)
    np.testing.assert_allclose(np.array(points), np.c_[fpr, tpr], atol=1e-12)


def test_roc_curve_is_thinned_but_keeps_both_ends() -> None:
    rng = np.random.default_rng(4)

    points = roc_curve(rng.random(5_000) < 0.5, rng.random(5_000), max_points=50)

    assert len(points) <= 50
    assert points[0] == (0.0, 0.0)
    assert points[-1] == (1.0, 1.0)


def test_residuals_are_actual_minus_predicted() -> None:
    points = residuals([3.0, 5.0, 1.0], [2.5, 5.5, 1.0])

    assert points == [(2.5, 0.5), (5.5, -0.5), (1.0, 0.0)]
    assert len(residuals(np.arange(2_000.0), np.arange(2_000.0), max_points=100)) == 100
