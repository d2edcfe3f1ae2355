"""EventBridge rules: uploads under training/, retrain alarms, per-model schedules."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import Synth


def _rules_by_source(synth: Synth) -> dict[str, list[dict[str, Any]]]:
    """The rules that target the trigger function, by event source."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for rule in synth.resources("AWS::Events::Rule").values():
        if not _targets_trigger(synth, rule["Properties"]):
            continue
        pattern = rule["Properties"].get("EventPattern")
        source = pattern["source"][0] if pattern else "schedule"
        by_source.setdefault(source, []).append(rule["Properties"])
    return by_source


def _targets_trigger(synth: Synth, rule: dict[str, Any]) -> bool:
    trigger_id, _ = synth.function("trigger")
    return [target["Arn"] for target in rule["Targets"]] == [{"Fn::GetAtt": [trigger_id, "Arn"]}]


def test_uploads_under_training_in_the_data_bucket_start_training(synth: Synth) -> None:
    (rule,) = _rules_by_source(synth)["aws.s3"]
    data_id = synth.logical_id("AWS::S3::Bucket", "DataBucket")
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [{"Ref": data_id}]},
            "object": {"key": [{"prefix": "training/"}]},
        },
    }
    assert _targets_trigger(synth, rule)


def test_retrain_alarms_entering_alarm_start_training(synth: Synth) -> None:
    (rule,) = _rules_by_source(synth)["aws.cloudwatch"]
    assert rule["EventPattern"] == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {
            "state": {"value": ["ALARM"]},
            "alarmName": [{"wildcard": "mlops/*/retrain/*"}],
        },
    }
    assert _targets_trigger(synth, rule)


def test_one_schedule_per_scheduled_model_with_the_documented_input(synth: Synth) -> None:
    # Given churn has a schedule and price has none (tests' cdk context)
    schedules = _rules_by_source(synth)["schedule"]
    (rule,) = schedules
    assert rule["ScheduleExpression"] == "rate(1 day)"
    assert _targets_trigger(synth, rule)
    transformer = rule["Targets"][0]["InputTransformer"]
    assert transformer["InputPathsMap"] == {"time": "$.time"}
    # When EventBridge substitutes the event time into the template
    rendered = transformer["InputTemplate"].replace("<time>", '"2026-01-01T00:00:00Z"')
    # Then the trigger receives exactly the documented schedule message
    assert json.loads(rendered) == {
        "source": "mlops.schedule",
        "model": "churn",
        "time": "2026-01-01T00:00:00Z",
    }


def test_eventbridge_may_invoke_the_trigger(synth: Synth) -> None:
    trigger_id, _ = synth.function("trigger")
    permissions = [
        permission["Properties"]
        for permission in synth.resources("AWS::Lambda::Permission").values()
        if permission["Properties"]["Principal"] == "events.amazonaws.com"
        and permission["Properties"]["FunctionName"] == {"Fn::GetAtt": [trigger_id, "Arn"]}
    ]
    assert len(permissions) == 3
