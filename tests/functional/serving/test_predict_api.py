"""Predict, models, health, feedback and OpenAPI through API Gateway proxy events (moto)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from onnx_builders import BuiltModel
from serving_harness import Registrar, call

from mlops import aws
from mlops.registry.entities import VersionStatus
from mlops.serving.local_server import LocalLambdaContext, proxy_event, response_headers
from mlops.serving.rest import app

pytestmark = pytest.mark.usefixtures("serving")

RECORDS = [
    {"amount": 12.5, "age": 31, "country": "de"},
    {"amount": 950.0, "age": 22.0, "country": "us"},
    {"amount": 0, "age": 77, "country": "fr"},
]


def raw_onnxruntime(onnx: bytes, records: list[dict[str, Any]]) -> list[Any]:
    """What onnxruntime itself answers for these records, fed per the artifact conventions."""
    session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    feeds = {
        "amount": np.array([[r["amount"]] for r in records], dtype=np.float32),
        "age": np.array([[r["age"]] for r in records], dtype=np.float32),
        "country": np.array([[r["country"]] for r in records], dtype=object),
    }
    return session.run(None, feeds)


def test_predict_returns_exactly_what_onnxruntime_gives(
    registrar: Registrar, classifier: BuiltModel
) -> None:
    # Given a production classifier
    version = registrar.register("fraud", classifier, promote=True)
    # When three records are scored
    reply = call("POST", "/v1/models/fraud/predict", {"records": RECORDS})
    # Then each prediction is onnxruntime's own label and probabilities
    assert reply.status == 200, reply.body
    labels, probabilities = raw_onnxruntime(classifier.onnx, RECORDS)
    assert reply.body["model"] == "fraud"
    assert reply.body["version"] == version
    assert reply.body["served_by"] == "production"
    assert reply.body["request_id"] == reply.headers["X-Request-Id"]
    for i, prediction in enumerate(reply.body["predictions"]):
        assert prediction["label"] == labels[i]
        assert list(prediction["probabilities"]) == classifier.classes
        returned = np.array(list(prediction["probabilities"].values()), dtype=np.float32)
        np.testing.assert_array_equal(returned, probabilities[i])


def test_single_record_and_client_request_id(registrar: Registrar, classifier: BuiltModel) -> None:
    registrar.register("fraud", classifier, promote=True)
    reply = call(
        "POST",
        "/v1/models/fraud/predict",
        {"record": RECORDS[0]},
        headers={"x-request-id": "checkout-42"},
    )
    assert reply.status == 200, reply.body
    assert reply.body["request_id"] == "checkout-42"
    labels, probabilities = raw_onnxruntime(classifier.onnx, RECORDS[:1])
    [prediction] = reply.body["predictions"]
    assert prediction["label"] == labels[0]
    np.testing.assert_array_equal(
        np.array(list(prediction["probabilities"].values()), dtype=np.float32), probabilities[0]
    )


def test_regressor_returns_values(registrar: Registrar, regressor: BuiltModel) -> None:
    registrar.register("basket-value", regressor, promote=True)
    reply = call("POST", "/v1/models/basket-value/predict", {"records": RECORDS})
    assert reply.status == 200, reply.body
    [values] = raw_onnxruntime(regressor.onnx, RECORDS)
    assert [p["value"] for p in reply.body["predictions"]] == values.reshape(-1).tolist()


def test_pinned_version_and_aliases(
    registrar: Registrar, classifier: BuiltModel, classifier_v2: BuiltModel
) -> None:
    # Given v1 in production and v2 as a candidate with no traffic
    registrar.register("fraud", classifier, promote=True)
    v2 = registrar.register("fraud", classifier_v2)
    registrar.store.promote("fraud", v2, actor="test", canary_weight=0.0)
    # Then callers can pin either
    pinned = call("POST", "/v1/models/fraud/predict", {"record": RECORDS[0], "version": 2})
    candidate = call(
        "POST", "/v1/models/fraud/predict", {"record": RECORDS[0], "alias": "candidate"}
    )
    production = call("POST", "/v1/models/fraud/predict", {"record": RECORDS[0]})
    assert (pinned.status, pinned.body["version"], pinned.body["served_by"]) == (200, 2, "pinned")
    assert (candidate.body["version"], candidate.body["served_by"]) == (2, "candidate")
    assert (production.body["version"], production.body["served_by"]) == (1, "production")
    [[_, v2_probabilities]] = [raw_onnxruntime(classifier_v2.onnx, RECORDS[:1])]
    returned = list(pinned.body["predictions"][0]["probabilities"].values())
    np.testing.assert_array_equal(np.array(returned, dtype=np.float32), v2_probabilities[0])


def test_rejected_version_cannot_be_pinned(registrar: Registrar, classifier: BuiltModel) -> None:
    registrar.register("fraud", classifier, promote=True)
    v2 = registrar.register("fraud", classifier)
    registrar.store.update_version(
        "fraud", v2, actor="test", status=VersionStatus.REJECTED, reason="gate"
    )
    reply = call("POST", "/v1/models/fraud/predict", {"record": RECORDS[0], "version": v2})
    assert reply.status == 409
    assert "rejected" in reply.body["message"]


def test_unknown_model_is_404_and_no_production_is_503(
    registrar: Registrar, classifier: BuiltModel
) -> None:
    unknown = call("POST", "/v1/models/nope/predict", {"record": RECORDS[0]})
    assert unknown.status == 404
    assert "nope" in unknown.body["message"]
    registrar.register("fraud", classifier)  # registered, never promoted
    waiting = call("POST", "/v1/models/fraud/predict", {"record": RECORDS[0]})
    assert waiting.status == 503
    assert "no production version" in waiting.body["message"]
    missing_version = call("POST", "/v1/models/fraud/predict", {"record": RECORDS[0], "version": 9})
    assert missing_version.status == 404


def test_models_listing_and_description(registrar: Registrar, classifier: BuiltModel) -> None:
    registrar.register("fraud", classifier, promote=True)
    listing = call("GET", "/v1/models")
    assert listing.status == 200
    assert listing.body["models"][0]["name"] == "fraud"
    assert listing.body["models"][0]["production_version"] == 1
    described = call("GET", "/v1/models/fraud")
    assert described.status == 200
    assert described.body["production_version"] == 1
    assert described.body["classes"] == classifier.classes
    assert [f["name"] for f in described.body["feature_schema"]] == ["amount", "age", "country"]
    assert described.body["metrics"] == {"roc_auc": 0.9}
    assert call("GET", "/v1/models/nope").status == 404


def test_health_and_unknown_route() -> None:
    assert call("GET", "/v1/health").body["status"] == "ok"
    missing = call("GET", "/v1/nothing-here")
    assert missing.status == 404
    assert "no route" in missing.body["message"]


def test_openapi_document_describes_the_routes() -> None:
    reply = call("GET", "/v1/openapi.json")
    assert reply.status == 200
    paths = reply.body["paths"]
    assert {"/v1/models/{name}/predict", "/v1/models", "/v1/models/{name}", "/v1/health"} <= set(
        paths
    )
    predict = paths["/v1/models/{name}/predict"]["post"]
    body_ref = predict["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schemas = reply.body["components"]["schemas"]
    assert body_ref.rsplit("/", 1)[-1] in schemas
    assert {"200", "404", "422", "503"} <= set(predict["responses"])
    assert "PredictResponse" in schemas


def test_feedback_is_stored_as_json_lines(registrar: Registrar, classifier: BuiltModel) -> None:
    # Given a prediction that was served
    registrar.register("fraud", classifier, promote=True)
    served = call("POST", "/v1/models/fraud/predict", {"record": RECORDS[0]})
    request_id = served.body["request_id"]
    # When its ground truth arrives
    reply = call(
        "POST", "/v1/models/fraud/feedback", {"items": [{"request_id": request_id, "label": "ok"}]}
    )
    # Then it lands under feedback/<model>/<date>/ as JSON Lines
    assert reply.status == 200, reply.body
    assert reply.body["accepted"] == 1
    key = reply.body["key"]
    assert key.startswith("feedback/fraud/")
    assert key.endswith(".jsonl")
    body = aws.client("s3").get_object(Bucket="serving-data", Key=key)["Body"].read()
    [line] = [json.loads(text) for text in body.decode().splitlines()]
    assert line["request_id"] == request_id
    assert line["label"] == "ok"
    assert line["model"] == "fraud"


def test_bad_feedback_names_the_fields(registrar: Registrar, classifier: BuiltModel) -> None:
    registrar.register("fraud", classifier, promote=True)
    reply = call(
        "POST",
        "/v1/models/fraud/feedback",
        {
            "items": [
                {"request_id": "r-1", "label": "maybe"},
                {"label": "ok"},
                {"request_id": "r-2"},
                {"request_id": "r-3", "record": -1, "label": "ok"},
            ]
        },
    )
    assert reply.status == 422
    faults = {(e["record"], e["field"]) for e in reply.body["errors"]}
    assert faults == {(0, "label"), (1, "request_id"), (2, "label"), (3, "record")}


def test_resolver_route_answers_like_the_fast_path(
    registrar: Registrar, classifier: BuiltModel
) -> None:
    # Given the same predict events, good and bad, sent to both entry paths
    registrar.register("fraud", classifier, promote=True)
    bodies = [{"records": RECORDS}, {"record": {"age": "x"}}, {"record": RECORDS[0], "version": 7}]
    for body in bodies:
        event = proxy_event(
            "POST", "/v1/models/fraud/predict", {"X-Request-Id": "same"}, json.dumps(body)
        )
        fast = call("POST", "/v1/models/fraud/predict", body, headers={"X-Request-Id": "same"})
        # When the resolver handles it directly
        routed = app.resolve(event, LocalLambdaContext())
        # Then status, body and request id header agree
        assert routed["statusCode"] == fast.status
        assert json.loads(routed["body"]) == fast.body
        assert response_headers(routed)["X-Request-Id"] == fast.headers["X-Request-Id"] == "same"
