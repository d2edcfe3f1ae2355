"""A canary candidate that cannot answer never reaches the caller: production answers, the
failure is counted (CanaryFailed) and logged; every predict request counts in Fault."""

from __future__ import annotations

import json
from typing import Any

import onnx
import pytest
from onnx import helper
from onnx_builders import BuiltModel
from serving_harness import Registrar, call

RECORD = {"amount": 120.0, "age": 45, "country": "fr"}
PREDICT = "/v1/models/fraud/predict"


def failing_at_run_time(built: BuiltModel) -> bytes:
    """The regressor's graph with its output reshaped to 7 values: it loads, then every run
    raises inside onnxruntime (an unexpected scoring error, not a request error)."""
    model = onnx.load_from_string(built.onnx)
    graph = model.graph
    for node in graph.node:
        node.output[:] = ["raw_variable" if name == "variable" else name for name in node.output]
    graph.initializer.append(helper.make_tensor("seven", onnx.TensorProto.INT64, [1], [7]))
    graph.node.append(helper.make_node("Reshape", ["raw_variable", "seven"], ["variable"]))
    return model.SerializeToString()


def predict(request_id: str, record: dict[str, Any] = RECORD) -> tuple[int, dict[str, Any]]:
    reply = call("POST", PREDICT, {"record": record}, headers={"X-Request-Id": request_id})
    return reply.status, reply.body


def emitted(out: str) -> list[dict[str, Any]]:
    """The EMF documents written to stdout."""
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [x for x in lines if "_aws" in x]


def per_model(documents: list[dict[str, Any]], name: str) -> list[float]:
    """The values of `name` published with the dimensions {model, service}."""
    values = []
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            names = [metric["Name"] for metric in directive["Metrics"]]
            if directive["Dimensions"] == [["model", "service"]] and name in names:
                values.append(document[name])
    return values


@pytest.mark.usefixtures("serving")
def test_a_candidate_failing_at_run_time_is_answered_for_by_production(
    registrar: Registrar,
    regressor: BuiltModel,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given production v1 and a 100% canary v2 whose scoring raises
    registrar.register("fraud", regressor, promote=True)
    v2 = registrar.register("fraud", regressor, onnx=failing_at_run_time(regressor))
    registrar.store.promote("fraud", v2, actor="test", canary_weight=1.0)
    expected = call("POST", PREDICT, {"record": RECORD, "version": 1}).body["predictions"]
    capsys.readouterr()
    # When requests arrive
    replies = [predict(f"canary-{i}") for i in range(5)]
    # Then production answered every one of them, as if there were no candidate
    assert [status for status, _ in replies] == [200] * 5
    assert {(body["served_by"], body["version"]) for _, body in replies} == {("production", 1)}
    assert all(body["predictions"] == expected for _, body in replies)
    # And each was counted as a canary failure, not as a fault, and logged with its reason
    documents = emitted(capsys.readouterr().out)
    assert per_model(documents, "CanaryFailed") == [1.0] * 5
    assert per_model(documents, "Fault") == [0.0] * 5
    failures = [r for r in caplog.records if r.getMessage().startswith("canary candidate")]
    assert len(failures) == 5
    assert {r.levelname for r in failures} == {"ERROR"}
    first = failures[0].__dict__
    assert (first["candidate_version"], first["production_version"]) == (v2, 1)
    assert "Reshape" in first["error"]


@pytest.mark.usefixtures("serving")
def test_a_candidate_that_failed_to_load_leaves_its_share_to_production(
    registrar: Registrar, classifier: BuiltModel, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a 100% canary whose artifact is not ONNX
    registrar.register("fraud", classifier, promote=True)
    v2 = registrar.register("fraud", classifier, onnx=b"broken")
    registrar.store.promote("fraud", v2, actor="test", canary_weight=1.0)
    capsys.readouterr()
    # When requests arrive, Then production answers them and each counts as a canary failure
    replies = [predict(f"load-{i}") for i in range(4)]
    assert {(status, body["served_by"]) for status, body in replies} == {(200, "production")}
    documents = emitted(capsys.readouterr().out)
    assert per_model(documents, "CanaryFailed") == [1.0] * 4


@pytest.mark.usefixtures("serving")
def test_a_healthy_canary_counts_zero_failures_and_production_traffic_counts_none(
    registrar: Registrar,
    classifier: BuiltModel,
    classifier_v2: BuiltModel,
    capsys: pytest.CaptureFixture[str],
) -> None:
    registrar.register("fraud", classifier, promote=True)
    v2 = registrar.register("fraud", classifier_v2)
    registrar.store.promote("fraud", v2, actor="test", canary_weight=0.5)
    capsys.readouterr()
    replies = [predict(f"healthy-{i}") for i in range(40)]
    to_candidate = [body for _, body in replies if body["served_by"] == "candidate"]
    assert 0 < len(to_candidate) < 40
    documents = emitted(capsys.readouterr().out)
    # one CanaryFailed=0 per request the split sent to the candidate, nothing for the others
    assert per_model(documents, "CanaryFailed") == [0.0] * len(to_candidate)
    assert per_model(documents, "Fault") == [0.0] * 40
    assert len(per_model(documents, "Latency")) == 40


@pytest.mark.usefixtures("serving")
def test_a_record_the_canary_refuses_is_the_callers_error_not_a_candidate_failure(
    registrar: Registrar, classifier: BuiltModel, capsys: pytest.CaptureFixture[str]
) -> None:
    registrar.register("fraud", classifier, promote=True)
    v2 = registrar.register("fraud", classifier)
    registrar.store.promote("fraud", v2, actor="test", canary_weight=1.0)
    capsys.readouterr()
    status, body = predict("bad-1", {**RECORD, "amount": "lots"})
    assert status == 422
    assert "amount" in json.dumps(body)
    documents = emitted(capsys.readouterr().out)
    assert per_model(documents, "CanaryFailed") == []
    assert per_model(documents, "Fault") == [0.0]


@pytest.mark.usefixtures("serving")
def test_a_predict_answered_with_a_5xx_counts_as_a_fault(
    registrar: Registrar, classifier: BuiltModel, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a model with no production version yet
    registrar.register("fraud", classifier)
    capsys.readouterr()
    # When a request arrives, Then it is a 503 and counts as a fault of that model
    status, _ = predict("early-1")
    assert status == 503
    documents = emitted(capsys.readouterr().out)
    assert per_model(documents, "Fault") == [1.0]
    assert {d["model"] for d in documents} == {"fraud"}
