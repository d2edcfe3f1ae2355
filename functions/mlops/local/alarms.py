"""Alarm evaluation, which moto does not do: metrics -> alarm state -> a state-change event."""

from __future__ import annotations

import json
import logging
import operator
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends

from mlops.local.names import Place

LOGGER = logging.getLogger(__name__)

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
SIMPLE_STATISTICS = {"Average", "Sum", "Minimum", "Maximum", "SampleCount"}

Publish = Callable[[dict[str, Any]], Any]


def _timestamp(moment: datetime) -> str:
    """CloudWatch's event timestamp format, e.g. 2019-10-02T17:04:40.985+0000."""
    moment = _aware(moment)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}+0000"
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class AlarmEvaluator:
    """Evaluates every metric alarm in the account and publishes its state changes."""

    def __init__(self, place: Place, publish: Publish) -> None:
        self.place = place
        self._publish = publish

    def _backend(self) -> Any:
        return cloudwatch_backends[self.place.account][self.place.region]

    def evaluate(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Evaluate the alarms at `now`; returns the state-change events published."""
        now = _aware(now or datetime.now(UTC))
        events = []
        for alarm in list(self._backend().alarms.values()):
            if alarm.metric_data_queries or alarm.statistic not in SIMPLE_STATISTICS:
                LOGGER.info("alarm %s: metric math / percentiles not evaluated", alarm.name)
                continue
            state, reason, data = self._state(alarm, now)
            if state is None or state == alarm.state_value:
                continue
            previous = {
                "value": alarm.state_value,
                "reason": alarm.state_reason,
                "timestamp": _timestamp(alarm.state_updated_timestamp),
            }
            self._backend().set_alarm_state(alarm.name, reason, json.dumps(data), state)
            event = self._event(
                alarm, state=state, reason=reason, data=data, previous=previous, now=now
            )
            self._publish(event)
            events.append(event)
        return events

    def _datapoints(self, alarm: Any, now: datetime) -> list[float | None]:
        """The statistic for each of the last EvaluationPeriods periods, newest first."""
        period = timedelta(seconds=int(alarm.period))
        # moto keeps naive UTC timestamps; the window includes a datapoint stamped `now`
        end = _aware(now).astimezone(UTC).replace(tzinfo=None) + timedelta(seconds=1)
        dimensions = [{"Name": item.name, "Value": item.value} for item in alarm.dimensions]
        values: list[float | None] = []
        for index in range(int(alarm.evaluation_periods)):
            window_end = end - period * index
            statistics = self._backend().get_metric_statistics(
                namespace=alarm.namespace,
                metric_name=alarm.metric_name,
                start_time=window_end - period,
                end_time=window_end,
                period=int(alarm.period) * 2,  # one bucket for the whole window
                stats=[alarm.statistic],
                dimensions=dimensions,
                unit=alarm.unit,
            )
            value = statistics[0].get_statistics_for_type(alarm.statistic) if statistics else None
            values.append(None if value is None else float(value))
        return values

    def _state(self, alarm: Any, now: datetime) -> tuple[str | None, str, dict[str, Any]]:
        values = self._datapoints(alarm, now)
        comparison = COMPARISONS[alarm.comparison_operator]
        treat_missing = alarm.treat_missing_data or "missing"
        needed = int(alarm.datapoints_to_alarm or alarm.evaluation_periods)
        threshold = float(alarm.threshold)
        present = [value for value in values if value is not None]
        missing = len(values) - len(present)
        breaching = sum(1 for value in present if comparison(value, threshold))
        if treat_missing == "breaching":
            breaching += missing
        data = {
            "version": "1.0",
            "queryDate": _timestamp(now),
            "statistic": alarm.statistic,
            "period": int(alarm.period),
            "recentDatapoints": present,
            "threshold": threshold,
        }
        if not present and treat_missing in {"missing", "ignore"}:
            if treat_missing == "ignore":
                return None, "", data
            return "INSUFFICIENT_DATA", "Insufficient Data: no datapoints were received", data
        if breaching >= needed:
            reason = (
                f"Threshold Crossed: {breaching} out of the last {len(values)} datapoints "
                f"{present} were {alarm.comparison_operator} the threshold ({threshold})."
            )
            return "ALARM", reason, data
        reason = (
            f"Threshold Crossed: {len(values) - breaching} out of the last {len(values)} "
            f"datapoints {present} were not {alarm.comparison_operator} the threshold "
            f"({threshold})."
        )
        return "OK", reason, data

    def _event(
        self,
        alarm: Any,
        *,
        state: str,
        reason: str,
        data: dict[str, Any],
        previous: dict[str, Any],
        now: datetime,
    ) -> dict[str, Any]:
        metric = {
            "id": "m1",
            "metricStat": {
                "metric": {
                    "namespace": alarm.namespace,
                    "name": alarm.metric_name,
                    "dimensions": {item.name: item.value for item in alarm.dimensions},
                },
                "period": int(alarm.period),
                "stat": alarm.statistic,
            },
            "returnData": True,
        }
        detail = {
            "alarmName": alarm.name,
            "state": {
                "value": state,
                "reason": reason,
                "reasonData": json.dumps(data),
                "timestamp": _timestamp(now),
            },
            "previousState": previous,
            "configuration": {"description": alarm.description or "", "metrics": [metric]},
        }
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": self.place.account,
            "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.place.region,
            "resources": [alarm.alarm_arn],
            "detail": detail,
        }
