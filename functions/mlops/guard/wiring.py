"""Bind the guard to AWS: the registry, CloudWatch DescribeAlarms and the SNS topic."""

from __future__ import annotations

from typing import Any

from mlops.aws import client
from mlops.guard.guard import FiringAlarm, GuardDeps
from mlops.pipeline.wiring import sns_notifier
from mlops.registry.store import RegistryStore
from mlops.settings import Settings


def firing_alarms(prefix: str) -> list[FiringAlarm]:
    """The metric and composite alarms named `prefix...` that are in ALARM now."""
    paginator = client("cloudwatch").get_paginator("describe_alarms")
    found: list[FiringAlarm] = []
    for page in paginator.paginate(AlarmNamePrefix=prefix, StateValue="ALARM"):
        alarms: list[dict[str, Any]] = page.get("MetricAlarms", []) + page.get(
            "CompositeAlarms", []
        )
        found += [
            FiringAlarm(
                name=alarm["AlarmName"],
                reason=alarm.get("StateReason", ""),
                since=alarm["StateUpdatedTimestamp"],
            )
            for alarm in alarms
        ]
    return sorted(found, key=lambda alarm: alarm.name)


def guard_deps(settings: Settings, store: RegistryStore) -> GuardDeps:
    return GuardDeps(
        store=store,
        firing_alarms=firing_alarms,
        notify=sns_notifier(settings.notification_topic_arn),
    )
