"""EMF documents written to stdout by in-process Lambdas become CloudWatch metrics locally."""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from mlops.local import LocalCloud
from mlops.serving.telemetry import Telemetry, emf_document

HERE = "test_local_metrics"
AT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)  # CloudWatch takes 14 days


# ---- handlers the tests invoke in the local cloud (by module path, as Lambda would) -----------
def serving_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Writes what the score function writes for one answered canary request."""
    Telemetry().prediction(
        event["model"],
        3,
        latency_ms=event["latency_ms"],
        predictions=[{"value": 1.5}],
        classes=None,
        canary_failed=False,
    )
    return {}


def powertools_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Publishes like a Powertools Metrics user: print() of the flushed document."""
    metrics = Metrics(namespace="MLOps", service="mlops")
    metrics.add_dimension("model", event["model"])
    metrics.add_metric("DriftMaxPSI", MetricUnit.NoUnit, event["psi"])
    metrics.set_timestamp(datetime.fromisoformat(event["time"]))
    metrics.flush_metrics()
    return {}


def printing_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Writes the given lines as they are, in pieces, as print() does."""
    for line in event["lines"]:
        print(line)
    sys.stdout.write(event.get("tail", ""))
    return {}


# ---- helpers ----------------------------------------------------------------------------------
def metric_sets(cloud: LocalCloud, name: str) -> list[dict[str, str]]:
    """The distinct dimension sets of a metric, smallest first."""
    listed = cloud.client("cloudwatch").list_metrics(Namespace="MLOps", MetricName=name)
    distinct = {tuple((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in listed["Metrics"]}
    return [dict(items) for items in sorted(distinct, key=lambda items: (len(items), items))]


def statistics(
    cloud: LocalCloud, name: str, dimensions: dict[str, str], at: datetime
) -> list[dict[str, Any]]:
    response = cloud.client("cloudwatch").get_metric_statistics(
        Namespace="MLOps",
        MetricName=name,
        Dimensions=[{"Name": key, "Value": value} for key, value in dimensions.items()],
        StartTime=at - timedelta(minutes=1),
        EndTime=at + timedelta(minutes=1),
        Period=120,
        Statistics=["Sum", "SampleCount", "Maximum"],
    )
    return list(response["Datapoints"])


# ---- tests ------------------------------------------------------------------------------------
def test_serving_telemetry_becomes_metrics_with_every_dimension_set(cloud: LocalCloud) -> None:
    # When the score function's telemetry runs in the local cloud, twice
    for latency in (2.0, 4.0):
        cloud.invoke(f"{HERE}.serving_handler", {"model": "churn", "latency_ms": latency})
    now = datetime.now(UTC)

    # Then each metric exists with each of its document's dimension sets, and no other
    assert metric_sets(cloud, "Latency") == [
        {"model": "churn", "service": "mlops"},
        {"model": "churn", "version": "3", "service": "mlops"},
    ]
    assert metric_sets(cloud, "Fault") == [{"model": "churn", "service": "mlops"}]
    assert metric_sets(cloud, "CanaryFailed") == [{"model": "churn", "service": "mlops"}]
    # (moto's statistics match any superset of the dimensions asked for: ask for the largest)
    (latency,) = statistics(
        cloud, "Latency", {"model": "churn", "version": "3", "service": "mlops"}, now
    )
    assert (latency["SampleCount"], latency["Sum"], latency["Maximum"]) == (2.0, 6.0, 4.0)
    assert latency["Unit"] == "Milliseconds"
    (fault,) = statistics(cloud, "Fault", {"model": "churn", "service": "mlops"}, now)
    assert (fault["SampleCount"], fault["Sum"], fault["Unit"]) == (2.0, 0.0, "Count")


def test_powertools_metrics_keep_the_documents_timestamp(cloud: LocalCloud) -> None:
    # When a handler publishes with Powertools, stamped with a schedule event's time
    cloud.invoke(
        f"{HERE}.powertools_handler", {"model": "fraud", "psi": 0.31, "time": AT.isoformat()}
    )

    # Then the datapoint is at that time, with the document's dimensions
    (point,) = statistics(cloud, "DriftMaxPSI", {"model": "fraud", "service": "mlops"}, AT)
    assert point["Maximum"] == 0.31
    assert point["Timestamp"] == AT
    assert statistics(cloud, "DriftMaxPSI", {"model": "fraud"}, AT + timedelta(hours=1)) == []


def test_output_passes_through_unchanged_and_bad_documents_are_skipped(cloud: LocalCloud) -> None:
    # Given output that mixes plain text, EMF (one metric with an array of values and two
    # dimension sets), a document that only looks like EMF, a broken line and a partial line
    emf = emf_document({"model": "churn"}, [("Records", "Count", 0.0)], int(AT.timestamp() * 1e3))
    emf["Records"] = [1.0, 2.0, "three"]
    emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = [["model"], ["model", "absent"]]
    lines = [
        "plain text",
        json.dumps(emf),
        json.dumps({"_aws": {"CloudWatchMetrics": "no"}, "Records": 9}),
        '{"_aws": broken',
    ]
    out = io.StringIO()

    # When a handler writes it
    with redirect_stdout(out):
        cloud.invoke(f"{HERE}.printing_handler", {"lines": lines, "tail": "no newline"})

    # Then every character reached the stream it was written to, in order
    assert out.getvalue() == "\n".join(lines) + "\nno newline"
    # And the EMF document gave one datapoint per numeric value, for its complete dimension set
    assert metric_sets(cloud, "Records") == [{"model": "churn"}]
    (point,) = statistics(cloud, "Records", {"model": "churn"}, AT)
    assert (point["SampleCount"], point["Sum"]) == (2.0, 3.0)


def test_stdout_is_restored_when_the_cloud_stops(tiny_template: dict[str, Any]) -> None:
    before = sys.stdout
    with LocalCloud(tiny_template, stack="LocalCloudTest") as local:
        assert local.metrics.ingested == 0
        local.invoke(f"{HERE}.serving_handler", {"model": "churn", "latency_ms": 1.0})
        assert local.metrics.ingested > 0
    assert sys.stdout is before
