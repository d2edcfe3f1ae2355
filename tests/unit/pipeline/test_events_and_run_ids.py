"""Trigger events -> training requests, and the deterministic run ids they carry."""

from __future__ import annotations

import re

import pytest

from mlops.pipeline import run_ids
from mlops.pipeline.events import (
    TriggerIgnoredError,
    TriggerRejectedError,
    model_from_key,
    parse_event,
)
from mlops.registry import TriggerKind

BUCKET = "data-bucket"
EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def s3_event(key: str, *, bucket: str = BUCKET, sequencer: str = "00A1") -> dict[str, object]:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "bucket": {"name": bucket},
            "object": {"key": key, "etag": "e1", "sequencer": sequencer},
        },
    }


def test_upload_event_names_model_data_and_a_stable_run_id() -> None:
    request = parse_event(s3_event("training/fraud/day%3D1+copy.csv"), data_bucket=BUCKET)

    assert request.model == "fraud"
    assert request.data_uri == "s3://data-bucket/training/fraud/day=1 copy.csv"
    assert request.trigger.kind is TriggerKind.S3_UPLOAD
    assert request.trigger.detail == {"etag": "e1", "sequencer": "00A1"}
    assert request.run_id.startswith("fraud-s3-")
    again = parse_event(s3_event("training/fraud/day%3D1+copy.csv"), data_bucket=BUCKET)
    assert again.run_id == request.run_id
    other = parse_event(
        s3_event("training/fraud/day%3D1+copy.csv", sequencer="00B2"), data_bucket=BUCKET
    )
    assert other.run_id != request.run_id  # the same key uploaded again is a new run


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("training/file.csv", "outside training/<model>/<file>"),
        ("other/fraud/file.csv", "outside training/<model>/<file>"),
        ("training/fraud/", "outside training/<model>/<file>"),
        ("training/Bad_Name/file.csv", "invalid model name"),
    ],
)
def test_keys_outside_a_model_folder_are_rejected(key: str, problem: str) -> None:
    with pytest.raises(TriggerRejectedError, match=re.escape(problem)):
        model_from_key(key)


def test_upload_in_another_bucket_is_rejected() -> None:
    with pytest.raises(TriggerRejectedError, match="not in the data bucket"):
        parse_event(s3_event("training/fraud/a.csv", bucket="elsewhere"), data_bucket=BUCKET)


def alarm_event(
    name: str, state: str = "ALARM", dimensions: dict[str, str] | None = None
) -> dict[str, object]:
    metric = {
        "metricStat": {
            "metric": {"namespace": "MLOps", "name": "Drift", "dimensions": dimensions or {}}
        }
    }
    return {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "resources": [f"arn:aws:cloudwatch:us-east-1:1:alarm:{name}"],
        "detail": {
            "alarmName": name,
            "state": {"value": state, "timestamp": "2026-11-27T10:00:00.000+0000"},
            "configuration": {"metrics": [metric]},
        },
    }


def test_alarm_names_its_model_by_name_or_by_dimension() -> None:
    by_name = parse_event(alarm_event("mlops/fraud/retrain/drift"), data_bucket=BUCKET)
    by_dimension = parse_event(
        alarm_event("quality-low", dimensions={"Model": "churn"}), data_bucket=BUCKET
    )

    assert (by_name.model, by_name.data_uri) == ("fraud", None)
    assert by_name.trigger.kind is TriggerKind.ALARM
    assert by_name.trigger.source_id.endswith("alarm:mlops/fraud/retrain/drift")
    assert by_dimension.model == "churn"
    assert (
        by_name.run_id
        == parse_event(alarm_event("mlops/fraud/retrain/drift"), data_bucket=BUCKET).run_id
    )


def test_alarm_without_a_model_is_rejected_and_ok_state_ignored() -> None:
    with pytest.raises(TriggerRejectedError, match="names no model"):
        parse_event(alarm_event("cpu-high"), data_bucket=BUCKET)
    with pytest.raises(TriggerIgnoredError):
        parse_event(alarm_event("mlops/fraud/retrain/drift", state="OK"), data_bucket=BUCKET)


def test_schedule_event_from_the_rules_input_transformer() -> None:
    event = {"source": "mlops.schedule", "model": "fraud", "time": "2026-11-27T00:00:00Z"}
    request = parse_event(event, data_bucket=BUCKET)
    assert request.trigger.kind is TriggerKind.SCHEDULE
    assert request.data_uri is None
    assert request.run_id == run_ids.schedule_run_id("fraud", "2026-11-27T00:00:00Z")
    with pytest.raises(TriggerRejectedError, match="'model' and 'time'"):
        parse_event({"source": "mlops.schedule", "model": "fraud"}, data_bucket=BUCKET)


@pytest.mark.parametrize("event", [None, [], {"source": "aws.ec2", "detail-type": "x"}])
def test_unsupported_events_are_rejected(event: object) -> None:
    with pytest.raises(TriggerRejectedError, match="unsupported trigger event"):
        parse_event(event, data_bucket=BUCKET)


def test_run_ids_are_valid_execution_names_even_for_the_longest_model() -> None:
    model = "m" + "x" * 38 + "z"  # 40 characters, the longest valid name
    ids = [
        run_ids.s3_run_id(model, "b", "k", "s"),
        run_ids.alarm_run_id(model, "a", "t"),
        run_ids.schedule_run_id(model, "t"),
        run_ids.manual_run_id(model, "s3://b/k", "n"),
    ]
    assert all(EXECUTION_NAME.match(run_id) for run_id in ids), ids
    assert len(set(ids)) == 4
    assert run_ids.manual_run_id(model, "s3://b/k", "n") != run_ids.manual_run_id(
        model, "s3://b/k", "m"
    )
