"""The guard function's events -> what the guard is asked to do (pure: no AWS calls).

`CloudWatch Alarm State Change` of an alarm named `mlops/<model>/guard/<name>` into ALARM
(roll that model's canary back), or the guard schedule's transformed input
`{"source": "mlops.guard", "time": <event time>}` (sweep every model's canary).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlops.registry.entities import validate_model_name

SWEEP_SOURCE = "mlops.guard"
ALARM_PREFIX = "mlops/"
ALARM_MARKER = "guard"


class GuardEventError(ValueError):
    """An event the guard cannot act on; the message names the field at fault."""


class GuardIgnoredError(Exception):
    """An event that asks nothing of the guard (e.g. an alarm returning to OK)."""


@dataclass(frozen=True)
class AlarmFired:
    """A guard alarm of `model` entered ALARM."""

    model: str
    alarm_name: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class Sweep:
    """Check every model's canary at `now` (the schedule event's time, never the wall clock)."""

    now: datetime


def guard_alarm_prefix(model: str) -> str:
    """The name prefix of a model's guard alarms."""
    return f"{ALARM_PREFIX}{model}/{ALARM_MARKER}/"


def parse_event(event: Any) -> AlarmFired | Sweep:
    """What the event asks; GuardEventError for a malformed one, GuardIgnoredError else."""
    if not isinstance(event, dict):
        msg = f"guard event: expected a JSON object, got {type(event).__name__}"
        raise GuardEventError(msg)
    if event.get("source") == SWEEP_SOURCE:
        return Sweep(now=parse_time(event.get("time"), "time"))
    if (
        event.get("source") == "aws.cloudwatch"
        and event.get("detail-type") == "CloudWatch Alarm State Change"
    ):
        return _alarm(event)
    msg = (
        f"guard event: source={event.get('source')!r} detail-type={event.get('detail-type')!r} "
        f"is neither a guard alarm nor the guard schedule ({SWEEP_SOURCE})"
    )
    raise GuardEventError(msg)


def parse_time(value: Any, field: str) -> datetime:
    """An ISO 8601 time (a naive one is UTC); GuardEventError naming `field` otherwise."""
    if not isinstance(value, str) or not value:
        msg = f"guard event: {field} must be an ISO 8601 time, got {value!r}"
        raise GuardEventError(msg)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        msg = f"guard event: {field} must be an ISO 8601 time, got {value!r}"
        raise GuardEventError(msg) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _alarm(event: dict[str, Any]) -> AlarmFired:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        msg = "guard event: detail must be an object"
        raise GuardEventError(msg)
    name = detail.get("alarmName")
    if not isinstance(name, str) or not name:
        msg = "guard event: detail.alarmName must be a non-empty string"
        raise GuardEventError(msg)
    state: dict[str, Any] = detail["state"] if isinstance(detail.get("state"), dict) else {}
    if state.get("value") != "ALARM":
        msg = f"alarm {name!r} entered {state.get('value')!r}, not ALARM"
        raise GuardIgnoredError(msg)
    parts = name.split("/")
    if len(parts) < 4 or parts[0] + "/" != ALARM_PREFIX or parts[2] != ALARM_MARKER:
        msg = f"alarm {name!r} is not a guard alarm (mlops/<model>/guard/<name>)"
        raise GuardIgnoredError(msg)
    try:
        model = validate_model_name(parts[1])
    except ValueError as error:
        raise GuardEventError(f"guard event: detail.alarmName: {error}") from None
    reason = str(state.get("reason") or "")
    at = event.get("time") or state.get("timestamp")
    return AlarmFired(model=model, alarm_name=name, reason=reason, at=parse_time(at, "time"))
