"""Canary share by request-id hash, shadow scoring, and sampled capture to the data bucket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from onnx_builders import BuiltModel
from serving_harness import FakeClock, Registrar, call

from mlops import aws
from mlops.serving import api
from mlops.settings import get_settings, reset_settings

RECORD = {"amount": 120.0, "age": 45, "country": "fr"}
PREDICT = "/v1/models/fraud/predict"


@pytest.fixture
def capture_rate(request: pytest.FixtureRequest) -> float:
    return float(getattr(request, "param", 0.0))


@pytest.fixture
def serving_with_capture(
    cloud: None,
    clock: FakeClock,
    capture_rate: float,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    monkeypatch.setenv("MLOPS_CAPTURE_SAMPLE_RATE", str(capture_rate))
    reset_settings()
    api.use_service(api.build_service(get_settings(), clock=clock))
    yield
    api.use_service(None)


def predict_as(request_id: str, record: dict[str, Any] = RECORD) -> dict[str, Any]:
    reply = call("POST", PREDICT, {"record": record}, headers={"X-Request-Id": request_id})
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.body
    return body


def captured(prefix: str) -> list[dict[str, Any]]:
    s3 = aws.client("s3")
    listing = s3.list_objects_v2(Bucket="serving-data", Prefix=prefix)
    lines = []
    for item in listing.get("Contents", []):
        body = s3.get_object(Bucket="serving-data", Key=item["Key"])["Body"].read().decode()
        lines.extend(json.loads(line) for line in body.splitlines())
    return lines


@pytest.mark.usefixtures("serving_with_capture")
def test_canary_weight_routes_its_share_the_same_way_every_time(
    registrar: Registrar, classifier: BuiltModel, classifier_v2: BuiltModel
) -> None:
    # Given v1 in production and v2 as a 10% canary
    registrar.register("fraud", classifier, promote=True)
    v2 = registrar.register("fraud", classifier_v2)
    registrar.store.promote("fraud", v2, actor="test", canary_weight=0.1)
    ids = [f"checkout-{i}" for i in range(2_000)]
    # When 2,000 requests arrive, twice with the same request ids
    first = [predict_as(i) for i in ids]
    second = [predict_as(i) for i in ids]
    # Then 10% +- 3% went to the candidate, and each id went the same way both times
    to_candidate = [r for r in first if r["served_by"] == "candidate"]
    assert 140 <= len(to_candidate) <= 260
    assert {r["version"] for r in to_candidate} == {v2}
    assert {r["version"] for r in first if r["served_by"] == "production"} == {1}
    assert [(r["served_by"], r["version"]) for r in first] == [
        (r["served_by"], r["version"]) for r in second
    ]


@pytest.mark.parametrize("capture_rate", [1.0], indirect=True)
@pytest.mark.usefixtures("serving_with_capture")
def test_shadow_returns_production_and_records_both(
    registrar: Registrar,
    classifier: BuiltModel,
    classifier_v2: BuiltModel,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given v2 scoring in shadow next to production v1
    registrar.register("fraud", classifier, promote=True)
    v2 = registrar.register("fraud", classifier_v2)
    registrar.store.promote("fraud", v2, actor="test", shadow=True)
    capsys.readouterr()
    # When a request arrives
    answer = predict_as("shadowed-1")
    # Then production answered, and nothing about the shadow reaches the caller
    assert (answer["version"], answer["served_by"]) == (1, "production")
    assert "shadow" not in answer
    [line] = captured("captures/fraud/")
    pinned_v1 = call("POST", PREDICT, {"record": RECORD, "version": 1}).body
    pinned_v2 = call("POST", PREDICT, {"record": RECORD, "version": v2}).body
    assert answer["predictions"] == pinned_v1["predictions"]
    # And the capture holds both answers
    assert line["request_id"] == "shadowed-1"
    assert line["version"] == 1
    assert line["features"] == RECORD
    assert line["prediction"] == pinned_v1["predictions"][0]
    assert line["shadow"] == {"version": v2, "prediction": pinned_v2["predictions"][0]}
    # And a shadow metric was emitted for the candidate's version
    documents = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    shadow_metrics = [d for d in documents if "ShadowRequests" in d]
    assert [(d["model"], d["version"]) for d in shadow_metrics] == [("fraud", str(v2))]


@pytest.mark.parametrize("capture_rate", [1.0], indirect=True)
@pytest.mark.usefixtures("serving_with_capture")
def test_capture_writes_inputs_and_predictions_as_json_lines(
    registrar: Registrar, regressor: BuiltModel
) -> None:
    registrar.register("fraud", regressor, promote=True)
    records = [RECORD, {**RECORD, "amount": 3.5}]
    reply = call("POST", PREDICT, {"records": records}, headers={"X-Request-Id": "cap-1"})
    assert reply.status == 200
    s3 = aws.client("s3")
    [key] = [o["Key"] for o in s3.list_objects_v2(Bucket="serving-data")["Contents"]]
    assert key.startswith("captures/fraud/")
    assert key.endswith("/cap-1.jsonl")
    lines = captured("captures/fraud/")
    assert [line["record"] for line in lines] == [0, 1]
    assert [line["features"] for line in lines] == records
    assert [line["prediction"] for line in lines] == reply.body["predictions"]


@pytest.mark.parametrize("capture_rate", [0.25], indirect=True)
@pytest.mark.usefixtures("serving_with_capture")
def test_capture_is_sampled_by_request_id(registrar: Registrar, classifier: BuiltModel) -> None:
    registrar.register("fraud", classifier, promote=True)
    for i in range(400):
        predict_as(f"sample-{i}")
    ids = {line["request_id"] for line in captured("captures/fraud/")}
    assert 60 <= len(ids) <= 140
    for request_id in sorted(ids)[:5]:
        predict_as(request_id)  # a replay is captured again, to the same key
    assert {line["request_id"] for line in captured("captures/fraud/")} == ids


@pytest.mark.usefixtures("serving_with_capture")
def test_candidate_that_fails_to_load_gets_no_traffic(
    registrar: Registrar, classifier: BuiltModel
) -> None:
    registrar.register("fraud", classifier, promote=True)
    v2 = registrar.register("fraud", classifier, onnx=b"broken")
    registrar.store.promote("fraud", v2, actor="test", canary_weight=1.0)
    assert {predict_as(f"r{i}")["version"] for i in range(20)} == {1}
    pinned = call("POST", PREDICT, {"record": RECORD, "alias": "candidate"})
    assert pinned.status == 503
    assert "candidate version 2 cannot serve" in pinned.body["message"]
