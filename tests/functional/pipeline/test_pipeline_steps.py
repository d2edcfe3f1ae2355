"""The pipeline's handlers on moto, driven in the state machine's order."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pipeline_env import PipelineEnv, drive_pipeline

from mlops.artifacts import ArtifactIntegrityError, ArtifactStore, sha256_hex, split_s3_uri
from mlops.domain.snapshot import table_from_npz
from mlops.handlers import evaluate, finalize, gate, validate
from mlops.local.demo_data import make_rows, make_spec, to_csv
from mlops.local.isolation import serialized_dynamodb
from mlops.pipeline import train as train_use_case
from mlops.pipeline.errors import PipelineInputError
from mlops.pipeline.payloads import TrainingResult, TrainInput
from mlops.pipeline.train import run_training
from mlops.registry import (
    AliasName,
    ModelVersion,
    NewVersion,
    NotPromotableError,
    RunStatus,
    Trigger,
    TriggerKind,
    VersionStatus,
)
from mlops.serving.local_server import LocalLambdaContext


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
    holdout = table_from_npz(_read(env, version.reports["holdout"]))
    assert holdout.n_rows == metadata["split"]["holdout_rows"]
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


def _validated(env: PipelineEnv, run_id: str, seed: int) -> TrainInput:
    uri = env.upload(f"training/fraud/{run_id}.csv", to_csv(make_rows("binary", 200, seed=seed)))
    payload = _input(env, "fraud", uri, run_id)
    payload["validation"] = validate.handler(dict(payload), LocalLambdaContext())
    return TrainInput.model_validate(payload)


def _train(env: PipelineEnv, payload: TrainInput) -> TrainingResult:
    artifacts = ArtifactStore(env.s3, env.settings.artifact_bucket)
    return run_training(payload, store=env.store, artifacts=artifacts, code_version="abc")


def _assert_intact(env: PipelineEnv, result: TrainingResult, run_id: str) -> None:
    """The version, its ONNX file (sha256 verified) and its metadata all belong to run_id."""
    version = env.store.get_version("fraud", result.version)
    assert version.run_id == run_id
    assert version.artifact == result.artifact
    assert f"/models/fraud/{result.version}/" in version.artifact.uri
    onnx_bytes = ArtifactStore(env.s3, env.settings.artifact_bucket).load_ref(version.artifact)
    assert sha256_hex(onnx_bytes) == version.artifact.sha256
    metadata = json.loads(_read(env, version.reports["metadata"]))
    assert (metadata["run_id"], metadata["version"]) == (run_id, result.version)
    assert metadata["artifact"] == version.artifact.model_dump(mode="json")
    assert version.reports["holdout"] == result.holdout_uri


def test_a_run_training_in_anothers_window_gets_its_own_version_and_folder(
    pipeline_env: PipelineEnv,
) -> None:
    # Given two runs of one model, and run B training start to finish in the window between
    # run A's registration and A's artifact writes (where a guessed number would collide)
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    run_a, run_b = _validated(env, "run-a", seed=1), _validated(env, "run-b", seed=2)
    results: dict[str, TrainingResult] = {}
    real_register = env.store.register_version

    def register_then_let_b_train(name: str, draft: NewVersion, *, actor: str) -> ModelVersion:
        registered = real_register(name, draft, actor=actor)
        if draft.run_id == "run-a":
            assert registered.artifact is None  # not servable until attached
            with pytest.raises(NotPromotableError, match="no model artifact"):
                env.store.promote(name, registered.version, actor="test")
            results["run-b"] = _train(env, run_b)
        return registered

    env.store.register_version = register_then_let_b_train  # type: ignore[method-assign]

    # When run A trains
    results["run-a"] = _train(env, run_a)

    # Then each run has its own version number, folder and intact artifacts
    assert (results["run-a"].version, results["run-b"].version) == (1, 2)
    for run_id, result in results.items():
        _assert_intact(env, result, run_id)
    assert results["run-a"].artifact.sha256 != results["run-b"].artifact.sha256


def test_concurrent_trainings_of_one_model_get_distinct_versions_with_intact_artifacts(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three runs of one model that finish fitting together, then register together and
    # write their artifacts together
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    runs = {f"run-{n}": _validated(env, f"run-{n}", seed=n) for n in range(3)}
    all_fitted = threading.Barrier(len(runs), timeout=60)
    all_registered = threading.Barrier(len(runs), timeout=60)
    real_fit, real_register = train_use_case.train_model, env.store.register_version

    def fit_and_wait(*args: Any, **kwargs: Any) -> Any:
        fitted = real_fit(*args, **kwargs)
        all_fitted.wait()
        return fitted

    def register_and_wait(name: str, draft: NewVersion, *, actor: str) -> ModelVersion:
        registered = real_register(name, draft, actor=actor)
        all_registered.wait()
        return registered

    monkeypatch.setattr(train_use_case, "train_model", fit_and_wait)
    env.store.register_version = register_and_wait  # type: ignore[method-assign]

    # When they train at once, on threads
    with serialized_dynamodb(), ThreadPoolExecutor(len(runs)) as pool:
        futures = {run_id: pool.submit(_train, env, payload) for run_id, payload in runs.items()}
        results = {run_id: future.result(timeout=120) for run_id, future in futures.items()}

    # Then every run succeeded with its own version, gapless, and its own intact artifacts
    assert sorted(result.version for result in results.values()) == [1, 2, 3]
    for run_id, result in results.items():
        _assert_intact(env, result, run_id)


def test_a_failed_artifact_write_leaves_a_failed_version_that_never_serves(
    pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an artifact bucket that refuses the holdout file
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    payload = _validated(env, "run-a", seed=1)
    real_put = ArtifactStore.put

    def refuse_holdout(self: ArtifactStore, model: str, version: int, name: str, *a: Any) -> Any:
        if name == train_use_case.HOLDOUT_FILE:
            raise RuntimeError("bucket full")
        return real_put(self, model, version, name, *a)

    monkeypatch.setattr(ArtifactStore, "put", refuse_holdout)

    # When the run trains
    with pytest.raises(RuntimeError, match="bucket full"):
        _train(env, payload)

    # Then its version is failed, has no artifact, and cannot be promoted
    version = env.store.get_version("fraud", 1)
    assert (version.status, version.status_reason) == (
        VersionStatus.FAILED,
        "RuntimeError: bucket full",
    )
    assert version.artifact is None
    with pytest.raises(NotPromotableError):
        env.store.promote("fraud", 1, actor="test")


def test_a_retried_train_step_fails_the_version_its_lost_attempt_left(
    pipeline_env: PipelineEnv,
) -> None:
    # Given a version an earlier attempt of this run registered before its Lambda died
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    payload = _validated(env, "run-a", seed=1)
    lost = NewVersion(task="binary", estimator="x", trigger=payload.trigger, run_id="run-a")
    env.store.register_version("fraud", lost, actor="pipeline:run-a")

    # When the step runs again, the new attempt has its own version
    result = _train(env, payload)
    assert result.version == 2
    _assert_intact(env, result, "run-a")
    assert env.store.get_version("fraud", 1).status is VersionStatus.REGISTERED  # never servable

    # And when the run finishes, the version promoted and the lost one failed with the reason
    state = {**payload.model_dump(mode="json"), "training": result.model_dump(mode="json")}
    context = LocalLambdaContext()
    state["evaluation"] = evaluate.handler(dict(state), context)
    state["gate"] = gate.handler(dict(state), context)
    finalize.handler({"outcome": "completed", "execution_id": "local", "state": state}, context)
    assert env.store.resolve("fraud").version == 2
    abandoned = env.store.get_version("fraud", 1)
    assert abandoned.status is VersionStatus.FAILED
    assert abandoned.status_reason == "abandoned: the train step was retried"


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


def _validated_with_snapshot(env: PipelineEnv) -> tuple[TrainInput, str]:
    """Run "run-a" of model fraud through Validate; its payload and its snapshot's URI."""
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    payload = _validated(env, "run-a", seed=1)
    assert payload.validation.table is not None
    return payload, payload.validation.table.uri


def test_train_fits_the_rows_validation_checked_even_if_the_file_is_replaced(
    pipeline_env: PipelineEnv,
) -> None:
    # Given a validated run whose data file is then overwritten with something unreadable
    env = pipeline_env
    payload, _ = _validated_with_snapshot(env)
    env.upload("training/fraud/run-a.csv", b"not,the,data\n")

    # When the run trains
    result = _train(env, payload)

    # Then it trained on the validated snapshot: the version records the validated file
    version = env.store.get_version("fraud", result.version)
    assert version.data == payload.validation.data
    metadata = json.loads(_read(env, version.reports["metadata"]))
    split = metadata["split"]
    assert split["train_rows"] + split["holdout_rows"] == payload.validation.data.rows == 200


def test_a_tampered_validated_table_fails_the_train_step_with_the_reason(
    pipeline_env: PipelineEnv,
) -> None:
    # Given a validated run whose snapshot was replaced after validation
    env = pipeline_env
    payload, snapshot_uri = _validated_with_snapshot(env)
    bucket, key = split_s3_uri(snapshot_uri)
    env.s3.put_object(Bucket=bucket, Key=key, Body=b"PK\x03\x04 forged")

    # When the run trains, then nothing is fitted or registered and the error says why
    with pytest.raises(PipelineInputError, match=r"validated table is unusable: .*sha256"):
        _train(env, payload)
    assert env.store.list_versions("fraud").items == []
