"""Alarm evaluation, which moto does not do: metrics -> alarm state -> a state-change event.

Statistics are computed here from the raw datapoints moto keeps (its own get_metric_statistics
matches any metric that has the alarm's dimensions among others, where CloudWatch matches the
exact dimension set, and it has no percentiles): Average, Sum, Minimum, Maximum, SampleCount
and percentiles (ExtendedStatistic "p99", "p99.9", ...; nearest rank over the period's single
values; aggregated StatisticValues datapoints carry no values and are left out of percentiles).
Missing data follows TreatMissingData (missing, ignore, breaching, notBreaching). A state
change is published as CloudWatch's "Alarm State Change" event and, as the alarm's actions for
that state, as CloudWatch's alarm message to its SNS topics.
"""

from __future__ import annotations

import json
import logging
import math
import operator
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum, cloudwatch_backends
from moto.sns.models import sns_backends

from mlops.local.names import Place

LOGGER = logging.getLogger(__name__)

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
SIMPLE_STATISTICS = {"Average", "Sum", "Minimum", "Maximum", "SampleCount"}
PERCENTILE = re.compile(r"p(\d{1,2}(\.\d+)?|100)")

Publish = Callable[[dict[str, Any]], Any]


def _timestamp(moment: datetime) -> str:
    """CloudWatch's event timestamp format, e.g. 2019-10-02T17:04:40.985+0000."""
    moment = _aware(moment)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}+0000"
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _naive(moment: datetime) -> datetime:
    """UTC without tzinfo, as moto keeps metric timestamps."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _statistic(alarm: Any) -> str:
    return str(alarm.statistic or alarm.extended_statistic or "")


def _supported(statistic: str) -> bool:
    return statistic in SIMPLE_STATISTICS or PERCENTILE.fullmatch(statistic) is not None


def compute(statistic: str, data: list[Any]) -> float | None:
    """One period's statistic over moto's datapoints (single values and aggregated sets);
    None when the period has no data."""
    singles = [float(datum.value) for datum in data if isinstance(datum, MetricDatum)]
    aggregated = [datum for datum in data if isinstance(datum, MetricAggregatedDatum)]
    if PERCENTILE.fullmatch(statistic):
        return percentile(singles, float(statistic[1:])) if singles else None
    count = len(singles) + sum(float(datum.sample_count) for datum in aggregated)
    if not count:
        return None
    total = sum(singles) + sum(float(datum.sum) for datum in aggregated)
    lowest = [*singles, *(float(datum.min) for datum in aggregated)]
    highest = [*singles, *(float(datum.max) for datum in aggregated)]
    return {
        "SampleCount": count,
        "Sum": total,
        "Average": total / count,
        "Minimum": min(lowest),
        "Maximum": max(highest),
    }[statistic]


def percentile(values: list[float], rank: float) -> float:
    """Nearest rank: the smallest value with at least `rank` percent of values at or below."""
    ordered = sorted(values)
    index = max(1, math.ceil(rank / 100.0 * len(ordered)))
    return ordered[index - 1]


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
            if alarm.metric_data_queries or not _supported(_statistic(alarm)):
                LOGGER.info("alarm %s: metric math / %s not evaluated", alarm.name, alarm.statistic)
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
            self._notify(alarm, state, reason, previous["value"], now)
            events.append(event)
        return events

    def _notify(self, alarm: Any, state: str, reason: str, old: str, now: datetime) -> None:
        """The alarm's actions for its new state: SNS topics get CloudWatch's alarm message."""
        actions = {
            "ALARM": alarm.alarm_actions,
            "OK": alarm.ok_actions,
            "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
        }[state]
        if not alarm.actions_enabled:
            return
        message = {
            "AlarmName": alarm.name,
            "AlarmDescription": alarm.description,
            "AWSAccountId": self.place.account,
            "NewStateValue": state,
            "NewStateReason": reason,
            "StateChangeTime": _timestamp(now),
            "Region": self.place.region,
            "AlarmArn": alarm.alarm_arn,
            "OldStateValue": old,
            "Trigger": {
                "MetricName": alarm.metric_name,
                "Namespace": alarm.namespace,
                "Statistic": alarm.statistic,
                "ExtendedStatistic": alarm.extended_statistic,
                "Dimensions": [{"name": d.name, "value": d.value} for d in alarm.dimensions],
                "Period": int(alarm.period),
                "EvaluationPeriods": int(alarm.evaluation_periods),
                "ComparisonOperator": alarm.comparison_operator,
                "Threshold": float(alarm.threshold),
                "TreatMissingData": alarm.treat_missing_data,
            },
        }
        subject = f'{state}: "{alarm.name}" in {self.place.region}'[:100]
        sns = sns_backends[self.place.account][self.place.region]
        for arn in actions:
            if arn in sns.topics:
                sns.publish(json.dumps(message), arn=arn, subject=subject)
            else:
                LOGGER.info("alarm %s: action %s not run locally", alarm.name, arn)

    def _datapoints(self, alarm: Any, now: datetime) -> list[float | None]:
        """The statistic for each of the last EvaluationPeriods periods, newest first."""
        period = timedelta(seconds=int(alarm.period))
        periods = int(alarm.evaluation_periods)
        # moto keeps naive UTC timestamps; the window includes a datapoint stamped `now`
        end = _naive(now) + timedelta(seconds=1)
        start = end - period * periods
        wanted = {(item.name, item.value) for item in alarm.dimensions}
        windows: list[list[Any]] = [[] for _ in range(periods)]
        for datum in self._backend().get_all_metrics():
            if (
                datum.namespace != alarm.namespace
                or datum.name != alarm.metric_name
                or (alarm.unit and datum.unit != alarm.unit)
                or {(item.name, item.value) for item in datum.dimensions} != wanted
            ):
                continue
            at = _naive(datum.timestamp)
            if start <= at < end:
                windows[math.ceil((end - at) / period) - 1].append(datum)
        statistic = _statistic(alarm)
        return [compute(statistic, window) for window in windows]

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
            "statistic": _statistic(alarm),
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
                "stat": _statistic(alarm),
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
