"""Every class of bad input gets a 4xx whose JSON body names each field at fault."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from onnx_builders import BuiltModel
from serving_harness import Registrar, call

from mlops.handlers.score import handler
from mlops.serving.local_server import LocalLambdaContext, proxy_event

pytestmark = pytest.mark.usefixtures("serving")

GOOD = {"amount": 12.5, "age": 31, "country": "de"}
PREDICT = "/v1/models/fraud/predict"


@pytest.fixture(autouse=True)
def production(registrar: Registrar, classifier: BuiltModel) -> None:
    spec = {"features": [{"name": "country", "type": "categorical", "unknown_category": "reject"}]}
    registrar.register("fraud", classifier, promote=True, spec=spec)


def faults(body: dict[str, Any]) -> set[tuple[Any, Any]]:
    return {(error.get("record"), error["field"]) for error in body["errors"]}


@pytest.mark.parametrize(
    ("record", "field", "problem"),
    [
        ({"amount": 1.0, "country": "de"}, "age", "missing"),
        ({**GOOD, "colour": "red"}, "colour", "unknown feature"),
        ({**GOOD, "amount": True}, "amount", "boolean"),
        ({**GOOD, "amount": "12.5"}, "amount", "string"),
        ({**GOOD, "amount": [1]}, "amount", "array"),
        ({**GOOD, "age": 1e39}, "age", "float32"),
        ({**GOOD, "country": 7}, "country", "must be a string"),
        ({**GOOD, "country": "atlantis"}, "country", "unknown category"),
    ],
)
def test_each_bad_field_is_named(record: dict[str, Any], field: str, problem: str) -> None:
    reply = call("POST", PREDICT, {"records": [GOOD, record]})
    assert reply.status == 422, reply.body
    [error] = reply.body["errors"]
    assert (error["record"], error["field"]) == (1, field)
    assert problem in error["problem"]
    assert field in reply.body["message"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(literal: str) -> None:
    raw = f'{{"record": {{"amount": {literal}, "age": 30, "country": "de"}}}}'
    reply = call("POST", PREDICT, raw=raw)
    assert reply.status == 422
    assert faults(reply.body) == {(0, "amount")}
    assert "finite" in reply.body["errors"][0]["problem"]


def test_every_fault_of_every_record_is_listed() -> None:
    reply = call(
        "POST",
        PREDICT,
        {
            "records": [
                {"amount": "x", "age": None, "country": "de", "extra": 1},
                GOOD,
                {"country": False},
                "not a record",
            ]
        },
    )
    assert reply.status == 422
    assert faults(reply.body) == {
        (0, "amount"),
        (0, "extra"),
        (2, "amount"),
        (2, "age"),
        (2, "country"),
        (3, None),
    }


def test_null_is_a_missing_value_the_artifact_imputes() -> None:
    reply = call("POST", PREDICT, {"record": {"amount": None, "age": 40, "country": None}})
    assert reply.status == 200, reply.body


def test_too_many_records() -> None:
    reply = call("POST", PREDICT, {"records": [GOOD] * 51})
    assert reply.status == 422
    assert faults(reply.body) == {(None, "records")}
    assert "51" in reply.body["errors"][0]["problem"]


def test_too_large_a_body_is_413() -> None:
    reply = call("POST", PREDICT, raw=json.dumps({"record": {**GOOD, "pad": "x" * 70_000}}))
    assert reply.status == 413
    assert faults(reply.body) == {(None, "body")}


@pytest.mark.parametrize("raw", ["{", "not json", "", "[1, 2", '{"record": }'])
def test_malformed_json_is_400(raw: str) -> None:
    reply = call("POST", PREDICT, raw=raw)
    assert reply.status == 400
    assert reply.body["message"]


def test_deeply_nested_json_is_400_not_a_crash() -> None:
    reply = call("POST", PREDICT, raw="[" * 60_000)
    assert reply.status == 400


@pytest.mark.parametrize(
    ("document", "fields"),
    [
        ([GOOD], {(None, "records")}),
        ({}, {(None, "records")}),
        ({"records": [GOOD], "record": GOOD}, {(None, "records")}),
        ({"records": GOOD}, {(None, "records")}),
        ({"records": []}, {(None, "records")}),
        ({"record": GOOD, "version": "2"}, {(None, "version")}),
        ({"record": GOOD, "version": True}, {(None, "version")}),
        ({"record": GOOD, "alias": "staging"}, {(None, "alias")}),
        ({"record": GOOD, "version": 1, "alias": "production"}, {(None, "alias")}),
        ({"record": GOOD, "limit": 3}, {(None, "limit")}),
    ],
)
def test_envelope_faults_are_named(document: Any, fields: set[tuple[Any, Any]]) -> None:
    reply = call("POST", PREDICT, document)
    assert 400 <= reply.status < 500
    if reply.status == 422:
        assert faults(reply.body) == fields
    else:
        assert "records" in reply.body["message"]


def test_invalid_request_id_header_is_named() -> None:
    reply = call("POST", PREDICT, {"record": GOOD}, headers={"X-Request-Id": "../../etc"})
    assert reply.status == 422
    assert faults(reply.body) == {(None, "X-Request-Id")}


def test_base64_body_is_decoded_and_invalid_base64_refused() -> None:
    encoded = base64.b64encode(json.dumps({"record": GOOD}).encode()).decode()
    event = proxy_event("POST", PREDICT, None, encoded)
    event["isBase64Encoded"] = True
    assert handler(event, LocalLambdaContext())["statusCode"] == 200
    event["body"] = "%%%not base64"
    assert handler(event, LocalLambdaContext())["statusCode"] == 400


def test_error_metrics_never_name_a_model_the_registry_has_not_confirmed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a caller that invents model names in the path with a malformed body
    for name in ("made-up-1", "made-up-2"):
        assert call("POST", f"/v1/models/{name}/predict", raw="{").status == 400
    # and a real model, once it has answered
    assert call("POST", PREDICT, {"record": GOOD}).status == 200
    assert call("POST", PREDICT, raw="{").status == 400

    # Then invented names never become metric dimensions (each would be a paid custom metric)
    errors = [
        line
        for line in (json.loads(text) for text in capsys.readouterr().out.splitlines() if text)
        if "Errors" in line
    ]
    assert [line["model"] for line in errors] == ["unknown", "unknown", "fraud"]
