"""Request validation in isolation: envelopes, records against a schema, feedback, ids, bodies."""

from __future__ import annotations

import math
from typing import Any

import pytest

from mlops.registry.entities import AliasName, FeatureSchema, FeatureType
from mlops.serving.errors import (
    MalformedRequestError,
    PayloadTooLargeError,
    RequestValidationError,
)
from mlops.serving.validation import (
    FLOAT32_MAX,
    RecordValidator,
    parse_feedback,
    parse_json_body,
    parse_predict_request,
    validate_request_id,
)

SCHEMA = [
    FeatureSchema(name="amount", type=FeatureType.NUMERIC),
    FeatureSchema(name="country", type=FeatureType.CATEGORICAL, categories=["de", "fr"]),
]
REJECT_SPEC = {"features": [{"name": "country", "unknown_category": "reject"}]}


def faults(error: RequestValidationError) -> list[tuple[Any, Any]]:
    return [(e.get("record"), e["field"]) for e in error.errors]


def test_valid_records_become_model_ready_copies() -> None:
    validator = RecordValidator(SCHEMA)
    clean = validator.validate([{"amount": 3, "country": "de"}, {"amount": None, "country": None}])
    assert clean[0] == {"amount": 3, "country": "de"}
    assert math.isnan(clean[1]["amount"])
    assert clean[1]["country"] == ""


def test_unknown_category_passes_unless_the_spec_rejects_it() -> None:
    record = {"amount": 1.0, "country": "zz"}
    assert RecordValidator(SCHEMA).validate([record]) == [record]
    assert RecordValidator(SCHEMA, {"features": []}).validate([record]) == [record]
    with pytest.raises(RequestValidationError) as caught:
        RecordValidator(SCHEMA, REJECT_SPEC).validate([record])
    assert faults(caught.value) == [(0, "country")]
    # the empty string is the missing category, never unknown
    assert RecordValidator(SCHEMA, REJECT_SPEC).validate([{"amount": 1, "country": ""}])


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (True, "boolean"),
        ("1.5", "string"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (10**60, "float32"),
        ({"a": 1}, "object"),
    ],
)
def test_bad_numbers(value: Any, problem: str) -> None:
    with pytest.raises(RequestValidationError) as caught:
        RecordValidator(SCHEMA).validate([{"amount": value, "country": "de"}])
    [error] = caught.value.errors
    assert error["field"] == "amount"
    assert problem in error["problem"]


@pytest.mark.parametrize(
    ("country", "problem"), [(5, "string"), (True, "string"), (["de"], "string"), ("zz", "unknown")]
)
def test_bad_categories_in_complete_records(country: Any, problem: str) -> None:
    with pytest.raises(RequestValidationError) as caught:
        RecordValidator(SCHEMA, REJECT_SPEC).validate([{"amount": 1.0, "country": country}])
    [error] = caught.value.errors
    assert error["field"] == "country"
    assert problem in error["problem"]


def test_a_ready_record_is_passed_on_as_is() -> None:
    record = {"amount": -FLOAT32_MAX, "country": "fr"}
    assert RecordValidator(SCHEMA, REJECT_SPEC).validate([record])[0] is record
    with pytest.raises(RequestValidationError):
        RecordValidator(SCHEMA).validate([{"amount": int(FLOAT32_MAX) * 2, "country": "fr"}])


def test_all_faults_across_records_are_reported_together() -> None:
    with pytest.raises(RequestValidationError) as caught:
        RecordValidator(SCHEMA).validate(
            [{"amount": "x"}, {"amount": 1, "country": "de", "zip": 1}, 5]
        )
    assert sorted(faults(caught.value), key=str) == sorted(
        [(0, "amount"), (0, "country"), (1, "zip"), (2, None)], key=str
    )
    assert "amount" in caught.value.message


def test_envelope_parsing() -> None:
    request = parse_predict_request({"record": {"a": 1}, "alias": "candidate"}, max_records=5)
    assert request.records == [{"a": 1}]
    assert request.alias is AliasName.CANDIDATE
    assert parse_predict_request({"records": [{}], "version": 3}, max_records=5).version == 3
    with pytest.raises(MalformedRequestError):
        parse_predict_request([1, 2], max_records=5)
    with pytest.raises(RequestValidationError) as caught:
        parse_predict_request({"records": [{}] * 6, "alias": ["x"], "v": 1}, max_records=5)
    assert sorted(faults(caught.value), key=str) == sorted(
        [(None, "v"), (None, "records"), (None, "alias")], key=str
    )


def test_json_body_limits() -> None:
    assert parse_json_body('{"a": 1}', base64_encoded=False, max_bytes=100) == {"a": 1}
    assert parse_json_body("eyJhIjogMX0=", base64_encoded=True, max_bytes=100) == {"a": 1}
    with pytest.raises(PayloadTooLargeError):
        parse_json_body('{"a": "' + "é" * 60 + '"}', base64_encoded=False, max_bytes=100)
    for bad in (None, "", "{", "[" * 100_000, "\udcff"):
        with pytest.raises(MalformedRequestError):
            parse_json_body(bad, base64_encoded=False, max_bytes=10**6)


@pytest.mark.parametrize("good", ["abc", "0f8fad5b-d9cb-469f-a165-70867728950e", "a.b_c:d-1"])
def test_request_ids_accepted(good: str) -> None:
    assert validate_request_id(good) == good


@pytest.mark.parametrize("bad", ["", "-lead", "a/b", "x" * 129, "sp ace", "ü"])
def test_request_ids_refused(bad: str) -> None:
    with pytest.raises(RequestValidationError):
        validate_request_id(bad)


def test_feedback_items() -> None:
    items = parse_feedback(
        {"items": [{"request_id": "r1", "label": "ok"}, {"request_id": "r2", "value": 10**400}]},
        max_items=5,
        classes=["fraud", "ok"],
    )
    assert [item["request_id"] for item in items] == ["r1", "r2"]
    with pytest.raises(RequestValidationError) as caught:
        parse_feedback(
            {
                "items": [
                    {"request_id": "r1", "value": float("nan")},
                    {"request_id": 3, "label": "x"},
                ]
            },
            max_items=5,
            classes=["fraud", "ok"],
        )
    assert faults(caught.value) == [(0, "value"), (1, "request_id"), (1, "label")]
    with pytest.raises(RequestValidationError):
        parse_feedback({"items": [{"request_id": "r"}] * 6}, max_items=5, classes=None)


def test_feedback_may_name_a_record_by_its_position() -> None:
    items = parse_feedback(
        {"items": [{"request_id": "r1", "record": 2, "label": "ok"}]}, max_items=5, classes=None
    )
    assert items == [{"request_id": "r1", "record": 2, "label": "ok"}]
    with pytest.raises(RequestValidationError) as caught:
        parse_feedback(
            {
                "items": [
                    {"request_id": "r", "record": bad, "label": "ok"}
                    for bad in (-1, 1.0, True, "0")
                ]
            },
            max_items=5,
            classes=None,
        )
    assert faults(caught.value) == [(0, "record"), (1, "record"), (2, "record"), (3, "record")]
