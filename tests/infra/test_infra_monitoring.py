"""Monitoring: the monitor function and schedule, and every alarm of the contract per model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import TEST_CONFIG, synthesize

from infra.constructs.monitoring import schedule_period

if TYPE_CHECKING:
    from conftest import Synth

MONITORED_CONFIG: dict[str, Any] = {
    **TEST_CONFIG,
    "models": [
        {
            "name": "churn",
            "monitoring": {
                "drift_psi_alarm": 0.25,
                "quality_metric": "f1",
                "quality_threshold": 0.7,
                "error_rate_alarm": 0.02,
                "latency_p99_ms_alarm": 250,
                "canary_error_rate_alarm": 0.1,
            },
        },
        {"name": "price", "monitoring": {"quality_metric": "mae", "quality_threshold": 12.5}},
        {"name": "plain"},
    ],
    "monitoring": {"schedule": "rate(30 minutes)", "guard_schedule": "rate(5 minutes)"},
}
TRAINING_ALARM = "mlops/training/failures"


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-monitoring"), MONITORED_CONFIG)


def alarms(synth: Synth) -> dict[str, dict[str, Any]]:
    return {
        alarm["Properties"]["AlarmName"]: alarm["Properties"]
        for alarm in synth.resources("AWS::CloudWatch::Alarm").values()
    }


def dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {item["Name"]: item["Value"] for item in alarm.get("Dimensions", [])}


def shape(alarm: dict[str, Any]) -> tuple[Any, ...]:
    """(metric, statistic, comparison, threshold, period, evaluation periods, to alarm)."""
    return (
        alarm["MetricName"],
        alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
        alarm["ComparisonOperator"],
        alarm["Threshold"],
        alarm["Period"],
        alarm["EvaluationPeriods"],
        alarm["DatapointsToAlarm"],
    )


def test_every_model_gets_the_contracts_alarms_and_quality_only_when_configured(
    monitored: Synth,
) -> None:
    expected = {TRAINING_ALARM}
    for model in ("churn", "price", "plain"):
        expected |= {
            f"mlops/{model}/retrain/drift",
            f"mlops/{model}/serving/errors",
            f"mlops/{model}/serving/latency-p99",
            f"mlops/{model}/guard/errors",
        }
    for model in ("churn", "price"):  # "plain" sets no quality_threshold
        expected |= {f"mlops/{model}/retrain/quality", f"mlops/{model}/guard/quality"}
    assert set(alarms(monitored)) == expected


def test_alarms_follow_each_models_thresholds(monitored: Synth) -> None:
    found = alarms(monitored)
    ge, gt, lt = (
        "GreaterThanOrEqualToThreshold",
        "GreaterThanThreshold",
        "LessThanThreshold",
    )
    window = 1_800  # the monitor's rate(30 minutes)
    assert shape(found["mlops/churn/retrain/drift"]) == (
        "DriftMaxPSI",
        "Maximum",
        ge,
        0.25,
        window,
        1,
        1,
    )
    assert shape(found["mlops/plain/retrain/drift"])[3] == 0.2  # the documented default
    assert shape(found["mlops/churn/serving/errors"]) == ("Fault", "Average", ge, 0.02, 60, 5, 3)
    assert shape(found["mlops/churn/serving/latency-p99"]) == ("Latency", "p99", ge, 250, 60, 5, 3)
    assert shape(found["mlops/churn/guard/errors"]) == (
        "CanaryFailed",
        "Average",
        ge,
        0.1,
        60,
        3,
        1,
    )
    assert shape(found["mlops/churn/retrain/quality"]) == (
        "LiveF1",
        "Minimum",
        lt,
        0.7,
        window,
        1,
        1,
    )
    assert shape(found["mlops/price/retrain/quality"]) == (
        "LiveMAE",
        "Maximum",
        gt,
        12.5,
        window,
        1,
        1,
    )
    assert shape(found["mlops/price/guard/quality"]) == (
        "LiveMAE",
        "Maximum",
        gt,
        12.5,
        window,
        1,
        1,
    )
    for name, alarm in found.items():
        if name == TRAINING_ALARM:
            continue
        model = name.split("/")[1]
        assert alarm["Namespace"] == "MLOps"
        expected = {"model": model, "service": "mlops"}
        if name.endswith("guard/quality"):
            expected["alias"] = "candidate"  # the candidate's own live quality
        assert dimensions(alarm) == expected, name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert "Unit" not in alarm  # every unit the publishers use counts


def test_the_training_alarm_watches_the_training_state_machine(monitored: Synth) -> None:
    alarm = alarms(monitored)[TRAINING_ALARM]
    machine = monitored.logical_id("AWS::StepFunctions::StateMachine", "Training")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/States",
        "ExecutionsFailed",
        "Sum",
    )
    assert dimensions(alarm) == {"StateMachineArn": {"Ref": machine}}
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_every_alarm_notifies_the_topic_and_serving_alarms_their_recovery(
    monitored: Synth,
) -> None:
    topic = {"Ref": monitored.logical_id("AWS::SNS::Topic", "Notifications")}
    for name, alarm in alarms(monitored).items():
        assert alarm["AlarmActions"] == [topic], name
        recovers = "/serving/" in name
        assert alarm.get("OKActions", []) == ([topic] if recovers else []), name


def test_the_monitor_runs_on_the_platform_schedule_with_the_documented_input(
    monitored: Synth,
) -> None:
    monitor_id, monitor = monitored.function("monitor")
    (rule,) = [
        rule["Properties"]
        for rule in monitored.resources("AWS::Events::Rule").values()
        if rule["Properties"].get("Targets", [{}])[0].get("Arn")
        == {"Fn::GetAtt": [monitor_id, "Arn"]}
    ]
    assert rule["ScheduleExpression"] == "rate(30 minutes)"
    transformer = rule["Targets"][0]["InputTransformer"]
    assert transformer["InputPathsMap"] == {"time": "$.time"}
    rendered = transformer["InputTemplate"].replace("<time>", '"2026-01-01T00:00:00Z"')
    assert json.loads(rendered) == {"source": "mlops.monitor", "time": "2026-01-01T00:00:00Z"}
    properties = monitor["Properties"]
    assert (properties["MemorySize"], properties["Timeout"]) == (2048, 300)
    layers = {layer["Ref"].split("Layers")[1].split("Layer")[0] for layer in properties["Layers"]}
    assert layers == {"Base", "Scoring"}


def test_the_monitor_reads_only_what_it_compares_and_writes_only_its_reports(
    monitored: Synth,
) -> None:
    data = monitored.logical_id("AWS::S3::Bucket", "DataBucket")
    artifacts = monitored.logical_id("AWS::S3::Bucket", "ArtifactBucket")
    table = monitored.logical_id("AWS::DynamoDB::Table", "Registry")
    grants = monitored.grants("monitor")
    reads = {r for a, r in grants if a == "s3:GetObject*" and "/*" in r}  # objects, by prefix
    assert len(reads) == 4
    for prefix in ("/captures/*", "/feedback/*", "/monitoring/*"):
        assert any(data in r and prefix in r for r in reads), prefix
    assert any(artifacts in r and "/models/*" in r for r in reads)
    writes = [r for a, r in grants if a == "s3:PutObject"]
    assert len(writes) == 1
    assert data in writes[0]
    assert "/monitoring/*" in writes[0]
    table_actions = monitored.actions_on("monitor", table)
    assert table_actions
    assert not {
        a for a in table_actions if a.split(":")[1].startswith(("Put", "Update", "Delete", "Batch"))
    } - {"dynamodb:BatchGetItem"}
    assert monitored.services("monitor") <= {"s3", "dynamodb", "logs", "xray"}


def test_the_monitoring_stack_passes_cdk_nag(monitored: Synth) -> None:
    report = monitored.validation_report()
    violations = [v["ruleName"] for p in report["pluginReports"] for v in p["violations"]]
    assert violations == []


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 hour)", 3_600),
        ("rate(15 minutes)", 900),
        ("rate(1 minute)", 60),
        ("rate(1 day)", 86_400),
        ("rate(3 days)", 86_400),  # CloudWatch evaluates at most a day
        ("cron(0 6 * * ? *)", 3_600),  # no fixed interval: one hour
    ],
)
def test_drift_and_quality_periods_cover_one_monitor_interval(
    expression: str, seconds: int
) -> None:
    assert schedule_period(expression).to_seconds() == seconds


def test_the_default_stack_alarms_with_the_default_thresholds(synth: Synth, tmp_path: Path) -> None:
    found = alarms(synth)
    assert shape(found["mlops/churn/retrain/drift"])[3:5] == (0.2, 3_600)  # rate(1 hour)
    assert shape(found["mlops/churn/serving/errors"])[3] == 0.05
    assert shape(found["mlops/churn/serving/latency-p99"])[3] == 1_000
    assert shape(found["mlops/churn/guard/errors"])[3] == 0.05
    assert "mlops/churn/retrain/quality" not in found
