"""Target inputs: Input, InputPath and InputTransformer as EventBridge fills them."""

from __future__ import annotations

import pytest

from mlops.local.transform import TransformError, json_path, target_input, transform

EVENT = {
    "id": "e-1",
    "time": "2026-01-01T00:05:00Z",
    "source": "aws.s3",
    "resources": ["arn:aws:s3:::data"],
    "detail": {"object": {"key": "training/churn/a.csv", "size": 3}, "tags": ["x", "y"]},
}


def test_json_path_reads_nested_fields_indexes_and_absent_ones() -> None:
    assert json_path(EVENT, "$.detail.object.key") == "training/churn/a.csv"
    assert json_path(EVENT, "$.resources[0]") == "arn:aws:s3:::data"
    assert json_path(EVENT, "$.detail['object'].size") == 3
    assert json_path(EVENT, "$.detail.nothing.here") is None
    assert json_path(EVENT, "$") == EVENT
    with pytest.raises(TransformError):
        json_path(EVENT, "detail.object")


def test_json_template_quotes_strings_and_inserts_values_as_json() -> None:
    result = transform(
        {"key": "$.detail.object.key", "size": "$.detail.object.size", "tags": "$.detail.tags"},
        '{"file": <key>, "bytes": <size>, "tags": <tags>, "label": "size <size> of <key>"}',
        EVENT,
    )

    assert result == {
        "file": "training/churn/a.csv",
        "bytes": 3,
        "tags": ["x", "y"],
        "label": "size 3 of training/churn/a.csv",
    }


def test_string_templates_and_predefined_variables() -> None:
    text = transform(
        {"key": "$.detail.object.key"},
        '"<aws.events.rule-name> saw <key>"',
        EVENT,
        rule_name="uploads",
    )
    assert text == "uploads saw training/churn/a.csv"
    whole = transform({}, '{"event": <aws.events.event.json>}', EVENT)
    assert whole == {"event": EVENT}


def test_missing_paths_become_null() -> None:
    assert transform({"x": "$.detail.absent"}, '{"x": <x>}', EVENT) == {"x": None}


def test_target_input_prefers_input_then_input_path_then_transformer() -> None:
    kwargs = {"rule_name": "r", "rule_arn": "arn:r"}
    assert target_input({"Input": '{"fixed": 1}'}, EVENT, **kwargs) == {"fixed": 1}
    assert target_input({"InputPath": "$.detail.object"}, EVENT, **kwargs) == {
        "key": "training/churn/a.csv",
        "size": 3,
    }
    transformer = {"InputPathsMap": {"t": "$.time"}, "InputTemplate": '{"at": <t>}'}
    assert target_input({"InputTransformer": transformer}, EVENT, **kwargs) == {
        "at": "2026-01-01T00:05:00Z"
    }
    assert target_input({}, EVENT, **kwargs) == EVENT
