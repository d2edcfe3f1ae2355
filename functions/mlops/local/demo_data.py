"""Synthetic labelled tables for demos, tests and the benchmark (numpy only).

Every task gets the same features: three numeric (`x1`, `x2`, `x3`, with a few values missing)
and one categorical (`color`). Labels follow a fixed rule plus noise, so more noise makes a
worse training file and less noise a better one.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np

NUMERIC = ("x1", "x2", "x3")
COLORS = ("red", "green", "blue")
BINARY_CLASSES = ("no", "yes")
MULTICLASS_CLASSES = ("box", "tube", "bag")
TARGET = "label"
RULE_SEEDS = {2: 2, 3: 59, 4: 4}
ESTIMATORS = {
    "binary": "logistic_regression",
    "multiclass": "logistic_regression",
    "regression": "linear_regression",
}


def make_rows(
    task: str,
    rows: int,
    *,
    seed: int = 0,
    noise: float = 0.05,
    classes: tuple[str, ...] | None = None,
    missing_rate: float = 0.01,
) -> list[dict[str, Any]]:
    """`rows` records for the task. `noise`: share of shuffled labels (classification) or the
    noise's standard deviation relative to the signal (regression)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, len(NUMERIC)))
    color_index = rng.integers(0, len(COLORS), size=rows)
    if task == "regression":
        signal = 3.0 * x[:, 0] - 2.0 * x[:, 1] + 0.5 * x[:, 2] + 1.5 * (color_index == 0)
        labels: list[Any] = list(signal + rng.normal(scale=noise * 4.0, size=rows))
    else:
        names = classes or (BINARY_CLASSES if task == "binary" else MULTICLASS_CLASSES)
        shape = (len(NUMERIC) + len(COLORS), len(names))
        # The rule depends only on the number of classes (seeds picked for balanced classes).
        rule_seed = RULE_SEEDS.get(len(names), len(names))
        weights = np.random.default_rng(rule_seed).normal(size=shape) * 2.0
        one_hot = np.eye(len(COLORS))[color_index]
        scores = np.hstack([x, one_hot]) @ weights
        chosen = np.argmax(scores, axis=1)
        flip = rng.random(rows) < noise
        chosen[flip] = rng.integers(0, len(names), size=int(flip.sum()))
        labels = [names[index] for index in chosen]
    missing = rng.random(size=x.shape) < missing_rate
    records = []
    for row in range(rows):
        record: dict[str, Any] = {
            name: (None if missing[row, column] else round(float(x[row, column]), 6))
            for column, name in enumerate(NUMERIC)
        }
        record["color"] = COLORS[color_index[row]]
        label = labels[row]
        record[TARGET] = round(float(label), 6) if task == "regression" else label
        records.append(record)
    return records


def to_csv(records: list[dict[str, Any]]) -> bytes:
    """CSV with a header; None becomes an empty cell."""
    if not records:
        return b""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(
        {key: "" if value is None else value for key, value in record.items()} for record in records
    )
    return buffer.getvalue().encode()


def make_spec(name: str, task: str, **overrides: Any) -> dict[str, Any]:
    """A spec for the synthetic columns; keyword overrides replace top-level keys."""
    spec: dict[str, Any] = {
        "name": name,
        "task": task,
        "target": TARGET,
        "features": [{"name": feature, "type": "numeric"} for feature in NUMERIC]
        + [{"name": "color", "type": "categorical"}],
        "estimator": {"kind": ESTIMATORS[task], "params": {}},
        "validation": {"min_rows": 50},
    }
    spec.update(overrides)
    return spec
