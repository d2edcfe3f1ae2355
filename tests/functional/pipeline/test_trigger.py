"""The trigger function on moto: events in, at most one execution per event out."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from pipeline_env import REGION, PipelineEnv

from mlops import settings
from mlops.handlers import trigger
from mlops.local.demo_data import make_rows, make_spec, to_csv
from mlops.registry import RunStatus, TriggerKind
from mlops.serving.local_server import LocalLambdaContext


@pytest.fixture
def state_machine(pipeline_env: PipelineEnv, monkeypatch: pytest.MonkeyPatch) -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name="training",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    monkeypatch.setenv("MLOPS_TRAINING_STATE_MACHINE_ARN", arn)
    settings.reset_settings()
    return str(arn)


def _executions(arn: str) -> list[dict[str, object]]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return list(sfn.list_executions(stateMachineArn=arn)["executions"])


def upload_event(bucket: str, key: str, sequencer: str = "0062E99A88DC407460") -> dict[str, object]:
    return {
        "version": "0",
        "id": "event-1",
        "source": "aws.s3",
        "detail-type": "Object Created",
        "time": "2026-11-27T10:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 10, "etag": "abc", "sequencer": sequencer},
            "reason": "PutObject",
        },
    }


def test_upload_delivered_three_times_starts_one_execution(
    pipeline_env: PipelineEnv, state_machine: str
) -> None:
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    env.upload("training/fraud/day 1.csv", to_csv(make_rows("binary", 60)))
    event = upload_event(env.settings.data_bucket, "training/fraud/day+1.csv")

    outcomes = [trigger.handler(event, LocalLambdaContext())["outcome"] for _ in range(3)]

    assert outcomes == ["started", "duplicate", "duplicate"]
    [execution] = _executions(state_machine)
    run = env.store.get_run(str(execution["name"]))
    assert run.model == "fraud"
    assert run.status is RunStatus.RUNNING
    assert run.data_uri == f"s3://{env.settings.data_bucket}/training/fraud/day 1.csv"
    assert run.trigger.kind is TriggerKind.S3_UPLOAD
    assert run.execution_arn == execution["executionArn"]
    assert [(step.name, step.outcome) for step in run.steps] == [
        ("trigger", "started"),
        ("trigger", "duplicate"),
        ("trigger", "duplicate"),
    ]


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("training/ghost/a.csv", "unknown model 'ghost'"),
        ("training/a.csv", "outside training/<model>/<file>"),
        ("training/fraud/missing.csv", "cannot read"),
    ],
)
def test_bad_upload_events_start_nothing_and_notify(
    pipeline_env: PipelineEnv, state_machine: str, key: str, problem: str
) -> None:
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")

    result = trigger.handler(upload_event(env.settings.data_bucket, key), LocalLambdaContext())

    assert result["outcome"] == "rejected"
    assert problem in result["reason"]
    assert _executions(state_machine) == []
    [message] = env.notifications()
    assert message["body"]["outcome"] == "rejected"
    assert problem in message["body"]["reason"]


def test_alarm_and_schedule_train_on_the_newest_object(
    pipeline_env: PipelineEnv, state_machine: str
) -> None:
    env = pipeline_env
    env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    env.upload("training/fraud/2026-11-26.csv", to_csv(make_rows("binary", 60, seed=1)))
    newest = env.upload("training/fraud/2026-11-27.csv", to_csv(make_rows("binary", 60, seed=2)))
    alarm = {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "resources": [f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:mlops/fraud/retrain/drift"],
        "detail": {
            "alarmName": "mlops/fraud/retrain/drift",
            "state": {"value": "ALARM", "timestamp": datetime.now(UTC).isoformat()},
        },
    }
    schedule = {"source": "mlops.schedule", "model": "fraud", "time": "2026-11-27T00:00:00Z"}

    results = [trigger.handler(event, LocalLambdaContext()) for event in (alarm, schedule)]

    assert [result["outcome"] for result in results] == ["started", "started"]
    assert {result["data_uri"] for result in results} == {newest}
    kinds = {env.store.get_run(str(r["run_id"])).trigger.kind for r in results}
    assert kinds == {TriggerKind.ALARM, TriggerKind.SCHEDULE}
    assert len(_executions(state_machine)) == 2


def test_alarm_leaving_alarm_state_is_ignored(
    pipeline_env: PipelineEnv, state_machine: str
) -> None:
    event = {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "detail": {"alarmName": "mlops/fraud/retrain/drift", "state": {"value": "OK"}},
    }
    assert trigger.handler(event, LocalLambdaContext())["outcome"] == "ignored"
    assert _executions(state_machine) == []


def test_schedule_without_data_is_rejected(pipeline_env: PipelineEnv, state_machine: str) -> None:
    pipeline_env.store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")
    event = {"source": "mlops.schedule", "model": "fraud", "time": "2026-11-27T00:00:00Z"}

    result = trigger.handler(event, LocalLambdaContext())

    assert result["outcome"] == "rejected"
    assert "no training data under" in result["reason"]
    assert _executions(state_machine) == []
