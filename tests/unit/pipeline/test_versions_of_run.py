"""A run finds the versions it registered however many other runs registered after it."""

from __future__ import annotations

from mlops.pipeline.recording import versions_of_run
from mlops.registry import InMemoryRegistryStore, NewVersion, Run, Trigger, TriggerKind

TRIGGER = Trigger(kind=TriggerKind.MANUAL, source_id="test")


def register(store: InMemoryRegistryStore, run_id: str) -> int:
    draft = NewVersion(
        task="binary", estimator="LogisticRegression", trigger=TRIGGER, run_id=run_id
    )
    return store.register_version("fraud", draft, actor="test").version


def start(store: InMemoryRegistryStore, run_id: str) -> None:
    store.create_run(Run(run_id=run_id, model="fraud", trigger=TRIGGER, data_uri="s3://d/k"))


def test_a_runs_version_is_found_behind_many_newer_ones() -> None:
    store = InMemoryRegistryStore()
    store.create_model("fraud", actor="test")
    start(store, "run-a")
    mine = register(store, "run-a")
    for _ in range(120):  # more than two pages of other runs' versions
        register(store, "run-b")

    assert [version.version for version in versions_of_run(store, "fraud", "run-a")] == [mine]


def test_versions_from_before_the_run_started_are_not_its_own() -> None:
    store = InMemoryRegistryStore()
    store.create_model("fraud", actor="test")
    register(store, "reused-id")  # an older version that happens to carry the same id
    start(store, "reused-id")
    newer = register(store, "reused-id")

    assert [version.version for version in versions_of_run(store, "fraud", "reused-id")] == [newer]
