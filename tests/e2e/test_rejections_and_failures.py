"""Bad files are rejected before training, a step that raises fails its version, and
production never moves; `mlops runs show` tells why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from e2e_platform import Platform

from mlops.artifacts import ArtifactStore
from mlops.cli import main
from mlops.local.demo_data import make_rows, to_csv
from mlops.pipeline import train as train_use_case
from mlops.pipeline.errors import TransientError
from mlops.registry import RunStatus, VersionStatus

GOOD = make_rows("binary", 200, seed=1)
TRAINING_FAILURES = "mlops/training/failures"
BAD_FILES = {
    "wrong-header.csv": (b"x1,x2,shade,label\n1,2,red,yes\n", "'x3'"),
    "text-in-numeric.csv": (
        to_csv(GOOD[:99]) + b"lots,2,3,red,yes\n",
        "column 'x1', row 100",
    ),
    "empty.csv": (b"", "empty"),
    "too-few-rows.csv": (to_csv(GOOD[:10]), "10 rows"),
    "constant-label.csv": (to_csv([{**row, "label": "yes"} for row in GOOD]), "constant"),
}


def _runs_show(run_id: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["runs", "show", run_id]) == 0
    return capsys.readouterr().out


def test_bad_files_are_rejected_with_the_reason(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a model in production
    platform.put_spec("fraud", "binary")
    assert (
        platform.upload_and_wait("training/fraud/good.csv", to_csv(GOOD))["status"] == "SUCCEEDED"
    )

    for name, (body, expected) in BAD_FILES.items():
        # When a bad file is uploaded
        execution = platform.upload_and_wait(f"training/fraud/{name}", body)

        # Then the run is rejected with the reason, nothing is trained, production unchanged
        assert execution["status"] == "SUCCEEDED", name  # a rejection is a clean ending
        run = platform.run_of(execution)
        assert run.status is RunStatus.REJECTED, name
        assert run.version is None
        assert expected in (run.reason or ""), (name, run.reason)
        steps = sorted(run.steps, key=lambda step: step.started_at)
        assert [step.name for step in steps] == ["trigger", "validate", "finalize"]
        output = _runs_show(run.run_id, capsys)
        assert "status:   rejected" in output
        assert expected in output, output
    assert len(platform.store.list_versions("fraud").items) == 1
    assert platform.store.resolve("fraud").version == 1


def _states_metric(platform: Platform, name: str) -> tuple[float, float]:
    """(Sum, SampleCount) of an AWS/States metric of the training state machine, last hour."""
    arn = platform.cloud.settings.training_state_machine_arn
    now = datetime.now(UTC)
    points = platform.cloud.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/States", MetricName=name, Period=3600, Statistics=["Sum", "SampleCount"],
        Dimensions=[{"Name": "StateMachineArn", "Value": arn}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1),
    )["Datapoints"]  # fmt: skip
    return (sum(p["Sum"] for p in points), sum(p["SampleCount"] for p in points))


def test_a_step_that_raises_leaves_the_version_failed(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a model in production
    platform.put_spec("fraud", "binary")
    platform.upload_and_wait("training/fraud/good.csv", to_csv(GOOD))

    # When evaluation raises inside the in-process Lambda
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full while scoring")

    monkeypatch.setattr("mlops.handlers.evaluate.run_evaluation", explode)
    execution = platform.upload_and_wait(
        "training/fraud/next.csv", to_csv(make_rows("binary", 200, seed=2))
    )

    # Then the execution fails, version 2 is failed with the error, production is untouched
    assert execution["status"] == "FAILED"
    failed = platform.store.get_version("fraud", 2)
    assert failed.status is VersionStatus.FAILED
    assert failed.status_reason == "RuntimeError: disk full while scoring"
    assert platform.store.resolve("fraud").version == 1
    run = platform.run_of(execution)
    assert run.status is RunStatus.FAILED
    assert run.version == 2
    output = _runs_show(run.run_id, capsys)
    assert "status:   failed" in output
    assert "RuntimeError: disk full while scoring" in output
    [notification] = [n for n in platform.notifications() if n["body"]["run"] == run.run_id]
    assert notification["body"]["outcome"] == "failed"
    # And the training-failure alarm fires on the execution's AWS/States metric and notifies
    changes = platform.cloud.evaluate_alarms(datetime.now(UTC))
    fired = [c["detail"] for c in changes if c["detail"]["state"]["value"] == "ALARM"]
    assert [detail["alarmName"] for detail in fired] == [TRAINING_FAILURES]
    assert any(TRAINING_FAILURES in n["subject"] for n in platform.notifications())
    # (the training state machine's metrics: one success, one failure, two execution times)
    sums = {name: _states_metric(platform, name) for name in
            ("ExecutionsSucceeded", "ExecutionsFailed", "ExecutionTime")}  # fmt: skip
    assert sums["ExecutionsSucceeded"] == sums["ExecutionsFailed"] == (1.0, 1.0)
    assert sums["ExecutionTime"][1] == 2.0


@pytest.mark.parametrize("train_marks_it", [True, False], ids=["train-marks", "process-died"])
def test_a_train_step_failing_after_registration_leaves_a_failed_version(
    platform: Platform,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    train_marks_it: bool,
) -> None:
    # Given a model in production, and an artifact bucket that refuses the next holdout file
    platform.put_spec("fraud", "binary")
    platform.upload_and_wait("training/fraud/good.csv", to_csv(GOOD))
    real_put = ArtifactStore.put

    def refuse_holdout(self: ArtifactStore, model: str, version: int, name: str, *a: Any) -> Any:
        if name == train_use_case.HOLDOUT_FILE:
            raise RuntimeError("artifact bucket full")
        return real_put(self, model, version, name, *a)

    monkeypatch.setattr(ArtifactStore, "put", refuse_holdout)
    if not train_marks_it:  # as if the Lambda died before it could mark its own version
        monkeypatch.setattr(train_use_case, "_fail", lambda *_args: None)

    # When a file is uploaded, train registers version 2 and then fails writing its files
    execution = platform.upload_and_wait(
        "training/fraud/next.csv", to_csv(make_rows("binary", 200, seed=2))
    )

    # Then Catch -> Finalize(failed) leaves version 2 failed, without an artifact
    assert execution["status"] == "FAILED"
    failed = platform.store.get_version("fraud", 2)
    assert failed.status is VersionStatus.FAILED
    assert failed.status_reason == "RuntimeError: artifact bucket full"
    assert failed.artifact is None
    assert platform.run_of(execution).version == 2
    assert platform.store.resolve("fraud").version == 1
    # And it can never be promoted: one clear line, non-zero exit
    capsys.readouterr()
    assert main(["models", "promote", "fraud", "2"]) != 0
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "version 2 of 'fraud' is failed" in error
    assert platform.store.resolve("fraud").version == 1


def test_a_transient_error_is_retried_by_the_state_machine(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a training step that hits a transient error once
    platform.put_spec("fraud", "binary")
    real_fit = train_use_case.train_model
    calls: list[str] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append("train")
        if len(calls) == 1:
            raise TransientError("S3 throttled the read")
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(train_use_case, "train_model", flaky)

    # When a file is uploaded
    execution = platform.upload_and_wait("training/fraud/good.csv", to_csv(GOOD))

    # Then Step Functions retried Train and the run completed
    assert execution["status"] == "SUCCEEDED"
    assert calls == ["train", "train"]
    assert platform.store.resolve("fraud").version == 1
    assert len(platform.store.list_versions("fraud").items) == 1
    attempts = [step for step in platform.run_of(execution).steps if step.name == "train"]
    assert [step.outcome for step in attempts] == ["failed", "ok"]
    assert attempts[0].detail["error"] == "TransientError: S3 throttled the read"
