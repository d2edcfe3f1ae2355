"""The event router: EventBridge delivery, which moto does not do, done in this process.

Events reach the router from `put_events`, from S3 buckets with EventBridge notifications
enabled, from the clock (scheduled rules) and from the alarm evaluator. For every ENABLED rule
whose pattern matches (scheduled rules never match patterns) each target gets the event, shaped
by its Input / InputPath / InputTransformer: Lambda (invoked in-process, synchronously), Step
Functions (a named execution), SNS, SQS, or another event bus.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest import mock
from urllib.parse import quote_plus

from moto.awslambda.utils import get_backend as lambda_backend
from moto.events import models as events_models
from moto.s3 import notifications as s3_notifications
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from moto.stepfunctions.responses import get_backend as sfn_backend

from mlops.local import patterns, schedule
from mlops.local.names import Place
from mlops.local.transform import target_input

DELIVERABLE_SERVICES = frozenset({"lambda", "states", "sns", "sqs", "events"})
"""Target services the router delivers to; the deployer refuses rules targeting others."""


class UnsupportedTargetError(Exception):
    """A rule targets a service the local cloud does not deliver to."""


LOGGER = logging.getLogger(__name__)

_S3_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "PostObject",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete": "DeleteObject",
    "s3:ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}


@dataclass
class Delivery:
    """One event handed to one rule target."""

    rule: str
    target_id: str
    target_arn: str
    event: dict[str, Any]
    payload: Any
    result: Any = None
    error: str | None = None


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> datetime:
    return datetime.now(UTC)


class EventRouter:
    """Routes events to rule targets; fires schedules on `tick()`."""

    def __init__(self, place: Place, clock_start: datetime | None = None) -> None:
        self.place = place
        self.clock_start = clock_start or _now()
        self.last_tick = self.clock_start
        self.deliveries: list[Delivery] = []
        self.events: list[dict[str, Any]] = []  # what the local cloud emitted (S3, clock, alarms)

    # ---- seams ---------------------------------------------------------------------------
    @contextmanager
    def patched(self) -> Iterator[None]:
        """Route moto's put_events and S3's EventBridge notifications through this router."""
        router = self

        def send_to_targets(rule: Any, event: Any, transform_input: bool = True) -> None:  # noqa: ARG001
            router.route(rule, router.normalize(event))

        def send_s3_event(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
            router.publish(router.s3_event(account_id, bucket, event_name, key))

        with (
            mock.patch.object(events_models.Rule, "send_to_targets", send_to_targets),
            mock.patch.object(s3_notifications, "_send_event_bridge_message", send_s3_event),
        ):
            yield

    # ---- events --------------------------------------------------------------------------
    def base_event(
        self,
        source: str,
        detail_type: str,
        detail: dict[str, Any],
        *,
        resources: list[str],
        time: datetime | None = None,
    ) -> dict[str, Any]:
        """An event as EventBridge delivers it (ISO time, a fresh id)."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": source,
            "account": self.place.account,
            "time": iso_time(time or _now()),
            "region": self.place.region,
            "resources": resources,
            "detail": detail,
        }

    def normalize(self, event: Any) -> dict[str, Any]:
        """moto's internal event -> the shape EventBridge delivers (ISO time, no extras)."""
        shaped = {key: value for key, value in dict(event).items() if key != "ingestion-time"}
        moment = shaped.get("time")
        if isinstance(moment, int | float) or (
            isinstance(moment, str) and moment.replace(".", "", 1).isdigit()
        ):
            shaped["time"] = iso_time(datetime.fromtimestamp(float(moment), UTC))
        elif isinstance(moment, datetime):
            shaped["time"] = iso_time(moment)
        shaped.setdefault("id", str(uuid.uuid4()))
        return shaped

    def s3_event(self, account_id: str, bucket: Any, event_name: str, key: Any) -> dict[str, Any]:
        """The event S3 sends to EventBridge; the key URL-encoded as S3 encodes it."""
        object_detail: dict[str, Any] = {
            "key": quote_plus(key.name, safe="/"),
            "size": key.size,
            "etag": key.etag.replace('"', ""),
            "sequencer": uuid.uuid4().hex[:16].upper(),
        }
        if getattr(key, "version_id", None) and key.version_id != "null":
            object_detail["version-id"] = key.version_id
        detail = {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": object_detail,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": _S3_REASONS.get(event_name, event_name.split(":")[1]),
        }
        if "ObjectRemoved" in event_name:
            detail["deletion-type"] = (
                "Delete Marker Created" if "DeleteMarker" in event_name else "Permanently Deleted"
            )
        detail_type = s3_notifications._detail_type(event_name)
        return self.base_event(
            "aws.s3", detail_type, detail, resources=[f"arn:aws:s3:::{bucket.name}"]
        )

    # ---- routing -------------------------------------------------------------------------
    def _backend(self) -> Any:
        return events_models.events_backends[self.place.account][self.place.region]

    def rules(self, bus: str = "default") -> list[Any]:
        return list(self._backend().describe_event_bus(bus).rules.values())

    def publish(self, event: dict[str, Any], bus: str = "default") -> list[Delivery]:
        """Send an event to every matching rule on `bus`; returns the deliveries made."""
        self.events.append(event)
        delivered: list[Delivery] = []
        for rule in self.rules(bus):
            delivered += self.route(rule, event)
        return delivered

    def route(self, rule: Any, event: dict[str, Any]) -> list[Delivery]:
        """Deliver `event` to `rule`'s targets if the rule is enabled and its pattern matches."""
        if rule.state != "ENABLED" or rule.scheduled_expression:
            return []
        pattern = rule.event_pattern.get_pattern()
        try:
            matched = bool(pattern) and patterns.matches(pattern, event)
        except patterns.PatternError as error:
            LOGGER.warning("rule %s has an invalid pattern, skipped: %s", rule.name, error)
            return []
        return self.deliver(rule, event) if matched else []

    def tick(self, now: datetime | None = None) -> list[Delivery]:
        """Fire the scheduled rules due in (last tick, now] with "Scheduled Event" events."""
        now = now or _now()
        delivered: list[Delivery] = []
        for bus in self._backend().event_buses.values():
            for rule in list(bus.rules.values()):
                if rule.state != "ENABLED" or not rule.scheduled_expression:
                    continue
                due = schedule.due_times(
                    rule.scheduled_expression, self.clock_start, self.last_tick, now
                )
                for moment in due:
                    event = self.base_event(
                        "aws.events", "Scheduled Event", {}, resources=[rule.arn], time=moment
                    )
                    self.events.append(event)
                    delivered += self.deliver(rule, event)
        self.last_tick = max(self.last_tick, now)
        return delivered

    def deliver(self, rule: Any, event: dict[str, Any]) -> list[Delivery]:
        made = []
        for target in list(rule.targets):
            payload = target_input(target, event, rule_name=rule.name, rule_arn=rule.arn)
            delivery = Delivery(rule.name, target["Id"], target["Arn"], event, payload)
            try:
                delivery.result = self._send(target, payload)
            except Exception as error:  # noqa: BLE001 - delivery failures never reach the sender
                delivery.error = f"{type(error).__name__}: {error}"
                LOGGER.warning("delivery to %s failed: %s", target["Arn"], delivery.error)
            self.deliveries.append(delivery)
            made.append(delivery)
        return made

    def _send(self, target: dict[str, Any], payload: Any) -> Any:
        arn = target["Arn"]
        parts = arn.split(":")
        service, account, region = parts[2], parts[4] or self.place.account, parts[3]
        body = payload if isinstance(payload, str) else json.dumps(payload)
        if service == "lambda":
            function = lambda_backend(account, region).get_function(arn)
            return function.invoke(json.dumps(payload), {"x-amz-invocation-type": "Event"}, {})
        if service == "states":
            execution = sfn_backend(account, region).start_execution(
                arn, name=f"event-{uuid.uuid4().hex}", execution_input=json.dumps(payload)
            )
            return execution.execution_arn
        if service == "sns":
            return sns_backends[account][region].publish(message=body, arn=arn)
        if service == "sqs":
            group = target.get("SqsParameters", {}).get("MessageGroupId")
            message = sqs_backends[account][region].send_message(
                queue_name=parts[5], message_body=body, group_id=group
            )
            return message.id
        if service == "events" and parts[5].startswith("event-bus/"):
            event = payload if isinstance(payload, dict) else {}
            return len(self.publish(event, bus=parts[5].split("/", 1)[1]))
        msg = f"the local cloud does not deliver to {service} targets ({arn})"
        raise UnsupportedTargetError(msg)
