"""`mlops monitor NAME` through the real entry point against moto: the latest drift summary
written by the monitor Lambda, and the model's alarm states."""

from __future__ import annotations

import json
from typing import Any

import pytest
from monitoring_harness import AMOUNT_SD, MODEL, Traffic, draw

from mlops import aws
from mlops.cli import main
from mlops.handlers.monitor import handler
from mlops.serving.local_server import LocalLambdaContext


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def alarm(name: str, state: str) -> None:
    cloudwatch = aws.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="MLOps",
        MetricName="DriftMaxPSI",
        Dimensions=[{"Name": "model", "Value": MODEL}, {"Name": "service", "Value": "mlops"}],
        Statistic="Maximum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=0.2,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"test {state}")


def test_monitor_prints_the_latest_summary_and_alarms(
    traffic: Traffic, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a drifted tick and two alarms of the model (and one of another model)
    traffic(draw(250, seed=11, amount_shift=2 * AMOUNT_SD))
    handler({"source": "mlops.monitor", "time": "2026-12-04T13:00:00Z"}, LocalLambdaContext())
    alarm(f"mlops/{MODEL}/retrain/drift", "ALARM")
    alarm(f"mlops/{MODEL}/serving/errors", "OK")
    alarm("mlops/other/retrain/drift", "ALARM")

    # When the user asks for the model's monitoring state
    code, out, err = run(capsys, "monitor", MODEL)

    # Then the verdict, rows, top features and report URIs are printed
    assert (code, err) == (0, "")
    assert "verdict:" in out
    assert "drifted: 1 of 3 features drifted: amount" in out
    assert "s3://monitor-data/monitoring/fraud/reports/2026-12-04T13-00-00Z/drift.html" in out
    feature_rows = [line.split() for line in out.splitlines() if line.startswith("amount ")]
    assert feature_rows[0][-1] == "drifted"
    # And the model's alarms with their states, not other models'
    alarm_rows = [line.split()[:2] for line in out.splitlines() if line.startswith("mlops/")]
    assert alarm_rows == [
        ["mlops/fraud/retrain/drift", "ALARM"],
        ["mlops/fraud/serving/errors", "OK"],
    ]

    # And --json gives the same as data
    code, out, _ = run(capsys, "monitor", MODEL, "--json")
    document: dict[str, Any] = json.loads(out)
    assert document["latest"]["verdict"] == "drifted"
    assert [a["state"] for a in document["alarms"]] == ["ALARM", "OK"]


def test_monitor_before_any_report(promoted: int, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "monitor", MODEL)

    assert code == 0
    assert "fraud: no monitor report yet" in out
    assert out.strip().endswith("(none)")


def test_monitor_refuses_an_invalid_name(cloud: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "monitor", "Not_A_Model")

    assert code == 1
    assert "invalid model name 'Not_A_Model'" in err
