"""Alarms are evaluated on demand from their metrics and emit real-shaped state-change events."""

from __future__ import annotations

import json
from datetime import timedelta

from mlops.local import LocalCloud

ALARM = "local-test-errors"


def _put_errors(cloud: LocalCloud, value: float, at) -> None:
    cloud.client("cloudwatch").put_metric_data(
        Namespace="MLOps",
        MetricData=[
            {
                "MetricName": "Errors",
                "Dimensions": [{"Name": "Model", "Value": "churn"}],
                "Timestamp": at,
                "Value": value,
            }
        ],
    )


def _alarm_state(cloud: LocalCloud) -> str:
    (alarm,) = cloud.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    return str(alarm["StateValue"])


def test_alarm_driven_into_alarm_emits_its_state_change_to_targets(cloud: LocalCloud) -> None:
    # Given errors above the threshold within the alarm's period
    now = cloud.clock_start + timedelta(minutes=1)
    _put_errors(cloud, 4, now - timedelta(seconds=40))
    _put_errors(cloud, 3, now - timedelta(seconds=20))

    # When the alarms are evaluated
    (event,) = cloud.evaluate_alarms(now)

    # Then the alarm is in ALARM and its state-change event, shaped as CloudWatch sends it,
    # reached both targets of the matching rule
    assert _alarm_state(cloud) == "ALARM"
    assert event["source"] == "aws.cloudwatch"
    assert event["detail-type"] == "CloudWatch Alarm State Change"
    detail = event["detail"]
    assert detail["alarmName"] == ALARM
    assert detail["state"]["value"] == "ALARM"
    assert detail["previousState"]["value"] == "OK"
    assert detail["configuration"]["description"] == "too many errors"
    assert detail["configuration"]["metrics"][0]["metricStat"]["metric"] == {
        "namespace": "MLOps",
        "name": "Errors",
        "dimensions": {"Model": "churn"},
    }
    queue_url = cloud.outputs["AlarmQueueUrl"]
    (message,) = cloud.client("sqs").receive_message(QueueUrl=queue_url)["Messages"]
    assert json.loads(message["Body"]) == event
    (call,) = [call for call in cloud.invocations if call.handler == "local_cloud_handlers.record"]
    assert call.event == event


def test_an_unchanged_state_emits_nothing_and_recovery_is_not_routed(cloud: LocalCloud) -> None:
    now = cloud.clock_start + timedelta(minutes=1)
    _put_errors(cloud, 9, now - timedelta(seconds=10))
    assert len(cloud.evaluate_alarms(now)) == 1

    # evaluating again in the same state changes nothing
    assert cloud.evaluate_alarms(now) == []

    # a quiet minute later (missing data is not breaching) the alarm returns to OK; the rule
    # only routes ALARM, so no target receives the recovery
    later = now + timedelta(minutes=2)
    (recovery,) = cloud.evaluate_alarms(later)
    assert recovery["detail"]["state"]["value"] == "OK"
    assert recovery["detail"]["previousState"]["value"] == "ALARM"
    assert _alarm_state(cloud) == "OK"
    assert len([d for d in cloud.deliveries if d.rule.endswith("AlarmChanged286FFA98")]) == 2


def test_values_at_the_threshold_do_not_alarm(cloud: LocalCloud) -> None:
    now = cloud.clock_start + timedelta(minutes=1)
    _put_errors(cloud, 5, now - timedelta(seconds=5))

    assert cloud.evaluate_alarms(now) == []
    assert _alarm_state(cloud) == "OK"
