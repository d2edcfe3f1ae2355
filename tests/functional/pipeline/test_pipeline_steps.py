"""The pipeline's handlers on moto, driven in the state machine's order."""

from __future__ import annotations

import gzip
import json

import pytest
from pipeline_env import FakeContext, PipelineEnv, drive_pipeline

from mlops.artifacts import ArtifactIntegrityError, ArtifactStore, sha256_hex, split_s3_uri
from mlops.handlers import validate
from mlops.pipeline.demo_data import make_rows, make_spec, to_csv
from mlops.pipeline.errors import TransientError
from mlops.pipeline.payloads import TrainInput
from mlops.pipeline.train import run_training
from mlops.registry import (
    AliasName,
    ModelVersion,
    NewVersion,
    RunStatus,
    Trigger,
    TriggerKind,
    VersionStatus,
)


def _input(env: PipelineEnv, model: str, uri: str, run_id: str) -> dict[str, object]:
    trigger = Trigger(kind=TriggerKind.MANUAL, source_id="test", detail={})
    return {
        "run_id": run_id,
        "model": model,
        "data_uri": uri,
        "trigger": trigger.model_dump(mode="json"),
    }


def _read(env: PipelineEnv, uri: str) -> bytes:
    bucket, key = split_s3_uri(uri)
    return env.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_first_run_promotes_and_every_record_agrees(pipeline_env: PipelineEnv) -> None:
    # Given a binary spec and a clean training file
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    uri = env.upload("training/fraud/day1.csv", to_csv(make_rows("binary", 400, seed=1)))

    # When the pipeline runs
    summary = drive_pipeline(_input(env, "fraud", uri, "fraud-manual-1"))

    # Then version 1 serves, and registry, artifacts and reports agree
    assert summary["status"] == "succeeded", summary
    version = env.store.resolve("fraud", alias=AliasName.PRODUCTION)
    assert version.version == 1
    assert version.status is VersionStatus.PRODUCTION
    assert version.artifact is not None
    onnx_bytes = ArtifactStore(env.s3, env.settings.artifact_bucket).load_ref(version.artifact)
    assert sha256_hex(onnx_bytes) == version.artifact.sha256
    assert version.code_version == "abc1234"
    assert version.data is not None
    assert version.data.sha256 == sha256_hex(_read(env, uri))
    assert version.data.rows == 400
    assert version.classes == ["no", "yes"]
    assert version.run_id == "fraud-manual-1"
    assert {"accuracy", "roc_auc", "f1", "log_loss"} <= set(version.metrics)
    metadata = json.loads(_read(env, version.reports["metadata"]))
    assert metadata["artifact"]["sha256"] == version.artifact.sha256
    assert metadata["data"]["sha256"] == version.data.sha256
    report = json.loads(_read(env, version.reports["evaluation"]))
    assert report["metrics"] == pytest.approx(version.metrics)
    html = _read(env, version.reports["evaluation_html"]).decode()
    assert "<svg" in html
    holdout = gzip.decompress(_read(env, version.reports["holdout"])).decode().splitlines()
    assert len(holdout) == metadata["split"]["holdout_rows"]
    baseline = json.loads(_read(env, version.reports["baseline"]))
    assert baseline  # the drift monitor's reference
    run = env.store.get_run("fraud-manual-1")
    assert run.status is RunStatus.SUCCEEDED
    assert run.version == 1
    assert [step.name for step in run.steps] == [
        "validate",
        "train",
        "evaluate",
        "gate",
        "finalize",
    ]
    assert all(step.finished_at is not None for step in run.steps)
    [message] = env.notifications()
    assert message["body"]["outcome"] == "succeeded"
    assert message["body"]["version"] == 1
    assert message["body"]["links"]["evaluation_html"] == version.reports["evaluation_html"]


def test_better_data_promotes_again_and_worse_is_rejected(pipeline_env: PipelineEnv) -> None:
    env = pipeline_env
    env.store.put_spec(
        "fraud",
        make_spec("fraud", "binary", gate={"metric": "accuracy", "min_improvement": 0.01}),
        actor="test",
    )
    noisy = env.upload("training/fraud/a.csv", to_csv(make_rows("binary", 80, seed=1, noise=0.45)))
    assert drive_pipeline(_input(env, "fraud", noisy, "run-a"))["status"] == "succeeded"

    clean = env.upload("training/fraud/b.csv", to_csv(make_rows("binary", 600, seed=2, noise=0.0)))
    assert drive_pipeline(_input(env, "fraud", clean, "run-b"))["status"] == "succeeded"
    assert env.store.resolve("fraud").version == 2
    assert env.store.get_version("fraud", 1).status is VersionStatus.ARCHIVED

    worse = env.upload("training/fraud/c.csv", to_csv(make_rows("binary", 80, seed=3, noise=0.45)))
    summary = drive_pipeline(_input(env, "fraud", worse, "run-c"))
    assert summary["status"] == "rejected"
    assert "accuracy" in summary["reason"]
    assert "vs production" in summary["reason"]
    rejected = env.store.get_version("fraud", 3)
    assert rejected.status is VersionStatus.REJECTED
    assert rejected.status_reason == summary["reason"].removeprefix("rejected: ")
    assert env.store.resolve("fraud").version == 2


def test_invalid_file_is_rejected_before_training(pipeline_env: PipelineEnv) -> None:
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    uri = env.upload("training/fraud/bad.csv", b"x1,x2,colour,label\n1,2,red,yes\n")

    summary = drive_pipeline(_input(env, "fraud", uri, "run-bad"))

    assert summary["status"] == "rejected"
    assert "x3" in summary["reason"]
    assert env.store.list_versions("fraud").items == []
    report = json.loads(
        _read(env, f"s3://{env.settings.artifact_bucket}/runs/run-bad/validation.json")
    )
    assert report["valid"] is False
    run = env.store.get_run("run-bad")
    assert run.status is RunStatus.REJECTED
    assert [step.outcome for step in run.steps] == ["invalid", "rejected"]


def test_a_step_that_raises_fails_the_version_and_leaves_production(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    first = env.upload("training/fraud/a.csv", to_csv(make_rows("binary", 300, seed=1)))
    assert drive_pipeline(_input(env, "fraud", first, "run-a"))["status"] == "succeeded"

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("evaluation exploded")

    monkeypatch.setattr("mlops.handlers.evaluate.run_evaluation", broken)
    second = env.upload("training/fraud/b.csv", to_csv(make_rows("binary", 300, seed=2)))
    summary = drive_pipeline(_input(env, "fraud", second, "run-b"))

    assert summary["status"] == "failed"
    assert summary["reason"] == "RuntimeError: evaluation exploded"
    failed = env.store.get_version("fraud", 2)
    assert failed.status is VersionStatus.FAILED
    assert failed.status_reason == "RuntimeError: evaluation exploded"
    assert env.store.resolve("fraud").version == 1


def test_tampered_production_artifact_fails_the_run(pipeline_env: PipelineEnv) -> None:
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    first = env.upload("training/fraud/a.csv", to_csv(make_rows("binary", 300, seed=1)))
    drive_pipeline(_input(env, "fraud", first, "run-a"))
    production = env.store.resolve("fraud")
    assert production.artifact is not None
    bucket, key = split_s3_uri(production.artifact.uri)
    env.s3.put_object(Bucket=bucket, Key=key, Body=b"not the model")

    second = env.upload("training/fraud/b.csv", to_csv(make_rows("binary", 300, seed=2)))
    summary = drive_pipeline(_input(env, "fraud", second, "run-b"))

    assert summary["status"] == "failed"
    assert summary["reason"].startswith(ArtifactIntegrityError.__name__)
    assert env.store.resolve("fraud").version == 1


def test_a_concurrent_registration_fails_the_step_for_a_retry(pipeline_env: PipelineEnv) -> None:
    # Given another run that registers a version of the same model while this one trains
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    uri = env.upload("training/fraud/a.csv", to_csv(make_rows("binary", 200, seed=1)))
    payload = _input(env, "fraud", uri, "run-a")
    payload["validation"] = validate.handler(dict(payload), FakeContext())
    real_register = env.store.register_version

    def racing_register(name: str, draft: NewVersion, *, actor: str) -> ModelVersion:
        real_register(name, draft.model_copy(update={"run_id": "other-run"}), actor="other")
        return real_register(name, draft, actor=actor)

    artifacts = ArtifactStore(env.s3, env.settings.artifact_bucket)
    env.store.register_version = racing_register  # type: ignore[method-assign]

    # When this run registers its version
    with pytest.raises(TransientError, match="registered fraud v1 meanwhile"):
        run_training(
            TrainInput.model_validate(payload),
            store=env.store,
            s3=env.s3,
            artifacts=artifacts,
            code_version="abc",
        )

    # Then its version is failed and never points at the other version's files
    mine = env.store.get_version("fraud", 2)
    assert mine.status is VersionStatus.FAILED
    assert "version number race" in (mine.status_reason or "")
    assert env.store.get_version("fraud", 1).status is VersionStatus.REGISTERED
    [step] = [s for s in env.store.get_run("run-a").steps if s.name == "train"]
    assert step.outcome == "failed"


def test_a_file_gone_before_validation_is_rejected_not_failed(pipeline_env: PipelineEnv) -> None:
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    uri = f"s3://{env.settings.data_bucket}/training/fraud/deleted.csv"

    summary = drive_pipeline(_input(env, "fraud", uri, "run-gone"))

    assert summary["status"] == "rejected"
    assert summary["reason"] == f"cannot read {uri}: not found"
    assert env.store.list_versions("fraud").items == []


def test_a_model_without_a_spec_fails_the_run_with_a_clear_error(
    pipeline_env: PipelineEnv,
) -> None:
    env = pipeline_env
    env.store.create_model("bare", actor="test")
    uri = env.upload("training/bare/a.csv", to_csv(make_rows("binary", 100)))

    summary = drive_pipeline(_input(env, "bare", uri, "run-bare"))

    assert summary["status"] == "failed"
    assert summary["reason"] == (
        "PipelineInputError: model 'bare' has no spec: set one with `mlops specs put FILE`"
    )
