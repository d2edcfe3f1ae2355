"""Guard events: guard alarms entering ALARM and the sweep schedule; anything else is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mlops.guard.events import (
    AlarmFired,
    GuardEventError,
    GuardIgnoredError,
    Sweep,
    guard_alarm_prefix,
    parse_event,
)


def alarm_event(name: str = "mlops/churn/guard/errors", state: str = "ALARM") -> dict[str, Any]:
    return {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "time": "2026-01-01T10:00:00Z",
        "detail": {
            "alarmName": name,
            "state": {"value": state, "reason": "Threshold Crossed"},
        },
    }


def test_a_guard_alarm_names_its_model() -> None:
    assert parse_event(alarm_event()) == AlarmFired(
        model="churn",
        alarm_name="mlops/churn/guard/errors",
        reason="Threshold Crossed",
        at=datetime(2026, 1, 1, 10, tzinfo=UTC),
    )
    assert guard_alarm_prefix("churn") == "mlops/churn/guard/"


def test_the_schedule_asks_for_a_sweep_at_the_event_time() -> None:
    event = {"source": "mlops.guard", "time": "2026-01-01T10:05:00Z"}
    assert parse_event(event) == Sweep(now=datetime(2026, 1, 1, 10, 5, tzinfo=UTC))


@pytest.mark.parametrize(
    "event",
    [
        alarm_event(state="OK"),
        alarm_event(name="mlops/churn/retrain/drift"),
        alarm_event(name="someone-elses-alarm"),
    ],
    ids=["back to OK", "retrain alarm", "foreign alarm"],
)
def test_other_alarm_changes_are_ignored(event: dict[str, Any]) -> None:
    with pytest.raises(GuardIgnoredError):
        parse_event(event)


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ([], "expected a JSON object"),
        ({"source": "mlops.guard"}, "time must be an ISO 8601 time"),
        ({"source": "mlops.guard", "time": "yesterday"}, "time must be an ISO 8601 time"),
        ({"source": "aws.s3", "detail-type": "Object Created"}, "source='aws.s3'"),
        (alarm_event(name="mlops/Bad_Name/guard/errors"), "detail.alarmName: invalid model"),
        ({**alarm_event(), "detail": None}, "detail must be an object"),
    ],
)
def test_malformed_events_are_refused_naming_the_field(event: Any, field: str) -> None:
    with pytest.raises(GuardEventError, match=field.replace("(", r"\(")):
        parse_event(event)
