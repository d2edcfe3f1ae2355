"""The post-promotion guard and registry events: rules, IAM, the stream mapping, cdk-nag."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import Synth

READS_AND_WRITES = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"}


def _rules_targeting(synth: Synth, name: str) -> list[dict[str, Any]]:
    function_id, _ = synth.function(name)
    arn = {"Fn::GetAtt": [function_id, "Arn"]}
    return [
        rule["Properties"]
        for rule in synth.resources("AWS::Events::Rule").values()
        if [target["Arn"] for target in rule["Properties"]["Targets"]] == [arn]
    ]


def _table(synth: Synth) -> str:
    return synth.logical_id("AWS::DynamoDB::Table", "Registry")


def test_guard_alarms_entering_alarm_and_the_sweep_schedule_invoke_the_guard(
    synth: Synth,
) -> None:
    alarm_rule, sweep_rule = sorted(
        _rules_targeting(synth, "guard"), key=lambda rule: "ScheduleExpression" in rule
    )
    assert alarm_rule["EventPattern"] == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {
            "state": {"value": ["ALARM"]},
            "alarmName": [{"wildcard": "mlops/*/guard/*"}],
        },
    }
    # The platform default: every 5 minutes, with the documented input
    assert sweep_rule["ScheduleExpression"] == "rate(5 minutes)"
    transformer = sweep_rule["Targets"][0]["InputTransformer"]
    assert transformer["InputPathsMap"] == {"time": "$.time"}
    rendered = transformer["InputTemplate"].replace("<time>", '"2026-01-01T00:00:00Z"')
    assert json.loads(rendered) == {"source": "mlops.guard", "time": "2026-01-01T00:00:00Z"}
    for rule in (alarm_rule, sweep_rule):
        assert rule["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_guard_reads_and_writes_the_registry_reads_alarms_and_notifies(synth: Synth) -> None:
    assert synth.services("guard") == {"dynamodb", "cloudwatch", "sns", "kms", "logs", "xray"}
    assert synth.actions_on("guard", _table(synth)) >= READS_AND_WRITES
    topic = synth.logical_id("AWS::SNS::Topic", "Notifications")
    assert "sns:Publish" in synth.actions_on("guard", topic)
    everywhere = {action for action, resource in synth.grants("guard") if resource == "*"}
    assert everywhere == {"cloudwatch:DescribeAlarms", "xray:PutTraceSegments",
                          "xray:PutTelemetryRecords"}  # fmt: skip


def test_the_registry_table_streams_new_images(synth: Synth) -> None:
    table = synth.template["Resources"][_table(synth)]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_only_new_audit_items_reach_registry_events_with_retries_and_a_failure_queue(
    synth: Synth,
) -> None:
    function_id, _ = synth.function("registry_events")
    (mapping,) = [
        resource["Properties"]
        for resource in synth.resources("AWS::Lambda::EventSourceMapping").values()
        if resource["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [_table(synth), "StreamArn"]}
    [criteria] = mapping["FilterCriteria"]["Filters"]
    assert json.loads(criteria["Pattern"]) == {
        "eventName": ["INSERT"],
        "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "AUDIT#"}]}}},
    }
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    assert 1 <= mapping["BatchSize"] <= 1000
    queue = synth.logical_id("AWS::SQS::Queue", "RegistryEvents")
    assert mapping["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}
    }
    assert synth.template["Resources"][queue]["Properties"]["SqsManagedSseEnabled"] is True


def test_registry_events_may_only_read_the_stream_and_put_events_on_the_default_bus(
    synth: Synth,
) -> None:
    grants = synth.grants("registry_events")
    put_events = [resource for action, resource in grants if action == "events:PutEvents"]
    assert len(put_events) == 1
    assert put_events[0].endswith(':event-bus/default"]]}')
    table_actions = {
        action for action, resource in grants if _table(synth) in resource and "Stream" in resource
    }
    assert table_actions == {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    }
    assert not any(
        action.startswith("dynamodb:") and action != "dynamodb:ListStreams"
        for action, resource in grants
        if "Stream" not in resource
    )
    assert synth.services("registry_events") == {"dynamodb", "events", "sqs", "logs", "xray"}


def _acknowledged(synth: Synth, path_suffix: str) -> dict[str, list[str]]:
    """Acknowledged cdk-nag findings of the construct at path_suffix -> their reasons."""
    metadata = json.loads((synth.outdir / "Mlops.metadata.json").read_text())
    found: dict[str, list[str]] = {}
    for path, entries in metadata.items():
        if path.endswith(path_suffix):
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    for finding, reason in entry["data"].items():
                        found.setdefault(finding, []).append(reason)
    return found


def test_cdk_nag_is_clean_with_each_wildcard_acknowledged_for_its_reason(synth: Synth) -> None:
    # Synthesis fails on any unacknowledged finding (test_infra_compliance); these say why
    rule = "Annotation::AwsSolutions-IAM5[Resource::*]"
    guard = _acknowledged(synth, "/Functions/GuardRole")[rule]
    assert any("DescribeAlarms supports no resource-level" in reason for reason in guard)
    events = _acknowledged(synth, "/Functions/Registry_eventsRole")[rule]
    assert any("ListStreams" in reason for reason in events)
    [queue] = _acknowledged(synth, "/RegistryEvents/Failures")["Annotation::AwsSolutions-SQS3"]
    assert "on-failure destination" in queue
