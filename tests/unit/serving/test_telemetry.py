"""EMF documents: the fast renderer writes exactly the document emf_document describes."""

from __future__ import annotations

import json

import pytest

from mlops.serving.telemetry import Telemetry, emf_document, prediction_summary


def test_rendered_line_equals_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry = Telemetry()
    predictions = [
        {"label": "ok", "probabilities": {"fraud": 0.25, "ok": 0.75}},
        {"label": "fraud", "probabilities": {"fraud": 0.75, "ok": 0.25}},
    ]
    for latency in (1.5, 2.5):  # the second line comes from the cached template
        telemetry.prediction(
            "fraud", 3, latency_ms=latency, predictions=predictions, classes=["fraud", "ok"]
        )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for line, latency in zip(lines, (1.5, 2.5), strict=True):
        expected = emf_document(
            {"model": "fraud", "version": "3"},
            [
                ("Requests", "Count", 1.0),
                ("Records", "Count", 2.0),
                ("Latency", "Milliseconds", latency),
                ("Score", "None", 0.5),
            ],
            line["_aws"]["Timestamp"],
            [("Latency", "Milliseconds", latency), ("Fault", "Count", 0.0)],
        )
        assert line == expected
    by_version, by_model = lines[0]["_aws"]["CloudWatchMetrics"]
    assert by_version["Dimensions"] == [["model", "version", "service"]]
    assert by_model["Dimensions"] == [["model", "service"]]
    assert [m["Name"] for m in by_model["Metrics"]] == ["Latency", "Fault"]


def test_non_finite_values_are_left_out_of_the_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    Telemetry().prediction(
        "m1", 1, latency_ms=1.0, predictions=[{"value": float("inf")}], classes=None
    )
    line = json.loads(capsys.readouterr().out)
    names = [m["Name"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert names == ["Requests", "Records", "Latency"]
    assert line["Fault"] == 0.0
    assert "Prediction" not in line


def test_errors_and_load_failures(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry = Telemetry()
    telemetry.error("ValidationError", "fraud")
    telemetry.error("NotFound", None)
    telemetry.load_failure("fraud", 4)
    first, second, third = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert (first["model"], first["kind"], first["Errors"]) == ("fraud", "ValidationError", 1.0)
    assert second["model"] == "unknown"
    assert (third["model"], third["version"], third["ModelLoadFailures"]) == ("fraud", "4", 1.0)


def test_prediction_summaries() -> None:
    assert prediction_summary([{"value": 1.0}, {"value": 3.0}], None) == [
        ("Prediction", "None", 2.0)
    ]
    multiclass = [{"label": "a"}, {"label": "b"}, {"label": "a"}]
    assert sorted(prediction_summary(multiclass, ["a", "b", "c"])) == [
        ("Class_a", "Count", 2.0),
        ("Class_b", "Count", 1.0),
    ]
    assert prediction_summary([], ["a"]) == []


def test_labels_needing_json_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    predictions = [{"label": 'a"{b}'}, {"label": "c\\d"}, {"label": 'a"{b}'}]
    classes = ['a"{b}', "c\\d", "e"]
    Telemetry().prediction("m1", 2, latency_ms=0.5, predictions=predictions, classes=classes)
    line = json.loads(capsys.readouterr().out)
    assert (line['Class_a"{b}'], line["Class_c\\d"]) == (2.0, 1.0)
    assert line == emf_document(
        {"model": "m1", "version": "2"},
        [
            ("Requests", "Count", 1.0),
            ("Records", "Count", 3.0),
            ("Latency", "Milliseconds", 0.5),
            *prediction_summary(predictions, classes),
        ],
        line["_aws"]["Timestamp"],
        [("Latency", "Milliseconds", 0.5), ("Fault", "Count", 0.0)],
    )


def test_faults_and_canary_outcomes_are_published_per_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a telemetry that already rendered each kind of line once (templates cached)
    telemetry = Telemetry()
    predictions = [{"value": 2.0}]
    for _ in range(2):
        # When a canary request is answered by the candidate, then one by production after the
        # candidate failed, a request is refused (422) and one fails (503)
        telemetry.prediction(
            "m1", 2, latency_ms=1.0, predictions=predictions, classes=None, canary_failed=False
        )
        telemetry.prediction(
            "m1", 1, latency_ms=3.0, predictions=predictions, classes=None, canary_failed=True
        )
        telemetry.error("ValidationError", "m1", fault=False)
        telemetry.error("ModelUnavailable", "m1", fault=True)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    # Then each line carries the model-level values the alarms read, with {model, service}
    assert [(x.get("CanaryFailed"), x["Fault"]) for x in lines] == [
        (0.0, 0.0),
        (1.0, 0.0),
        (None, 0.0),
        (None, 1.0),
    ] * 2
    for line in lines:
        by_model = line["_aws"]["CloudWatchMetrics"][-1]
        assert by_model["Dimensions"] == [["model", "service"]]
        assert {m["Name"] for m in by_model["Metrics"]} <= {"Latency", "Fault", "CanaryFailed"}
    assert lines[1] == emf_document(
        {"model": "m1", "version": "1"},
        [("Requests", "Count", 1.0), ("Records", "Count", 1.0),
         ("Latency", "Milliseconds", 3.0), ("Prediction", "None", 2.0)],
        lines[1]["_aws"]["Timestamp"],
        [("Latency", "Milliseconds", 3.0), ("Fault", "Count", 0.0),
         ("CanaryFailed", "Count", 1.0)],
    )  # fmt: skip
    # And an error without a fault flag (not a predict request) publishes no Fault
    telemetry.error("NotFound", None)
    (other,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert "Fault" not in other
    assert len(other["_aws"]["CloudWatchMetrics"]) == 1
