"""Scheduled rules fire on tick(), when due and not before, with the scheduled time."""

from __future__ import annotations

from datetime import timedelta

from mlops.local import LocalCloud
from mlops.local.router import iso_time


def _scheduled_calls(cloud: LocalCloud) -> list[dict]:
    return [
        call.event
        for call in cloud.invocations
        if isinstance(call.event, dict) and call.event.get("origin") == "schedule"
    ]


def test_a_rate_rule_fires_when_due_and_not_before(cloud: LocalCloud) -> None:
    start = cloud.clock_start
    rule_arn = next(
        rule["Arn"]
        for rule in cloud.client("events").list_rules()["Rules"]
        if rule.get("ScheduleExpression") == "rate(5 minutes)"
    )

    # Not yet due
    assert cloud.tick(start + timedelta(minutes=4, seconds=59)) == []
    assert _scheduled_calls(cloud) == []

    # Due: one firing, its event time the scheduled time, through the input transformer
    (delivery,) = cloud.tick(start + timedelta(minutes=5))
    assert delivery.event["detail-type"] == "Scheduled Event"
    assert delivery.event["source"] == "aws.events"
    assert _scheduled_calls(cloud) == [
        {"origin": "schedule", "time": iso_time(start + timedelta(minutes=5)), "rule": rule_arn}
    ]

    # The same moment again fires nothing; a jump fires every missed occurrence once
    assert cloud.tick(start + timedelta(minutes=5)) == []
    fired = cloud.tick(start + timedelta(minutes=16))
    assert [d.event["time"] for d in fired] == [
        iso_time(start + timedelta(minutes=10)),
        iso_time(start + timedelta(minutes=15)),
    ]


def test_scheduled_rules_never_match_event_patterns(cloud: LocalCloud) -> None:
    cloud.put_events([{"Source": "aws.events", "DetailType": "Scheduled Event", "Detail": {}}])

    assert _scheduled_calls(cloud) == []
    assert cloud.deliveries == []
