"""start_training with fakes: checks first, the run recorded before the execution starts,
one execution per event."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from mlops.pipeline.errors import ExecutionExistsError, ObjectUnreadableError
from mlops.pipeline.events import TrainingRequest
from mlops.pipeline.s3io import StoredObject
from mlops.pipeline.trigger import TriggerDeps, execution_arn, start_training
from mlops.registry import InMemoryRegistryStore, RunNotFoundError, Trigger, TriggerKind

SM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:training"
SPEC = {"name": "fraud", "task": "binary"}  # the trigger only checks that a spec exists


@dataclass
class FakeWorld:
    store: InMemoryRegistryStore = field(default_factory=InMemoryRegistryStore)
    objects: dict[str, StoredObject] = field(default_factory=dict)
    executions: dict[str, str] = field(default_factory=dict)
    notifications: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    runs_seen_at_start: list[bool] = field(default_factory=list)

    def start(self, name: str, execution_input: str) -> str:
        try:
            self.store.get_run(name)
            self.runs_seen_at_start.append(True)
        except RunNotFoundError:
            self.runs_seen_at_start.append(False)
        if name in self.executions:
            raise ExecutionExistsError(name)
        self.executions[name] = execution_input
        return execution_arn(SM_ARN, name)

    def head(self, uri: str) -> StoredObject:
        if uri not in self.objects:
            raise ObjectUnreadableError(uri, "not found")
        return self.objects[uri]

    def newest(self, bucket: str, prefix: str) -> StoredObject | None:
        matching = [
            o for uri, o in self.objects.items() if uri.startswith(f"s3://{bucket}/{prefix}")
        ]
        return max(matching, key=lambda o: o.uri) if matching else None

    def deps(self) -> TriggerDeps:
        return TriggerDeps(
            store=self.store,
            data_bucket="data",
            state_machine_arn=SM_ARN,
            start_execution=self.start,
            head_object=self.head,
            newest_object=self.newest,
            notify=lambda subject, body: self.notifications.append((subject, body)),
        )

    def add_object(self, uri: str) -> None:
        self.objects[uri] = StoredObject(uri=uri, size=10, etag="e", last_modified=None)


def request(
    data_uri: str | None = "s3://data/training/fraud/a.csv", run_id: str = "fraud-s3-1"
) -> TrainingRequest:
    trigger = Trigger(kind=TriggerKind.S3_UPLOAD, source_id=data_uri or "rule")
    return TrainingRequest(model="fraud", trigger=trigger, run_id=run_id, data_uri=data_uri)


@pytest.fixture
def world() -> FakeWorld:
    world = FakeWorld()
    world.store.put_spec("fraud", SPEC, actor="test")
    world.add_object("s3://data/training/fraud/a.csv")
    return world


def test_started_once_then_duplicates(world: FakeWorld) -> None:
    outcomes = [start_training(request(), world.deps()).outcome for _ in range(3)]

    assert outcomes == ["started", "duplicate", "duplicate"]
    assert list(world.executions) == ["fraud-s3-1"]
    assert world.runs_seen_at_start[0] is True  # the run exists before the execution starts
    run = world.store.get_run("fraud-s3-1")
    assert run.execution_arn == execution_arn(SM_ARN, "fraud-s3-1")
    document = json.loads(world.executions["fraud-s3-1"])
    assert document == {
        "run_id": "fraud-s3-1",
        "model": "fraud",
        "data_uri": "s3://data/training/fraud/a.csv",
        "trigger": {
            "kind": "s3-upload",
            "source_id": "s3://data/training/fraud/a.csv",
            "detail": {},
        },
        "spec": SPEC,  # every step of the run uses this copy
    }
    assert world.notifications == []


def test_unknown_model_missing_spec_and_unreadable_data_are_rejected(world: FakeWorld) -> None:
    world.store.create_model("nospec", actor="test")
    ghost = TrainingRequest(
        model="ghost", trigger=request().trigger, run_id="ghost-1", data_uri=None
    )
    nospec = TrainingRequest(
        model="nospec", trigger=request().trigger, run_id="nospec-1", data_uri=None
    )
    missing = request("s3://data/training/fraud/missing.csv", run_id="fraud-s3-2")

    results = [start_training(r, world.deps()) for r in (ghost, nospec, missing)]

    assert [r.outcome for r in results] == ["rejected"] * 3
    assert "unknown model 'ghost'" in (results[0].reason or "")
    assert "has no spec" in (results[1].reason or "")
    assert "cannot read s3://data/training/fraud/missing.csv" in (results[2].reason or "")
    assert world.executions == {}
    assert [body["reason"] for _, body in world.notifications] == [r.reason for r in results]


def test_runs_without_a_data_file_use_the_newest_object(world: FakeWorld) -> None:
    world.add_object("s3://data/training/fraud/b.csv")
    outcome = start_training(request(None, run_id="fraud-schedule-1"), world.deps())
    assert outcome.outcome == "started"
    assert outcome.data_uri == "s3://data/training/fraud/b.csv"


def test_no_data_at_all_is_rejected() -> None:
    world = FakeWorld()
    world.store.put_spec("fraud", SPEC, actor="test")
    outcome = start_training(request(None), world.deps())
    assert outcome.outcome == "rejected"
    assert outcome.reason == "no training data under s3://data/training/fraud/"
