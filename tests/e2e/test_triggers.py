"""Alarms, schedules and the CLI start runs too; unknown models start nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from e2e_platform import SCHEDULED_MODEL, Platform

from mlops.cli import main
from mlops.local.demo_data import make_rows, to_csv
from mlops.registry import RunStatus, TriggerKind


def test_an_alarm_for_a_model_starts_a_retraining_run(platform: Platform) -> None:
    # Given a model with data, and a retrain alarm on a quality metric
    platform.put_spec("fraud", "binary")
    platform.upload_and_wait("training/fraud/day1.csv", to_csv(make_rows("binary", 200, seed=1)))
    cloudwatch = platform.cloud.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="mlops/fraud/retrain/quality",
        Namespace="MLOps",
        MetricName="LiveAccuracy",
        Dimensions=[{"Name": "Model", "Value": "fraud"}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0.8,
        ComparisonOperator="LessThanThreshold",
        TreatMissingData="notBreaching",
    )
    before = len(platform.cloud.executions())

    # When quality drops below the threshold and the alarm is evaluated
    now = datetime.now(UTC)
    cloudwatch.put_metric_data(
        Namespace="MLOps",
        MetricData=[
            {
                "MetricName": "LiveAccuracy",
                "Dimensions": [{"Name": "Model", "Value": "fraud"}],
                "Value": 0.5,
                "Timestamp": now - timedelta(seconds=30),
            }
        ],
    )
    events = platform.cloud.evaluate_alarms(now)

    # Then the alarm's state change started a run on the newest data, which completes
    assert [e["detail"]["state"]["value"] for e in events] == ["ALARM"]
    executions = platform.cloud.executions()
    assert len(executions) == before + 1
    [started] = [e for e in executions if e["name"].startswith("fraud-alarm-")]
    execution = platform.wait(started["executionArn"])
    run = platform.run_of(execution)
    assert run.trigger.kind is TriggerKind.ALARM
    assert run.data_uri.endswith("training/fraud/day1.csv")
    assert run.status in {RunStatus.SUCCEEDED, RunStatus.REJECTED}


def test_the_model_schedule_fires_on_tick(platform: Platform) -> None:
    # Given the configured schedule (cdk.json models[].schedule) and data for the model
    platform.put_spec(SCHEDULED_MODEL, "regression")
    platform.upload_and_wait(
        f"training/{SCHEDULED_MODEL}/day1.csv", to_csv(make_rows("regression", 200, seed=1))
    )
    before = {e["executionArn"] for e in platform.cloud.executions()}

    # When a day passes on the local clock
    platform.cloud.tick(platform.cloud.clock_start + timedelta(days=1, minutes=1))

    # Then the schedule rule started a run on the newest data
    [new] = [e for e in platform.cloud.executions() if e["executionArn"] not in before]
    execution = platform.wait(new["executionArn"])
    run = platform.run_of(execution)
    assert run.trigger.kind is TriggerKind.SCHEDULE
    assert run.status in {RunStatus.SUCCEEDED, RunStatus.REJECTED}


def test_cli_specs_train_wait_and_runs(
    platform: Platform, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_file = tmp_path / "churn.yaml"
    spec_file.write_text(
        "name: churn\ntask: multiclass\ntarget: label\n"
        "features:\n  - {name: x1, type: numeric}\n  - {name: x2, type: numeric}\n"
        "  - {name: x3, type: numeric}\n  - {name: color, type: categorical}\n"
        "estimator: {kind: random_forest, params: {n_estimators: 10}}\n"
    )
    assert main(["specs", "put", str(spec_file)]) == 0
    assert main(["specs", "show", "churn"]) == 0
    assert '"random_forest"' in capsys.readouterr().out
    # a manual run needs data somewhere in S3; put it outside training/ so no upload run starts
    data_uri = platform.cloud.upload("manual/churn.csv", to_csv(make_rows("multiclass", 300)))
    assert platform.cloud.executions() == []

    assert main(["train", "churn", "--data", data_uri, "--wait"]) == 0
    output = capsys.readouterr().out
    assert "status:   succeeded" in output
    assert "version:  1" in output
    for step in ("validate", "train", "evaluate", "gate", "finalize"):
        assert f"\n{step} " in output

    assert main(["runs", "list", "churn"]) == 0
    listing = capsys.readouterr().out
    assert "succeeded" in listing
    assert "manual" in listing


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "ghost", "--data", "s3://nowhere/x.csv"], "unknown model 'ghost'"),
        (["runs", "show", "nope"], "run 'nope' not found"),
        (["runs", "list", "ghost"], "model 'ghost' not found"),
        (["specs", "show", "ghost"], "model 'ghost' not found"),
    ],
)
def test_cli_errors_are_one_line(
    platform: Platform, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert message in error
