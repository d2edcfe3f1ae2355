"""Executions ending in moto's interpreter: local waiters are told (no polling on a timer), and
the `AWS/States` metrics Step Functions publishes in AWS are put into the local CloudWatch
(moto publishes none): per state machine (dimension `StateMachineArn`), at the execution's
end, `ExecutionsSucceeded`, `ExecutionsFailed`, `ExecutionsAborted` or `ExecutionsTimedOut`
(1, Count) and `ExecutionTime` (Milliseconds). `ExecutionsStarted` and the other AWS/States
metrics are not published."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from moto.cloudwatch.models import cloudwatch_backends
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

LOGGER = logging.getLogger(__name__)
STATES_NAMESPACE = "AWS/States"
_OUTCOME_METRICS = {
    "SUCCEEDED": "ExecutionsSucceeded",
    "FAILED": "ExecutionsFailed",
    "ABORTED": "ExecutionsAborted",
    "TIMED_OUT": "ExecutionsTimedOut",
}


def _ended_metrics(
    state_machine_arn: str, status: str, started: datetime, stopped: datetime
) -> list[dict[str, Any]]:
    """The AWS/States datapoints of one execution's end (put_metric_data entries)."""
    common = {
        "Dimensions": [{"Name": "StateMachineArn", "Value": state_machine_arn}],
        "Timestamp": _naive_utc(stopped),  # as moto keeps times
    }
    milliseconds = (stopped - started).total_seconds() * 1000.0
    entries = [{**common, "MetricName": "ExecutionTime", "Value": milliseconds,
                "Unit": "Milliseconds"}]  # fmt: skip
    if status in _OUTCOME_METRICS:
        entries.append({**common, "MetricName": _OUTCOME_METRICS[status], "Value": 1.0,
                        "Unit": "Count"})  # fmt: skip
    return entries


class Terminations:
    """Counts executions that ended in moto's interpreter and wakes whoever waits for one."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._count = 0

    @property
    def count(self) -> int:
        with self._condition:
            return self._count

    def wait_beyond(self, count: int, timeout: float) -> bool:
        """Block until more than `count` executions have ended, or `timeout` seconds pass."""
        with self._condition:
            return self._condition.wait_for(lambda: self._count > count, timeout)

    @contextmanager
    def patched(self) -> Iterator[None]:
        """Count every execution end (moto records the final status, then tells us)."""
        original = BaseExecutionWorkerCommunication.terminated

        def terminated(communication: BaseExecutionWorkerCommunication) -> None:
            try:
                original(communication)
                _publish(communication.execution)
            finally:
                with self._condition:
                    self._count += 1
                    self._condition.notify_all()

        with mock.patch.object(BaseExecutionWorkerCommunication, "terminated", terminated):
            yield


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _publish(execution: Any) -> None:
    """Put the execution's AWS/States metrics into its account's CloudWatch."""
    try:
        status = getattr(execution.exec_status, "value", str(execution.exec_status))
        entries = _ended_metrics(
            execution.state_machine_arn, status, execution.start_date, execution.stop_date
        )
        backend = cloudwatch_backends[execution.account_id][execution.region_name]
        backend.put_metric_data(STATES_NAMESPACE, entries)
    except Exception as error:  # noqa: BLE001 - a metric must never break an execution's end
        LOGGER.warning("AWS/States metrics not published: %s", error)
