"""Registry events and the post-promotion guard on the REAL stack in the local cloud.

Every registry change reaches EventBridge as one `mlops.registry` event, through the table's
stream and the registry_events function, whoever makes it (here: the CLI's store, the guard
after an alarm, the guard's sweep). A user's rule on that source (here: to an SQS queue)
receives them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from e2e_platform import Platform

from mlops.local import LocalCloud
from mlops.local.demo_data import make_spec
from mlops.registry import (
    AliasName,
    ArtifactRef,
    ConcurrentUpdateError,
    NewVersion,
    RegistryStore,
    Trigger,
    TriggerKind,
    VersionStatus,
)

MODEL = "fraud"
HANDLER = "mlops.handlers.registry_events.handler"


def listen_to_registry_events(cloud: LocalCloud) -> Callable[[], list[dict[str, Any]]]:
    """A user's rule: every mlops.registry event to an SQS queue; returns a reader."""
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName="registry-listener")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = cloud.client("events")
    events.put_rule(
        Name="registry-listener", EventPattern=json.dumps({"source": ["mlops.registry"]})
    )
    events.put_targets(Rule="registry-listener", Targets=[{"Id": "queue", "Arn": arn}])
    received: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in batch:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return received

    return read


def register(store: RegistryStore, count: int) -> None:
    for number in range(1, count + 1):
        artifact = ArtifactRef(
            uri=f"s3://artifacts/models/{MODEL}/{number}/model.onnx", sha256="a" * 64, size=1
        )
        draft = NewVersion(
            task="binary",
            estimator="logistic_regression",
            artifact=artifact,
            trigger=Trigger(kind=TriggerKind.MANUAL, source_id="e2e"),
        )
        store.register_version(MODEL, draft, actor="cli:e2e")


def guard_alarm_fires(cloud: LocalCloud) -> str:
    """A guard alarm on the canary's failures, then failures, then alarm evaluation."""
    name = f"mlops/{MODEL}/guard/errors"
    dimensions = [{"Name": "model", "Value": MODEL}, {"Name": "service", "Value": "mlops"}]
    cloudwatch = cloud.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="MLOps",
        MetricName="CanaryFailed",
        Dimensions=dimensions,
        Statistic="Average",
        Period=300,
        EvaluationPeriods=1,
        Threshold=0.05,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    now = datetime.now(UTC)
    cloudwatch.put_metric_data(
        Namespace="MLOps",
        MetricData=[
            {"MetricName": "CanaryFailed", "Dimensions": dimensions, "Value": 1.0, "Timestamp": now}
        ],
    )
    changes = cloud.evaluate_alarms(now)
    assert [c["detail"]["state"]["value"] for c in changes if c["detail"]["alarmName"] == name] == [
        "ALARM"
    ]
    return name


def test_registry_changes_and_a_guard_rollback_are_published(platform: Platform) -> None:
    cloud, store = platform.cloud, platform.store
    received = listen_to_registry_events(cloud)

    # Given a model with three versions; v1 then v2 go to production, and v2 is rolled back
    store.put_spec(MODEL, make_spec(MODEL, "binary"), actor="cli:e2e")
    register(store, 3)
    store.promote(MODEL, 1, actor="cli:e2e")
    store.promote(MODEL, 2, actor="cli:e2e")
    store.rollback(MODEL, actor="cli:e2e", reason="latency")
    # And v3 becomes a 20% canary, whose guard alarm then fires
    store.promote(MODEL, 3, actor="cli:e2e", canary_weight=0.2)
    alarm = guard_alarm_fires(cloud)

    # Then the guard rejected the canary; production (v1) serves on
    assert store.get_alias(MODEL, AliasName.CANDIDATE) is None
    assert store.get_version(MODEL, 3).status is VersionStatus.REJECTED
    assert store.resolve(MODEL).version == 1
    # And every change reached the user's rule as one mlops.registry event, in order
    events = received()
    assert [event["detail-type"] for event in events] == [
        "Model Created",
        "Model Spec Updated",
        *["Model Version Registered"] * 3,
        "Model Alias Moved",
        "Model Alias Moved",
        "Model Rolled Back",
        "Model Alias Moved",
        "Model Candidate Rejected",
    ]
    assert {event["source"] for event in events} == {"mlops.registry"}
    assert [event["detail"]["event_id"] for event in events] == [
        audit.event_id for audit in store.history(MODEL)
    ]
    rejected = events[-1]["detail"]
    assert (rejected["model"], rejected["action"], rejected["from_version"]) == (
        MODEL,
        "candidate-rejected",
        3,
    )
    assert rejected["actor"] == f"guard:{alarm}"
    assert rejected["reason"].startswith(f"{alarm} in ALARM: Threshold Crossed")
    rollback = events[7]["detail"]
    assert (rollback["from_version"], rollback["to_version"], rollback["reason"]) == (
        2,
        1,
        "latency",
    )
    # And only audit records reached the function (the mapping's filter), one per change
    calls = [call for call in cloud.invocations if call.handler == HANDLER]
    assert len(calls) == len(events)
    assert all(call.result == {"batchItemFailures": []} for call in calls)
    # And the rollback was notified
    assert any("rolled back" in note["subject"] for note in platform.notifications())


def test_the_guard_sweep_promotes_a_canary_after_a_clean_period(platform: Platform) -> None:
    cloud, store = platform.cloud, platform.store
    received = listen_to_registry_events(cloud)
    # Given a model whose canaries are watched for 5 minutes, and v2 a canary of production v1
    spec = make_spec(MODEL, "binary", promotion={"mode": "canary", "guard_minutes": 5})
    store.put_spec(MODEL, spec, actor="cli:e2e")
    register(store, 2)
    store.promote(MODEL, 1, actor="cli:e2e")
    store.promote(MODEL, 2, actor="cli:e2e", canary_weight=0.5)
    candidate = store.get_alias(MODEL, AliasName.CANDIDATE)
    assert candidate is not None

    # When the clock passes the guard schedule's ticks until the period is over
    cloud.tick(candidate.updated_at + timedelta(minutes=11))

    # Then a sweep promoted v2 with the reason, and the move was published
    assert store.resolve(MODEL).version == 2
    assert store.get_alias(MODEL, AliasName.CANDIDATE) is None
    moved = received()[-1]
    assert moved["detail-type"] == "Model Alias Moved"
    assert (moved["detail"]["actor"], moved["detail"]["reason"]) == (
        "guard:sweep",
        "guard period of 5 min passed clean",
    )
    assert moved["detail"]["to_version"] == 2


def test_a_change_that_lost_its_race_publishes_nothing(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud, store = platform.cloud, platform.store
    store.put_spec(MODEL, make_spec(MODEL, "binary"), actor="cli:e2e")
    register(store, 3)
    store.promote(MODEL, 1, actor="cli:e2e")
    received = listen_to_registry_events(cloud)
    # Given a promoter whose read of production is stale (v1; it is v2 by now)
    stale = store.get_alias(MODEL, AliasName.PRODUCTION)
    store.promote(MODEL, 2, actor="other")
    real_get_alias = store.get_alias
    monkeypatch.setattr(
        store,
        "get_alias",
        lambda name, alias: stale if alias is AliasName.PRODUCTION else real_get_alias(name, alias),
    )

    # When its transaction is cancelled by DynamoDB
    with pytest.raises(ConcurrentUpdateError):
        store.promote(MODEL, 3, actor="cli:e2e")

    # Then only the change that happened was published
    assert [event["detail"]["to_version"] for event in received()] == [2]
