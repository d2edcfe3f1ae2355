"""Task metrics in numpy (no scikit-learn): the evaluation of an ONNX artifact runs on these.

Definitions follow scikit-learn's: zero division counts as 0, log loss clips probabilities to
[eps, 1 - eps], macro averages run over the labels present in y_true or the predictions, and
ROC AUC is left out when it is undefined (a single class in y_true).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

EPSILON = float(np.finfo(np.float64).eps)


def compute_metrics(
    task: str,
    y_true: np.ndarray | Sequence[Any],
    *,
    labels: np.ndarray | Sequence[Any] | None = None,
    probabilities: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
    values: np.ndarray | Sequence[float] | None = None,
) -> dict[str, float]:
    """The task's metrics. Classification needs `classes` (the probability columns' order;
    for binary, classes[1] is the positive class) and `probabilities` and/or `labels`;
    regression needs `values`."""
    if task == "regression":
        if values is None:
            msg = "regression metrics need the predicted values"
            raise ValueError(msg)
        return _regression(np.asarray(y_true, dtype=np.float64), _flat(values))
    if task not in {"binary", "multiclass"}:
        msg = f"unknown task {task!r}"
        raise ValueError(msg)
    if classes is None or len(classes) < 2:
        msg = "classification metrics need the list of at least two classes"
        raise ValueError(msg)
    truth = np.asarray(y_true).astype(str)
    class_array = np.asarray(classes, dtype=str)
    proba = None if probabilities is None else _probabilities(probabilities, truth, class_array)
    if labels is not None:
        predicted = np.asarray(labels).astype(str)
    elif proba is not None:
        predicted = class_array[np.argmax(proba, axis=1)]
    else:
        msg = "classification metrics need predicted labels or probabilities"
        raise ValueError(msg)
    if len(predicted) != len(truth):
        msg = f"{len(predicted)} predictions for {len(truth)} true labels"
        raise ValueError(msg)
    if task == "binary":
        return _binary(truth, predicted, proba, class_array)
    return _multiclass(truth, predicted, proba, class_array)


def _flat(values: np.ndarray | Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _probabilities(probabilities: np.ndarray, truth: np.ndarray, classes: np.ndarray) -> np.ndarray:
    proba = np.asarray(probabilities, dtype=np.float64)
    if proba.ndim != 2 or proba.shape != (len(truth), len(classes)):
        msg = f"probabilities must have shape ({len(truth)}, {len(classes)}), got {proba.shape}"
        raise ValueError(msg)
    return proba


def _binary(
    truth: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None, classes: np.ndarray
) -> dict[str, float]:
    positive = classes[1]
    is_positive = truth == positive
    predicted_positive = predicted == positive
    tp = float(np.sum(is_positive & predicted_positive))
    fp = float(np.sum(~is_positive & predicted_positive))
    fn = float(np.sum(is_positive & ~predicted_positive))
    result = {
        "accuracy": float(np.mean(truth == predicted)),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }
    if proba is not None:
        auc = roc_auc(is_positive, proba[:, 1])
        if auc is not None:
            result["roc_auc"] = auc
        result["log_loss"] = log_loss(truth, proba, classes)
    return result


def _multiclass(
    truth: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None, classes: np.ndarray
) -> dict[str, float]:
    present = np.union1d(truth, predicted)
    precisions, recalls, f1s = [], [], []
    for label in present:
        actual, guessed = truth == label, predicted == label
        tp = float(np.sum(actual & guessed))
        fp = float(np.sum(~actual & guessed))
        fn = float(np.sum(actual & ~guessed))
        precisions.append(_ratio(tp, tp + fp))
        recalls.append(_ratio(tp, tp + fn))
        f1s.append(_ratio(2 * tp, 2 * tp + fp + fn))
    result = {
        "accuracy": float(np.mean(truth == predicted)),
        "precision_macro": float(np.mean(precisions)),
        "recall_macro": float(np.mean(recalls)),
        "f1_macro": float(np.mean(f1s)),
    }
    if proba is not None:
        aucs = [roc_auc(truth == label, proba[:, index]) for index, label in enumerate(classes)]
        defined = [auc for auc in aucs if auc is not None]
        if defined:
            result["roc_auc_ovr_macro"] = float(np.mean(defined))
        result["log_loss"] = log_loss(truth, proba, classes)
    return result


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def roc_auc(is_positive: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted half); None if one class only."""
    positive = np.asarray(is_positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _average_ranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_ranks(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(scores)]))
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def log_loss(truth: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Mean negative log probability of the true class (probabilities clipped to [eps, 1-eps])."""
    index = {str(label): position for position, label in enumerate(classes)}
    unknown = sorted({str(label) for label in truth} - set(index))
    if unknown:
        msg = f"true labels {unknown} are not among the classes {list(classes)}"
        raise ValueError(msg)
    columns = np.array([index[str(label)] for label in truth], dtype=np.intp)
    clipped = np.clip(proba, EPSILON, 1 - EPSILON)
    return float(-np.mean(np.log(clipped[np.arange(len(truth)), columns])))


def _regression(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    if truth.shape != predicted.shape:
        msg = f"{len(predicted)} predictions for {len(truth)} true values"
        raise ValueError(msg)
    error = truth - predicted
    ss_res = float(np.sum(error**2))
    ss_tot = float(np.sum((truth - truth.mean()) ** 2))
    # scikit-learn's convention for a constant target: 1 if predicted exactly, else 0
    r2 = 1.0 - ss_res / ss_tot if ss_tot else float(ss_res == 0)
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": r2,
    }


def confusion_matrix(
    y_true: np.ndarray | Sequence[Any], y_pred: np.ndarray | Sequence[Any], classes: Sequence[str]
) -> list[list[int]]:
    """Counts with rows = true class, columns = predicted class, both in `classes` order.
    Labels outside `classes` are not counted."""
    index = {str(label): position for position, label in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for actual, guessed in zip(
        np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str), strict=True
    ):
        row, column = index.get(actual), index.get(guessed)
        if row is not None and column is not None:
            matrix[row, column] += 1
    return [[int(count) for count in row] for row in matrix]


def roc_curve(
    y_true_binary: np.ndarray | Sequence[bool],
    scores: np.ndarray | Sequence[float],
    max_points: int = 200,
) -> list[tuple[float, float]]:
    """ROC points (false positive rate, true positive rate) from (0, 0) to (1, 1), one per
    distinct score threshold, thinned evenly to at most `max_points`."""
    positive = np.asarray(y_true_binary, dtype=bool)
    values = np.asarray(scores, dtype=np.float64)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return []
    order = np.argsort(-values, kind="mergesort")
    sorted_scores, sorted_positive = values[order], positive[order]
    last_of_threshold = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(values) - 1]
    tps = np.cumsum(sorted_positive)[last_of_threshold]
    fps = (last_of_threshold + 1) - tps
    fpr = np.r_[0.0, fps / n_neg]
    tpr = np.r_[0.0, tps / n_pos]
    keep = _thin(len(fpr), max_points)
    return [(float(fpr[i]), float(tpr[i])) for i in keep]


def residuals(
    y_true: np.ndarray | Sequence[float],
    values: np.ndarray | Sequence[float],
    max_points: int = 500,
) -> list[tuple[float, float]]:
    """(predicted, actual - predicted) pairs, thinned evenly to at most `max_points`."""
    truth, predicted = _flat(y_true), _flat(values)
    if truth.shape != predicted.shape:
        msg = f"{len(predicted)} predictions for {len(truth)} true values"
        raise ValueError(msg)
    keep = _thin(len(truth), max_points)
    return [(float(predicted[i]), float(truth[i] - predicted[i])) for i in keep]


def _thin(count: int, max_points: int) -> list[int]:
    if count <= max_points:
        return list(range(count))
    return sorted({round(float(i)) for i in np.linspace(0, count - 1, max_points)})
