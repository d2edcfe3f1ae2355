"""Runs started by an alarm or a schedule train on the newest object under the spec's
retraining.data_prefix when it is set, else under training/<model>/."""

from __future__ import annotations

import json

import pytest
from test_start_training import SM_ARN, FakeWorld

from mlops.domain.spec import SpecError, parse_spec
from mlops.pipeline.events import parse_event
from mlops.pipeline.trigger import execution_arn, start_training
from mlops.registry import InMemoryRegistryStore

CURATED = "curated/fraud/"
ALARM_EVENT = {
    "source": "aws.cloudwatch",
    "detail-type": "CloudWatch Alarm State Change",
    "time": "2026-05-01T10:00:00Z",
    "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:mlops/fraud/retrain/drift"],
    "detail": {
        "alarmName": "mlops/fraud/retrain/drift",
        "state": {"value": "ALARM", "timestamp": "2026-05-01T10:00:00.000+0000", "reason": "r"},
    },
}
SCHEDULE_EVENT = {"source": "mlops.schedule", "model": "fraud", "time": "2026-05-02T00:00:00Z"}
UPLOAD_EVENT = {
    "source": "aws.s3",
    "detail-type": "Object Created",
    "detail": {
        "bucket": {"name": "data"},
        "object": {"key": "training/fraud/upload.csv", "etag": "e1"},
    },
}


def world_with(spec: dict[str, object]) -> FakeWorld:
    world = FakeWorld(store=InMemoryRegistryStore())
    world.store.put_spec("fraud", spec, actor="test")
    for key in (
        "training/fraud/z-newest-upload.csv",
        "training/fraud/upload.csv",
        "curated/fraud/2026-04-30.csv",
        "curated/fraud/2026-05-01.csv",
        "curated/other/2026-06-01.csv",
    ):
        world.add_object(f"s3://data/{key}")
    return world


def data_uri_of(world: FakeWorld, event: dict[str, object]) -> str:
    request = parse_event(event, data_bucket="data")
    outcome = start_training(request, world.deps())
    assert outcome.outcome == "started", outcome.reason
    assert outcome.execution_arn == execution_arn(SM_ARN, request.run_id)
    document = json.loads(world.executions[request.run_id])
    assert document["data_uri"] == outcome.data_uri
    return str(outcome.data_uri)


@pytest.mark.parametrize("event", [ALARM_EVENT, SCHEDULE_EVENT], ids=["alarm", "schedule"])
def test_alarm_and_schedule_runs_use_the_configured_location(event: dict[str, object]) -> None:
    world = world_with({"name": "fraud", "retraining": {"data_prefix": CURATED}})
    assert data_uri_of(world, event) == "s3://data/curated/fraud/2026-05-01.csv"


@pytest.mark.parametrize("event", [ALARM_EVENT, SCHEDULE_EVENT], ids=["alarm", "schedule"])
def test_without_a_configured_location_runs_use_the_models_training_prefix(
    event: dict[str, object],
) -> None:
    for spec in ({"name": "fraud"}, {"name": "fraud", "retraining": {"data_prefix": None}}):
        world = world_with(spec)
        assert data_uri_of(world, event) == "s3://data/training/fraud/z-newest-upload.csv"


def test_an_upload_trains_on_the_uploaded_file_whatever_the_configured_location() -> None:
    world = world_with({"name": "fraud", "retraining": {"data_prefix": CURATED}})
    assert data_uri_of(world, UPLOAD_EVENT) == "s3://data/training/fraud/upload.csv"


def test_an_empty_configured_location_rejects_the_run_and_names_it() -> None:
    world = world_with({"name": "fraud", "retraining": {"data_prefix": "curated/none/"}})
    outcome = start_training(parse_event(ALARM_EVENT, data_bucket="data"), world.deps())
    assert outcome.outcome == "rejected"
    assert outcome.reason == "no training data under s3://data/curated/none/"
    assert world.executions == {}
    assert [body["reason"] for _, body in world.notifications] == [outcome.reason]


SPEC = {
    "name": "fraud",
    "task": "binary",
    "target": "label",
    "features": [{"name": "amount", "type": "numeric"}],
    "estimator": {"kind": "logistic_regression"},
}


def test_the_spec_accepts_a_relative_prefix_and_defaults_to_none() -> None:
    assert parse_spec(SPEC).retraining.data_prefix is None
    spec = parse_spec({**SPEC, "retraining": {"data_prefix": CURATED}})
    assert spec.retraining.data_prefix == CURATED
    assert spec.model_dump()["retraining"] == {"data_prefix": CURATED}


@pytest.mark.parametrize(
    "prefix", ["curated/fraud", "/curated/", "curated/../secrets/", "curated//x/", ""]
)
def test_the_spec_refuses_prefixes_that_are_not_relative_folders(prefix: str) -> None:
    with pytest.raises(SpecError, match=r"retraining\.data_prefix: must be a relative key prefix"):
        parse_spec({**SPEC, "retraining": {"data_prefix": prefix}})


def test_the_spec_refuses_unknown_retraining_fields() -> None:
    with pytest.raises(SpecError, match=r"retraining\.prefix"):
        parse_spec({**SPEC, "retraining": {"prefix": CURATED}})
