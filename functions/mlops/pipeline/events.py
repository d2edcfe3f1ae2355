"""Turn the trigger function's events into training requests (pure: no AWS calls).

Events (docs/architecture.md, "Triggers"): S3 `Object Created` under `training/<model>/` in the
data bucket; `CloudWatch Alarm State Change` to ALARM for an alarm named `mlops/<model>/retrain/
<x>` or whose metric has a `Model` dimension; the schedule rule's transformed input
`{"source": "mlops.schedule", "model", "time"}`. Anything else is a TriggerRejectedError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from mlops.pipeline import run_ids
from mlops.registry.entities import Trigger, TriggerKind, validate_model_name

TRAINING_PREFIX = "training/"
SCHEDULE_SOURCE = "mlops.schedule"
ALARM_NAME_PREFIX = "mlops/"
ALARM_NAME_MARKER = "retrain"


class TriggerRejectedError(Exception):
    """An event that must not start a run; the reason is logged and notified."""

    def __init__(self, reason: str, *, model: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.model = model


class TriggerIgnoredError(Exception):
    """An event that is not a reason to train (e.g. an alarm returning to OK)."""


@dataclass(frozen=True)
class TrainingRequest:
    """What to train. `data_uri` None means: the newest object under training/<model>/."""

    model: str
    trigger: Trigger
    run_id: str
    data_uri: str | None


def parse_event(event: Any, *, data_bucket: str) -> TrainingRequest:
    """The training request an event asks for; TriggerRejectedError / TriggerIgnoredError."""
    if not isinstance(event, dict):
        msg = f"unsupported trigger event: expected a JSON object, got {type(event).__name__}"
        raise TriggerRejectedError(msg)
    if event.get("source") == SCHEDULE_SOURCE:
        return _schedule_request(event)
    detail_type = event.get("detail-type")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        detail = {}
    if event.get("source") == "aws.s3" and detail_type == "Object Created":
        return _upload_request(detail, data_bucket)
    if event.get("source") == "aws.cloudwatch" and detail_type == "CloudWatch Alarm State Change":
        return _alarm_request(event, detail)
    msg = f"unsupported trigger event: source={event.get('source')!r} detail-type={detail_type!r}"
    raise TriggerRejectedError(msg)


def model_from_key(key: str) -> str:
    """The model an upload key trains: `training/<model>/<file>`; TriggerRejectedError else."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] + "/" != TRAINING_PREFIX or not parts[-1]:
        msg = f"object key {key!r} is outside training/<model>/<file>"
        raise TriggerRejectedError(msg)
    return _valid_model(parts[1])


def _valid_model(name: str) -> str:
    try:
        return validate_model_name(name)
    except ValueError as error:
        raise TriggerRejectedError(str(error)) from None


def _upload_request(detail: dict[str, Any], data_bucket: str) -> TrainingRequest:
    bucket = _text(detail.get("bucket"), "name")
    obj: dict[str, Any] = detail["object"] if isinstance(detail.get("object"), dict) else {}
    raw_key = _text(obj, "key")
    if not bucket or not raw_key:
        msg = "S3 event without detail.bucket.name or detail.object.key"
        raise TriggerRejectedError(msg)
    key = unquote_plus(raw_key)  # S3 sends keys URL-encoded
    if bucket != data_bucket:
        msg = f"object s3://{bucket}/{key} is not in the data bucket {data_bucket}"
        raise TriggerRejectedError(msg)
    model = model_from_key(key)
    identity = _text(obj, "sequencer") or _text(obj, "version-id") or _text(obj, "etag")
    uri = f"s3://{bucket}/{key}"
    trigger = Trigger(
        kind=TriggerKind.S3_UPLOAD,
        source_id=uri,
        detail={
            key_name: value
            for key_name, value in (
                ("etag", _text(obj, "etag")),
                ("sequencer", _text(obj, "sequencer")),
                ("version_id", _text(obj, "version-id")),
            )
            if value
        },
    )
    run_id = run_ids.s3_run_id(model, bucket, key, identity)
    return TrainingRequest(model=model, trigger=trigger, run_id=run_id, data_uri=uri)


def _alarm_request(event: dict[str, Any], detail: dict[str, Any]) -> TrainingRequest:
    alarm_name = _text(detail, "alarmName")
    state: dict[str, Any] = detail["state"] if isinstance(detail.get("state"), dict) else {}
    if state.get("value") != "ALARM":
        msg = f"alarm {alarm_name!r} entered {state.get('value')!r}, not ALARM"
        raise TriggerIgnoredError(msg)
    model = _model_from_alarm(alarm_name, detail)
    timestamp = _text(state, "timestamp") or str(event.get("time", ""))
    resources = event.get("resources")
    source_id = resources[0] if isinstance(resources, list) and resources else alarm_name
    trigger = Trigger(
        kind=TriggerKind.ALARM,
        source_id=str(source_id),
        detail={
            "alarm_name": alarm_name,
            "state_timestamp": timestamp,
            "state_reason": _text(state, "reason"),
        },
    )
    run_id = run_ids.alarm_run_id(model, alarm_name, timestamp)
    return TrainingRequest(model=model, trigger=trigger, run_id=run_id, data_uri=None)


def _model_from_alarm(alarm_name: str, detail: dict[str, Any]) -> str:
    parts = alarm_name.split("/")
    if len(parts) >= 4 and parts[0] + "/" == ALARM_NAME_PREFIX and parts[2] == ALARM_NAME_MARKER:
        return _valid_model(parts[1])
    configuration = detail.get("configuration")
    metrics = configuration.get("metrics") if isinstance(configuration, dict) else None
    for metric in metrics if isinstance(metrics, list) else []:
        stat = metric.get("metricStat") if isinstance(metric, dict) else None
        inner = stat.get("metric") if isinstance(stat, dict) else None
        dimensions = inner.get("dimensions") if isinstance(inner, dict) else None
        if isinstance(dimensions, dict) and isinstance(dimensions.get("Model"), str):
            return _valid_model(dimensions["Model"])
    msg = (
        f"alarm {alarm_name!r} names no model: expected mlops/<model>/retrain/<name> "
        "or a metric with a Model dimension"
    )
    raise TriggerRejectedError(msg)


def _schedule_request(event: dict[str, Any]) -> TrainingRequest:
    model = event.get("model")
    time = event.get("time")
    if not isinstance(model, str) or not isinstance(time, str) or not time:
        msg = "schedule event needs string fields 'model' and 'time'"
        raise TriggerRejectedError(msg)
    model = _valid_model(model)
    trigger = Trigger(
        kind=TriggerKind.SCHEDULE,
        source_id=f"{SCHEDULE_SOURCE}/{model}",
        detail={"time": time},
    )
    return TrainingRequest(
        model=model, trigger=trigger, run_id=run_ids.schedule_run_id(model, time), data_uri=None
    )


def _text(container: Any, key: str) -> str:
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, str) else ""
