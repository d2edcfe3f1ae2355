"""Fixtures for the training-domain unit tests: specs and small synthetic tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from mlops.domain.dataset import Table
from mlops.domain.spec import ModelSpec

FAST_PARAMS: dict[str, dict[str, Any]] = {
    "logistic_regression": {"max_iter": 500},
    "linear_regression": {"alpha": 1.0},
    "random_forest": {"n_estimators": 8, "max_depth": 5},
    "hist_gradient_boosting": {"max_iter": 15},
}

SpecFactory = Callable[..., ModelSpec]
TableFactory = Callable[..., Table]


def build_spec(
    task: str = "binary", kind: str = "logistic_regression", **overrides: Any
) -> ModelSpec:
    data: dict[str, Any] = {
        "name": "churn",
        "task": task,
        "target": "label",
        "features": [
            {"name": "age", "type": "numeric"},
            {"name": "income", "type": "numeric"},
            {"name": "plan", "type": "categorical"},
        ],
        "estimator": {"kind": kind, "params": FAST_PARAMS[kind]},
        "validation": {"min_rows": 20},
    }
    data.update(overrides)
    return ModelSpec.model_validate(data)


def build_table(task: str = "binary", n: int = 240, seed: int = 0) -> Table:
    """age and income (10% NaN in age), plan in {basic, pro, team, ""}; a learnable target."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, n)
    income = rng.normal(50, 15, n)
    plan = rng.choice(np.array(["basic", "pro", "team", ""], dtype=object), n)
    signal = (age - 40) / 12 + (income - 50) / 15 + np.where(plan == "pro", 1.0, 0.0)
    signal = signal + rng.normal(0, 0.5, n)
    age[rng.random(n) < 0.1] = np.nan
    if task == "binary":
        label = np.where(signal > 0, "yes", "no").astype(object)
    elif task == "multiclass":
        label = np.where(signal > 0.7, "high", np.where(signal < -0.7, "low", "mid")).astype(object)
    else:
        label = 3.0 * signal + 10.0
    return Table({"age": age, "income": income, "plan": plan, "label": label}, n)


@pytest.fixture
def make_spec() -> SpecFactory:
    return build_spec


@pytest.fixture
def make_table() -> TableFactory:
    return build_table
