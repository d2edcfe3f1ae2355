"""The monitor Lambda end to end on moto: traffic and feedback through the real score API
(which captures every request with the serving Recorder), then schedule ticks."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from monitoring_harness import AMOUNT_SD, DATA, MODEL, Traffic, draw
from serving_harness import call

from mlops import aws
from mlops.handlers.monitor import handler
from mlops.monitoring.monitor import MonitorEventError
from mlops.serving.local_server import LocalLambdaContext

TICK = "2026-12-04T13:00:00Z"
TICK_MS = 1_796_389_200_000


def tick(time: str = TICK, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = handler(
        {"source": "mlops.monitor", "time": time, **extra}, LocalLambdaContext()
    )
    return result


def emf(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF documents written to stdout since the last call."""
    lines = capsys.readouterr().out.splitlines()
    return [doc for doc in map(json.loads, lines) if "_aws" in doc]


def metric(documents: list[dict[str, Any]], name: str, **dimensions: str) -> list[float]:
    """Values of `name` in documents whose dimension set is exactly dimensions + service."""
    wanted = sorted([*dimensions, "service"])
    values = []
    for doc in documents:
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        names = [m["Name"] for m in directive["Metrics"]]
        if name not in names or sorted(directive["Dimensions"][0]) != wanted:
            continue
        if all(doc[key] == value for key, value in dimensions.items()):
            values.append(doc[name])
    return values


def s3_json(key: str) -> dict[str, Any]:
    body = aws.client("s3").get_object(Bucket=DATA, Key=key)["Body"].read()
    document: dict[str, Any] = json.loads(body)
    return document


def test_traffic_like_training_is_stable(
    traffic: Traffic, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given 250 captured rows drawn from the training distribution
    traffic(draw(250, seed=1))
    capsys.readouterr()

    # When the schedule ticks
    result = tick()

    # Then the model is stable, on 250 rows of production version 1
    [summary] = result["models"]
    assert (summary["model"], summary["verdict"], summary["rows"]) == (MODEL, "stable", 250)
    documents = emf(capsys)
    [max_psi] = metric(documents, "DriftMaxPSI", model=MODEL)
    assert max_psi < 0.1
    assert metric(documents, "DriftRows", model=MODEL) == [250]
    assert metric(documents, "DriftedFeatureShare", model=MODEL) == [0.0]
    # And per-feature PSI (and KS for numbers), all timestamped with the tick's time
    assert len(metric(documents, "PSI", model=MODEL, feature="amount")) == 1
    assert len(metric(documents, "KS", model=MODEL, feature="age")) == 1
    assert metric(documents, "KS", model=MODEL, feature="country") == []
    assert {doc["_aws"]["Timestamp"] for doc in documents} == {TICK_MS}
    assert {doc["service"] for doc in documents} == {"mlops"}
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in documents} == {"MLOps"}
    # And the report, its HTML page and latest.json are in the data bucket
    latest = s3_json(f"monitoring/{MODEL}/latest.json")
    assert latest["verdict"] == "stable"
    assert latest["report"]["json"] == summary["report"]
    report = s3_json(latest["report"]["json"].split(f"{DATA}/", 1)[1])
    assert [v["version"] for v in report["versions"]] == [1]
    html_key = latest["report"]["html"].split(f"{DATA}/", 1)[1]
    page = aws.client("s3").get_object(Bucket=DATA, Key=html_key)["Body"].read().decode()
    assert page.count("<svg") == 3


def test_a_two_sd_shift_in_one_feature_drifts(
    traffic: Traffic, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given captured rows whose amount moved by two standard deviations
    traffic(draw(250, seed=2, amount_shift=2 * AMOUNT_SD))
    capsys.readouterr()

    result = tick()

    # Then the verdict is drifted, amount is the drifted feature, the alarm metric >= 0.2
    assert result["models"][0]["verdict"] == "drifted"
    documents = emf(capsys)
    assert metric(documents, "DriftMaxPSI", model=MODEL)[0] >= 0.2
    assert metric(documents, "DriftedFeatureShare", model=MODEL) == [pytest.approx(1 / 3)]
    assert metric(documents, "PSI", model=MODEL, feature="amount")[0] >= 0.2
    assert metric(documents, "PSI", model=MODEL, feature="age")[0] < 0.1
    latest = s3_json(f"monitoring/{MODEL}/latest.json")
    assert latest["top_features"][0]["name"] == "amount"
    assert latest["top_features"][0]["status"] == "drifted"


def test_each_tick_reads_only_what_is_new(
    traffic: Traffic, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a first tick over 250 rows
    traffic(draw(250, seed=3))
    assert tick("2026-12-04T13:00:00Z")["models"][0]["rows"] == 250
    capsys.readouterr()

    # When the same event is delivered again: nothing is redone
    again = tick("2026-12-04T13:00:00Z")
    assert again["models"][0]["outcome"] == "already monitored"
    assert emf(capsys) == []

    # When the next tick finds no new captures: no verdict, no drift metrics, said so
    quiet = tick("2026-12-04T14:00:00Z")["models"][0]
    assert (quiet["verdict"], quiet["rows"]) == ("no verdict", 0)
    assert metric(emf(capsys), "DriftMaxPSI", model=MODEL) == []
    latest = s3_json(f"monitoring/{MODEL}/latest.json")
    assert latest["window"]["start"] == "2026-12-04T13:00:00Z"
    assert "served no captured rows" in latest["reason"]

    # And new traffic after that is counted once, in the tick after it
    traffic(draw(220, seed=4))
    assert tick("2026-12-04T15:00:00Z")["models"][0]["rows"] == 220


def test_too_few_rows_give_no_verdict_and_no_alarm_metric(
    traffic: Traffic, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic(draw(120, seed=5, amount_shift=2 * AMOUNT_SD))
    capsys.readouterr()

    summary = tick()["models"][0]

    assert (summary["verdict"], summary["rows"]) == ("no verdict", 120)
    assert metric(emf(capsys), "DriftMaxPSI", model=MODEL) == []
    latest = s3_json(f"monitoring/{MODEL}/latest.json")
    assert "too few rows for a verdict: 120, at least 200" in latest["reason"]
    # And the event may lower the minimum (e.g. for a quiet model)
    traffic(draw(120, seed=6, amount_shift=2 * AMOUNT_SD))
    assert tick("2026-12-04T14:00:00Z", min_rows=100)["models"][0]["verdict"] == "drifted"


def test_feedback_gives_live_quality(traffic: Traffic, capsys: pytest.CaptureFixture[str]) -> None:
    # Given 20 single-record requests and one of 2 records
    answers = traffic(draw(20, seed=7), per_request=1)
    pair = traffic(draw(2, seed=8), per_request=2)[0]
    # And feedback: the first 15 answers confirmed, the last 5 contradicted, plus the pair
    items = []
    for index, answer in enumerate(answers):
        label = answer["predictions"][0]["label"]
        if index >= 15:
            label = "ok" if label == "fraud" else "fraud"
        items.append({"request_id": answer["request_id"], "label": label})
    items.append({"request_id": pair["request_id"], "label": "ok"})
    reply = call("POST", f"/v1/models/{MODEL}/feedback", {"items": items})
    assert reply.status == 200, reply.body
    capsys.readouterr()

    tick()

    # Then accuracy 15/20 over the 20 joined rows, overall and for the production alias
    documents = emf(capsys)
    assert metric(documents, "LiveAccuracy", model=MODEL) == [0.75]
    assert metric(documents, "LiveAccuracy", model=MODEL, alias="production") == [0.75]
    assert metric(documents, "LiveQualityRows", model=MODEL) == [20]
    assert len(metric(documents, "LiveF1", model=MODEL)) == 1
    quality = s3_json(f"monitoring/{MODEL}/latest.json")["quality"]
    assert (quality["feedback"], quality["matched"], quality["unmatched"]) == (21, 20, 1)
    assert quality["unmatched_reasons"] == {"several records": 1}


def test_feedback_names_records_of_multi_record_requests(
    traffic: Traffic, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given 3 requests of 4 records each
    answers = traffic(draw(12, seed=10), per_request=4)
    # And feedback per record: 10 confirmed, 2 contradicted, plus one record that does not exist
    items = []
    for answer in answers:
        for record, prediction in enumerate(answer["predictions"]):
            items.append({"request_id": answer["request_id"], "record": record,
                          "label": prediction["label"]})  # fmt: skip
    for item in items[-2:]:
        item["label"] = "ok" if item["label"] == "fraud" else "fraud"
    items.append({"request_id": answers[0]["request_id"], "record": 4, "label": "ok"})
    assert call("POST", f"/v1/models/{MODEL}/feedback", {"items": items}).status == 200
    capsys.readouterr()

    tick()

    # Then the 12 records are joined one by one: accuracy 10/12
    documents = emf(capsys)
    assert metric(documents, "LiveQualityRows", model=MODEL) == [12]
    assert metric(documents, "LiveAccuracy", model=MODEL) == [pytest.approx(10 / 12)]
    quality = s3_json(f"monitoring/{MODEL}/latest.json")["quality"]
    assert quality["unmatched_reasons"] == {"no such record": 1}


def test_feedback_finds_captures_of_earlier_windows(
    traffic: Traffic, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given requests captured and monitored in one tick
    answers = traffic(draw(3, seed=9), per_request=1)
    tick("2026-12-04T13:00:00Z")
    # When their feedback arrives before the next tick
    items = [
        {"request_id": a["request_id"], "label": a["predictions"][0]["label"]} for a in answers
    ]
    assert call("POST", f"/v1/models/{MODEL}/feedback", {"items": items}).status == 200
    capsys.readouterr()
    tick("2026-12-04T14:00:00Z")

    # Then the monitor reads the captures back from S3 to join them
    assert metric(emf(capsys), "LiveAccuracy", model=MODEL) == [1.0]


def test_models_without_production_are_skipped(store: Any) -> None:
    store.create_model("idle", actor="test")

    result = tick(model="idle")

    assert result["models"] == [
        {"model": "idle", "outcome": "skipped", "reason": "no production version"}
    ]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"source": "aws.events", "time": TICK}, "source"),
        ({"source": "mlops.monitor", "time": "yesterday"}, "time"),
        ({"source": "mlops.monitor", "time": "2026-12-04T13:00:00"}, "time"),
        ({"source": "mlops.monitor", "time": TICK, "min_rows": 0}, "min_rows"),
        ({"source": "mlops.monitor", "time": TICK, "model": 3}, "model"),
    ],
)
def test_a_bad_event_is_refused_naming_the_field(
    cloud: None, event: dict[str, Any], field: str
) -> None:
    with pytest.raises(MonitorEventError, match=f"^{field}"):
        handler(event, LocalLambdaContext())


def test_the_monitor_imports_no_training_stack() -> None:
    program = (
        "import json, sys\nimport mlops.handlers.monitor\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(completed.stdout))
    assert loaded.isdisjoint({"sklearn", "scipy", "pandas", "skl2onnx"})
