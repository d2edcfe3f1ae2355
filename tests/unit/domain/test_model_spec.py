"""The model spec: defaults, and bad specs refused with the field at fault named."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import pytest

from mlops.domain.spec import ModelSpec, SpecError, load_spec, metric_direction, parse_spec

VALID: dict[str, Any] = {
    "name": "house-prices",
    "task": "regression",
    "target": "price",
    "features": [
        {"name": "rooms", "type": "numeric"},
        {"name": "district", "type": "categorical", "unknown_category": "reject"},
    ],
    "estimator": {"kind": "random_forest", "params": {"n_estimators": 50, "max_depth": 8}},
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if value is DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


DELETE = object()


def test_a_minimal_spec_gets_the_documented_defaults() -> None:
    spec = parse_spec(VALID)

    assert spec.gate.metric == "rmse"
    assert spec.gate.min_improvement == 0.0
    assert spec.split.holdout_fraction == 0.2
    assert spec.split.seed == 42
    assert spec.validation.min_rows == 50
    assert spec.promotion.mode == "direct"
    assert spec.promotion.canary_weight == 0.1
    assert spec.training_data == "latest"
    assert spec.ordered_features == ["rooms", "district"]
    assert spec.features[1].unknown_category == "reject"


@pytest.mark.parametrize(
    ("task", "kind", "metric"),
    [
        ("binary", "logistic_regression", "roc_auc"),
        ("multiclass", "hist_gradient_boosting", "f1_macro"),
        ("regression", "linear_regression", "rmse"),
    ],
)
def test_the_default_gate_metric_depends_on_the_task(task: str, kind: str, metric: str) -> None:
    data = with_change("task", task)
    data["estimator"] = {"kind": kind}

    assert parse_spec(data).gate.metric == metric


def test_numeric_features_come_first_in_the_onnx_input_order() -> None:
    data = with_change(
        "features",
        [
            {"name": "district", "type": "categorical"},
            {"name": "rooms", "type": "numeric"},
            {"name": "area", "type": "numeric"},
        ],
    )

    assert parse_spec(data).ordered_features == ["rooms", "area", "district"]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("colour", "red", "colour: Extra inputs are not permitted"),
        ("name", "House_Prices", "name: invalid model name"),
        ("task", "ranking", "task: Input should be 'binary', 'multiclass' or 'regression'"),
        ("target", "rooms", "target 'rooms' must not also be a feature"),
        ("features", [], "features: List should have at least 1 item"),
        ("features.1.name", "rooms", "feature 'rooms' is listed twice"),
        ("features.0.type", "text", "features.0.type: Input should be 'numeric' or 'categorical'"),
        ("features.1.unknown_category", "drop", "features.1.unknown_category"),
        (
            "estimator",
            {"kind": "logistic_regression"},
            "estimator.kind 'logistic_regression' does not",
        ),
        ("estimator.kind", "svm", "estimator.kind: Input should be"),
        ("estimator.params", {"C": 1.0}, "estimator.params: 'C' is not allowed for random_forest"),
        (
            "estimator.params",
            {"n_estimators": 0},
            "estimator.params: n_estimators must be an integer from 1",
        ),
        (
            "estimator.params",
            {"max_depth": "deep"},
            "estimator.params: max_depth must be an integer",
        ),
        ("estimator.params", {"class_weight": "balanced"}, "estimator.params.class_weight"),
        ("split.holdout_fraction", 0.9, "split.holdout_fraction: Input should be less than"),
        ("split.seed", -1, "split.seed: Input should be greater than or equal to 0"),
        ("validation.max_missing_rate", 1.5, "validation.max_missing_rate"),
        ("gate.metric", "roc_auc", "gate.metric: 'roc_auc' is not a regression metric"),
        ("gate.guards", {"f1": 0.01}, "gate.guards.f1: 'f1' is not a regression metric"),
        ("gate.guards", {"mae": -0.1}, "gate.guards: Value error, tolerance for 'mae'"),
        ("promotion.mode", "blue-green", "promotion.mode: Input should be"),
        ("promotion.canary_weight", 1.0, "promotion.canary_weight: Input should be less than 1"),
        ("training_data", "s3://bucket/file.csv", "training_data: Input should be 'latest'"),
        ("estimator", DELETE, "estimator: Field required"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_field(path: str, value: Any, expected: str) -> None:
    data = with_change(path, value)

    with pytest.raises(SpecError) as raised:
        parse_spec(data, "spec.json")

    message = str(raised.value).replace("Value error, ", "")
    assert expected.replace("Value error, ", "") in message
    assert message.startswith("invalid model spec spec.json: ")


def test_estimator_params_are_checked_per_kind() -> None:
    data = with_change("task", "binary")
    data["estimator"] = {"kind": "logistic_regression", "params": {"C": 0.5, "max_iter": 200}}

    spec = parse_spec(data)

    assert spec.estimator.params == {"C": 0.5, "max_iter": 200}
    data["estimator"]["params"] = {"C": -1}
    with pytest.raises(SpecError, match=r"estimator\.params: C must be a number > 0, got -1"):
        parse_spec(data)


def test_load_spec_reads_json() -> None:
    spec = load_spec(json.dumps(VALID), "models/house-prices.json")

    assert spec == parse_spec(VALID)


def test_load_spec_reads_yaml() -> None:
    text = """
name: house-prices
task: regression
target: price
features:
  - {name: rooms, type: numeric}
  - {name: district, type: categorical, unknown_category: reject}
estimator:
  kind: random_forest
  params: {n_estimators: 50, max_depth: 8}
gate: {metric: mae, min_improvement: 0.5, guards: {r2: 0.02}}
"""
    spec = load_spec(text, "house-prices.yaml")

    assert spec.gate.metric == "mae"
    assert spec.gate.guards == {"r2": 0.02}
    assert spec.features[1].unknown_category == "reject"


@pytest.mark.parametrize(
    ("text", "filename", "expected"),
    [
        ("{not json", "spec.json", "spec.json: not valid JSON (line 1, column 2"),
        ("name: [unclosed", "spec.yml", "spec.yml: not valid YAML"),
        ("name: x", "spec.toml", "unsupported spec format '.toml'"),
        ("[1, 2]", "spec.json", "the spec must be a mapping, got list"),
    ],
)
def test_load_spec_rejects_unreadable_text(text: str, filename: str, expected: str) -> None:
    with pytest.raises(SpecError, match=expected.replace("(", r"\(").replace("[", r"\[")):
        load_spec(text, filename)


def test_yaml_without_pyyaml_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)

    with pytest.raises(SpecError, match="reading YAML specs needs PyYAML"):
        load_spec("name: x", "spec.yaml")
    assert isinstance(load_spec(json.dumps(VALID), "spec.json"), ModelSpec)


@pytest.mark.parametrize(
    ("metric", "direction"),
    [("roc_auc", "max"), ("f1_macro", "max"), ("r2", "max"), ("rmse", "min"), ("log_loss", "min")],
)
def test_metric_direction(metric: str, direction: str) -> None:
    assert metric_direction(metric) == direction


def test_metric_direction_refuses_unknown_metrics() -> None:
    with pytest.raises(ValueError, match="unknown metric 'speed'"):
        metric_direction("speed")
