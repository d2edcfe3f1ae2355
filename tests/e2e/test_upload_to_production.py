"""A CSV dropped under training/<model>/ ends, on its own, in a production version."""

from __future__ import annotations

import json

from e2e_platform import Platform

from mlops.artifacts import ArtifactStore, sha256_hex
from mlops.local.demo_data import make_rows, to_csv
from mlops.registry import AliasName, RunStatus, VersionStatus


def test_upload_trains_evaluates_and_promotes(platform: Platform) -> None:
    # Given a spec for a binary model
    platform.put_spec("fraud", "binary")
    data = to_csv(make_rows("binary", 400, seed=1))

    # When a labelled CSV lands under training/fraud/
    execution = platform.upload_and_wait("training/fraud/2026-11-27.csv", data)

    # Then the execution succeeded and version 1 is in production
    assert execution["status"] == "SUCCEEDED", execution
    store = platform.store
    version = store.resolve("fraud", alias=AliasName.PRODUCTION)
    assert (version.version, version.status) == (1, VersionStatus.PRODUCTION)
    # and the ONNX artifact, the reports and the registry record agree
    assert version.artifact is not None
    artifacts = ArtifactStore(platform.cloud.client("s3"), platform.cloud.settings.artifact_bucket)
    model_bytes = artifacts.load_ref(version.artifact)  # sha256 verified against the registry
    assert len(model_bytes) == version.artifact.size
    metadata = json.loads(platform.read(version.reports["metadata"]))
    assert metadata["artifact"] == version.artifact.model_dump(mode="json")
    assert version.data is not None
    assert version.data.sha256 == sha256_hex(data)
    report = json.loads(platform.read(version.reports["evaluation"]))
    assert report["version"] == 1
    assert report["metrics"] == version.metrics
    assert "<svg" in platform.read(version.reports["evaluation_html"]).decode()
    run = platform.run_of(execution)
    assert run.status is RunStatus.SUCCEEDED
    assert run.version == 1
    assert version.run_id == run.run_id
    bucket = platform.cloud.settings.data_bucket
    assert version.trigger.source_id == f"s3://{bucket}/training/fraud/2026-11-27.csv"


def test_better_data_promotes_again_and_worse_data_is_rejected(platform: Platform) -> None:
    # Given a model whose gate judges accuracy, trained once on noisy labels
    platform.put_spec("fraud", "binary", gate={"metric": "accuracy", "min_improvement": 0.01})
    noisy = to_csv(make_rows("binary", 80, seed=1, noise=0.45))
    assert platform.upload_and_wait("training/fraud/day1.csv", noisy)["status"] == "SUCCEEDED"

    # When cleaner data arrives, the new version replaces production
    clean = to_csv(make_rows("binary", 600, seed=2, noise=0.0))
    assert platform.upload_and_wait("training/fraud/day2.csv", clean)["status"] == "SUCCEEDED"
    store = platform.store
    assert store.resolve("fraud").version == 2
    assert store.get_version("fraud", 1).status is VersionStatus.ARCHIVED

    # When worse data arrives, its version is rejected with the numbers, production stays
    worse = to_csv(make_rows("binary", 80, seed=3, noise=0.45))
    execution = platform.upload_and_wait("training/fraud/day3.csv", worse)
    assert execution["status"] == "SUCCEEDED"
    run = platform.run_of(execution)
    assert run.status is RunStatus.REJECTED
    assert run.version == 3
    rejected = store.get_version("fraud", 3)
    assert rejected.status is VersionStatus.REJECTED
    assert rejected.status_reason is not None
    assert "vs production" in rejected.status_reason
    assert run.reason == rejected.status_reason
    assert store.resolve("fraud").version == 2


def test_the_same_upload_event_delivered_three_times_starts_one_execution(
    platform: Platform,
) -> None:
    # Given an upload that started a run
    platform.put_spec("fraud", "binary")
    execution = platform.upload_and_wait(
        "training/fraud/once.csv", to_csv(make_rows("binary", 200, seed=1))
    )
    [delivery] = [
        call for call in platform.cloud.invocations if call.handler.endswith("trigger.handler")
    ]
    assert delivery.result["outcome"] == "started"

    # When EventBridge delivers the same event twice more
    again = [
        platform.cloud.invoke("mlops.handlers.trigger.handler", delivery.event) for _ in range(2)
    ]

    # Then nothing new starts
    assert [result["outcome"] for result in again] == ["duplicate", "duplicate"]
    assert [e["executionArn"] for e in platform.cloud.executions()] == [execution["executionArn"]]
    assert len(platform.store.list_versions("fraud").items) == 1
