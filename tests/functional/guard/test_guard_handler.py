"""The guard Lambda on moto: alarm events and schedule events, as EventBridge sends them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops import aws, settings
from mlops.handlers import guard
from mlops.local.tables import create_registry_table
from mlops.registry import (
    AliasName,
    ArtifactRef,
    AuditAction,
    DynamoDBRegistryStore,
    NewVersion,
    Trigger,
    TriggerKind,
    VersionStatus,
)
from mlops.serving.local_server import LocalLambdaContext

REGION = "us-east-1"
TABLE = "registry-guard"
MODEL = "churn"
ERRORS = f"mlops/{MODEL}/guard/errors"


@dataclass
class GuardEnv:
    store: DynamoDBRegistryStore
    cloudwatch: Any
    sqs: Any
    queue_url: str

    def notifications(self) -> list[str]:
        subjects = []
        while batch := self.sqs.receive_message(QueueUrl=self.queue_url).get("Messages"):
            for message in batch:
                subjects.append(json.loads(message["Body"])["Subject"])
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return subjects

    def alarm(self, name: str, state: str) -> None:
        self.cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="MLOps",
            MetricName="CanaryFailed",
            Statistic="Average",
            Period=60,
            EvaluationPeriods=1,
            Threshold=0.05,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        self.cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="1 of 1")

    def canary_started(self) -> datetime:
        candidate = self.store.get_alias(MODEL, AliasName.CANDIDATE)
        assert candidate is not None
        return candidate.updated_at


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[GuardEnv]:
    for key, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "MLOPS_REGISTRY_TABLE": TABLE,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_registry_table(dynamodb, TABLE)
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="notify")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="notify-copy")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
        monkeypatch.setenv("MLOPS_NOTIFICATION_TOPIC_ARN", topic)
        settings.reset_settings()
        aws.reset_clients()
        store = DynamoDBRegistryStore(TABLE, dynamodb)
        store.put_spec(MODEL, {"promotion": {"mode": "canary", "guard_minutes": 10}}, actor="t")
        for number in (1, 2):
            ref = ArtifactRef(uri=f"s3://a/models/{MODEL}/{number}/m.onnx", sha256="a" * 64, size=1)
            trigger = Trigger(kind=TriggerKind.MANUAL, source_id="test")
            draft = NewVersion(task="binary", estimator="rf", artifact=ref, trigger=trigger)
            store.register_version(MODEL, draft, actor="t")
        store.promote(MODEL, 1, actor="t")
        store.promote(MODEL, 2, actor="t", canary_weight=0.1)
        yield GuardEnv(store, boto3.client("cloudwatch", region_name=REGION), sqs, url)
    settings.reset_settings()
    aws.reset_clients()


def alarm_event(name: str, state: str = "ALARM") -> dict[str, Any]:
    """A `CloudWatch Alarm State Change` event as EventBridge delivers it."""
    return {
        "version": "0",
        "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{name}"],
        "detail": {
            "alarmName": name,
            "state": {
                "value": state,
                "reason": "Threshold Crossed: 1 out of the last 1 datapoints [0.4] was >= 0.05",
                "timestamp": "2026-01-01T10:00:00.000+0000",
            },
            "previousState": {"value": "OK"},
        },
    }


def sweep_event(now: datetime) -> dict[str, Any]:
    """The guard schedule's transformed input."""
    return {"source": "mlops.guard", "time": now.strftime("%Y-%m-%dT%H:%M:%SZ")}


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = guard.handler(event, LocalLambdaContext())
    return result


def test_a_guard_alarm_rolls_the_canary_back(env: GuardEnv) -> None:
    # When the canary's errors alarm enters ALARM
    env.alarm(ERRORS, "ALARM")
    result = invoke(alarm_event(ERRORS))

    # Then the canary is rejected with the alarm's reason; production serves on
    [outcome] = result["outcomes"]
    assert (outcome["outcome"], outcome["version"]) == ("rolled-back", 2)
    version = env.store.get_version(MODEL, 2)
    assert version.status is VersionStatus.REJECTED
    assert version.status_reason is not None
    assert version.status_reason.startswith(f"{ERRORS} in ALARM: Threshold Crossed")
    assert env.store.get_alias(MODEL, AliasName.CANDIDATE) is None
    assert env.store.resolve(MODEL).version == 1
    event = env.store.history(MODEL)[-1]
    assert (event.action, event.actor) == (AuditAction.CANDIDATE_REJECTED, f"guard:{ERRORS}")
    assert env.notifications() == [f"mlops: canary v2 of {MODEL} rolled back"]

    # And the same alarm delivered again (EventBridge retries) changes nothing more
    again = invoke(alarm_event(ERRORS))
    assert again["outcomes"][0]["outcome"] == "ignored"
    assert env.store.history(MODEL)[-1] == event


def test_alarms_returning_to_ok_are_ignored(env: GuardEnv) -> None:
    result = invoke(alarm_event(ERRORS, state="OK"))
    assert result["outcomes"] == []
    assert "not ALARM" in result["ignored"]
    assert env.store.get_version(MODEL, 2).status is VersionStatus.CANDIDATE


def test_a_malformed_event_fails_naming_the_field(env: GuardEnv) -> None:
    with pytest.raises(ValueError, match="time must be an ISO 8601 time"):
        invoke({"source": "mlops.guard", "time": "soon"})
    assert env.store.get_version(MODEL, 2).status is VersionStatus.CANDIDATE


def test_the_sweep_promotes_a_canary_after_a_clean_guard_period(env: GuardEnv) -> None:
    # Given a retrain alarm in ALARM (not a guard alarm: it does not hold the canary back)
    env.alarm(f"mlops/{MODEL}/retrain/drift", "ALARM")
    started = env.canary_started()

    # When the schedule fires during the period, then after it
    during = invoke(sweep_event(started + timedelta(minutes=5)))
    after = invoke(sweep_event(started + timedelta(minutes=11)))

    # Then the canary was watched, then promoted; the promotion is audited and notified
    assert [o["outcome"] for o in during["outcomes"] + after["outcomes"]] == [
        "watching",
        "promoted",
    ]
    assert env.store.resolve(MODEL).version == 2
    assert env.store.get_version(MODEL, 1).status is VersionStatus.ARCHIVED
    event = env.store.history(MODEL)[-1]
    assert (event.actor, event.reason) == ("guard:sweep", "guard period of 10 min passed clean")
    assert env.notifications() == [f"mlops: canary v2 of {MODEL} promoted to production"]


def test_the_sweep_catches_a_guard_alarm_whose_event_was_missed(env: GuardEnv) -> None:
    # Given a guard alarm in ALARM since after the canary started, its event lost
    env.alarm(ERRORS, "ALARM")

    result = invoke(sweep_event(env.canary_started() + timedelta(minutes=1)))

    assert [o["outcome"] for o in result["outcomes"]] == ["rolled-back"]
    assert env.store.get_version(MODEL, 2).status is VersionStatus.REJECTED
    assert env.store.resolve(MODEL).version == 1
