"""The drift baseline: statistics of the training data, with bins the monitor can reuse."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from mlops.domain.baseline import bin_counts, category_counts, compute_baseline
from mlops.domain.dataset import Table
from mlops.registry.entities import FeatureSchema, FeatureType

TableFactory = Callable[..., Table]
SCHEMA = [
    FeatureSchema(name="age", type=FeatureType.NUMERIC),
    FeatureSchema(name="income", type=FeatureType.NUMERIC),
    FeatureSchema(name="plan", type=FeatureType.CATEGORICAL, categories=["basic", "pro", "team"]),
]


def test_numeric_features_get_deciles_bins_and_moments(make_table: TableFactory) -> None:
    table = make_table("binary", n=500)

    baseline = compute_baseline(table, SCHEMA)

    age = baseline["features"]["age"]
    present = table["age"][~np.isnan(table["age"])]
    assert baseline["rows"] == 500
    assert age["type"] == "numeric"
    assert age["count"] == present.size
    assert age["missing_rate"] == pytest.approx(1 - present.size / 500)
    assert age["deciles"] == pytest.approx(np.quantile(present, np.arange(1, 10) / 10).tolist())
    assert age["mean"] == pytest.approx(present.mean())
    assert age["std"] == pytest.approx(present.std())
    assert (age["minimum"], age["maximum"]) == (present.min(), present.max())
    assert len(age["counts"]) == len(age["edges"]) + 1 == 10
    assert sum(age["counts"]) == present.size
    assert max(age["counts"]) - min(age["counts"]) <= 2


def test_the_bins_are_reusable_on_new_data(make_table: TableFactory) -> None:
    baseline = compute_baseline(make_table("binary", n=500), SCHEMA)
    edges = baseline["features"]["income"]["edges"]
    shifted = make_table("binary", n=500, seed=1)["income"] + 30

    live = bin_counts(shifted, edges)

    assert sum(live) == 500
    assert live[-1] > 250
    assert bin_counts([edges[0], edges[0] + 1e-9, np.nan, -1e9], edges)[:2] == [2, 1]


def test_categorical_features_get_frequencies(make_table: TableFactory) -> None:
    table = make_table("binary", n=400)

    plan = compute_baseline(table, SCHEMA)["features"]["plan"]

    counts = category_counts(table["plan"])
    assert plan["type"] == "categorical"
    assert plan["counts"] == counts
    assert set(counts) == {"basic", "pro", "team"}
    assert plan["missing_rate"] == pytest.approx(np.mean(table["plan"] == ""))
    assert sum(plan["frequencies"].values()) == pytest.approx(1.0)
    assert plan["count"] == sum(counts.values())


def test_the_baseline_is_json_and_survives_an_all_missing_column() -> None:
    table = Table(
        {"age": np.full(5, np.nan), "income": np.arange(5.0), "plan": np.full(5, "", dtype=object)},
        5,
    )

    baseline = compute_baseline(table, SCHEMA)

    assert json.loads(json.dumps(baseline, allow_nan=False)) == baseline
    assert baseline["features"]["age"]["missing_rate"] == 1.0
    assert baseline["features"]["age"]["edges"] == []
    assert baseline["features"]["plan"]["frequencies"] == {}
