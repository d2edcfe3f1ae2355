"""Alarms are evaluated on demand from their metrics and emit real-shaped state-change events."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Any

import pytest
from moto.sns.models import sns_backends

from mlops.local import LocalCloud
from mlops.local.template import load_template
from mlops.serving.telemetry import emf_document

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


P99_ALARM = "local-test-latency-p99"
PER_MODEL = [{"Name": "model", "Value": "churn"}, {"Name": "service", "Value": "mlops"}]
PER_VERSION = [*PER_MODEL, {"Name": "version", "Value": "3"}]


def _put_latencies(
    cloud: LocalCloud, dimensions: list[dict[str, str]], counts: dict[float, int], at
) -> None:
    cloud.client("cloudwatch").put_metric_data(
        Namespace="MLOps",
        MetricData=[
            {
                "MetricName": "Latency",
                "Dimensions": dimensions,
                "Timestamp": at,
                "Values": list(counts),
                "Counts": [float(n) for n in counts.values()],
                "Unit": "Milliseconds",
            }
        ],
    )


def _put_p99_alarm(cloud: LocalCloud) -> None:
    cloud.client("cloudwatch").put_metric_alarm(
        AlarmName=P99_ALARM,
        Namespace="MLOps",
        MetricName="Latency",
        Dimensions=PER_MODEL,
        ExtendedStatistic="p99",
        Period=60,
        EvaluationPeriods=1,
        Threshold=100.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )


def _state_of(cloud: LocalCloud, name: str) -> str:
    (alarm,) = cloud.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return str(alarm["StateValue"])


def test_a_percentile_alarm_reads_the_raw_values_of_its_exact_dimension_set(
    cloud: LocalCloud,
) -> None:
    # Given a p99 latency alarm on {model, service}, and one slow request in a hundred there;
    # much slower requests are published under {model, version, service}, another metric
    _put_p99_alarm(cloud)
    now = cloud.clock_start + timedelta(minutes=1)
    _put_latencies(cloud, PER_MODEL, {10.0: 99, 500.0: 1}, now - timedelta(seconds=30))
    _put_latencies(cloud, PER_VERSION, {5_000.0: 50}, now - timedelta(seconds=30))

    # When the alarms are evaluated, Then the 99th percentile (10 ms) does not breach
    assert cloud.evaluate_alarms(now) == []
    assert _state_of(cloud, P99_ALARM) == "OK"

    # And one more slow request puts the 99th percentile of 101 values at 500 ms: ALARM,
    # routed like any alarm (the rule matches local-test-* alarms entering ALARM)
    _put_latencies(cloud, PER_MODEL, {500.0: 1}, now - timedelta(seconds=10))
    (event,) = cloud.evaluate_alarms(now)
    assert _state_of(cloud, P99_ALARM) == "ALARM"
    detail = event["detail"]
    assert detail["configuration"]["metrics"][0]["metricStat"]["stat"] == "p99"
    assert json.loads(detail["state"]["reasonData"])["recentDatapoints"] == [500.0]
    (call,) = [c for c in cloud.invocations if c.handler == "local_cloud_handlers.record"]
    assert call.event["detail"]["alarmName"] == P99_ALARM

    # And once the slow minute has passed, missing data is not breaching: back to OK
    (recovery,) = cloud.evaluate_alarms(now + timedelta(minutes=2))
    assert recovery["detail"]["state"]["value"] == "OK"


def test_an_average_over_several_periods_alarms_on_the_share_of_breaching_periods(
    cloud: LocalCloud,
) -> None:
    # Given an error-rate alarm: Fault Average >= 0.5 in 2 of the last 3 minutes
    cloud.client("cloudwatch").put_metric_alarm(
        AlarmName="local-test-error-rate",
        Namespace="MLOps",
        MetricName="Fault",
        Dimensions=PER_MODEL,
        Statistic="Average",
        Period=60,
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        Threshold=0.5,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    now = cloud.clock_start + timedelta(minutes=5)

    def faults(minutes_ago: float, values: list[float]) -> None:
        cloud.client("cloudwatch").put_metric_data(
            Namespace="MLOps",
            MetricData=[
                {
                    "MetricName": "Fault",
                    "Dimensions": PER_MODEL,
                    "Timestamp": now - timedelta(minutes=minutes_ago),
                    "Values": values,
                }
            ],
        )

    # When one minute had every request fail and the others were fine
    faults(2.5, [1.0, 1.0])
    faults(1.5, [0.0, 0.0, 0.0, 1.0])
    faults(0.5, [0.0])
    # Then one breaching period of three is not enough
    assert cloud.evaluate_alarms(now) == []
    # And a second failing minute is
    faults(0.2, [1.0, 1.0, 1.0])
    (event,) = cloud.evaluate_alarms(now)
    assert event["detail"]["state"]["value"] == "ALARM"
    assert json.loads(event["detail"]["state"]["reasonData"])["recentDatapoints"] == [
        0.75,
        0.25,
        1.0,
    ]


# ---- the real stack's alarms, deployed locally -------------------------------------------------
MODEL = "fraud"


def publish(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A handler that writes one EMF document to stdout, as the monitor does."""
    sys.stdout.write(json.dumps(event) + "\n")
    return {}


@pytest.fixture(scope="module")
def stack_template() -> dict[str, Any]:
    """The real stack with one monitored model (synthesized once, cached by its sources)."""
    monitored = {"name": MODEL, "monitoring": {"quality_threshold": 0.8}}
    return load_template(overrides={"models": [monitored]})


def test_the_stacks_alarms_deploy_as_synthesized_and_close_the_loop(
    stack_template: dict[str, Any],
) -> None:
    with LocalCloud(stack_template) as cloud:
        # Given the real stack's alarms, created locally with what the template says
        described = cloud.client("cloudwatch").describe_alarms(AlarmNamePrefix="mlops/")
        found = {alarm["AlarmName"]: alarm for alarm in described["MetricAlarms"]}
        assert set(found) >= {
            f"mlops/{MODEL}/retrain/drift",
            f"mlops/{MODEL}/retrain/quality",
            f"mlops/{MODEL}/serving/errors",
            f"mlops/{MODEL}/serving/latency-p99",
            f"mlops/{MODEL}/guard/errors",
            f"mlops/{MODEL}/guard/quality",
            "mlops/training/failures",
        }
        topic = cloud.settings.notification_topic_arn
        latency = found[f"mlops/{MODEL}/serving/latency-p99"]
        assert latency["ExtendedStatistic"] == "p99"
        assert (latency["EvaluationPeriods"], latency["DatapointsToAlarm"]) == (5, 3)
        assert all(alarm["TreatMissingData"] == "notBreaching" for alarm in found.values())
        assert all(alarm["AlarmActions"] == [topic] for alarm in found.values())

        # When the monitor's drift metric, above the threshold, reaches stdout at a tick
        now = cloud.clock_start + timedelta(hours=1)
        document = emf_document(
            {"model": MODEL},
            [("DriftMaxPSI", "None", 0.42), ("DriftRows", "Count", 500.0)],
            int(now.timestamp() * 1000),
        )
        cloud.invoke(f"{__name__}.publish", document)
        events = cloud.evaluate_alarms(now)

        # Then only the drift alarm changed, to ALARM, and its event reached the trigger
        assert [(e["detail"]["alarmName"], e["detail"]["state"]["value"]) for e in events] == [
            (f"mlops/{MODEL}/retrain/drift", "ALARM")
        ]
        (call,) = [c for c in cloud.invocations if c.handler == "mlops.handlers.trigger.handler"]
        assert call.event == events[0]
        assert call.result["model"] == MODEL  # (rejected here: the model has no spec yet)
        # And the topic got CloudWatch's alarm message
        sns = sns_backends[cloud.place.account][cloud.place.region]
        messages = [json.loads(m[1]) for m in sns.topics[topic].sent_notifications]
        alarm_messages = [m for m in messages if "AlarmName" in m]
        assert [(m["AlarmName"], m["NewStateValue"]) for m in alarm_messages] == [
            (f"mlops/{MODEL}/retrain/drift", "ALARM")
        ]
