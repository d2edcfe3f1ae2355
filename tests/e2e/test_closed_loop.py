"""The closed loop of issue #10 on the REAL stack in the local cloud, no manual step between
cause and outcome: traffic through the score function, the monitor on its schedule
(`cloud.tick`), alarm evaluation (`cloud.evaluate_alarms`), then whatever the alarms start by
themselves (retraining through the trigger, the guard's rollback of a canary).

The model is `loop` (e2e_platform.py): a live accuracy alarm below 0.8, and every request
captured, so a window of a few predict requests is enough for a drift verdict.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from e2e_platform import LOOP_MODEL, QUALITY_THRESHOLD, Platform

from mlops.local.demo_data import BINARY_CLASSES, TARGET, make_rows, to_csv
from mlops.registry import AliasName, RunStatus, TriggerKind, VersionStatus
from mlops.serving.local_server import proxy_event

SCORE = "mlops.handlers.score.handler"
MAX_RECORDS = 100
WINDOW_ROWS = 300
"""Rows per monitor window: above the 200 the monitor needs for a verdict."""
DRIFT = f"mlops/{LOOP_MODEL}/retrain/drift"
QUALITY = f"mlops/{LOOP_MODEL}/retrain/quality"
GUARD_ERRORS = f"mlops/{LOOP_MODEL}/guard/errors"


def call(platform: Platform, path: str, body: Any, request_id: str) -> tuple[int, dict[str, Any]]:
    """One API request through the score function, as API Gateway would send it."""
    headers = {"Content-Type": "application/json", "X-Request-Id": request_id}
    event = proxy_event("POST", path, headers, json.dumps(body))
    result = platform.cloud.invoke(SCORE, event)
    return result["statusCode"], json.loads(result["body"])


def features(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != TARGET} for row in rows]


def chunks(records: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def predict(platform: Platform, records: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """Predict requests of at most 100 records; every answer must be a 200."""
    answers = []
    for number, batch in enumerate(chunks(records, MAX_RECORDS)):
        status, answer = call(
            platform, f"/v1/models/{LOOP_MODEL}/predict", {"records": batch}, f"{prefix}-{number}"
        )
        assert status == 200, answer
        answers.append(answer)
    return answers


def monitor_window(platform: Platform, hour: int) -> list[dict[str, Any]]:
    """The clock reaches the hour's monitor tick; the alarms are evaluated at the same time.
    Returns the alarm state changes."""
    now = platform.cloud.clock_start + timedelta(hours=hour)
    platform.cloud.tick(now)
    return platform.cloud.evaluate_alarms(now)


def latest_summary(platform: Platform) -> dict[str, Any]:
    key = f"monitoring/{LOOP_MODEL}/latest.json"
    summary: dict[str, Any] = json.loads(
        platform.read(f"s3://{platform.cloud.settings.data_bucket}/{key}")
    )
    return summary


def alarm_states(platform: Platform) -> dict[str, str]:
    alarms = platform.cloud.client("cloudwatch").describe_alarms(
        AlarmNamePrefix=f"mlops/{LOOP_MODEL}/"
    )["MetricAlarms"]
    return {alarm["AlarmName"]: alarm["StateValue"] for alarm in alarms}


def entered(changes: list[dict[str, Any]], state: str) -> set[str]:
    return {c["detail"]["alarmName"] for c in changes if c["detail"]["state"]["value"] == state}


def new_executions(platform: Platform, before: set[str]) -> list[dict[str, Any]]:
    return [e for e in platform.cloud.executions() if e["executionArn"] not in before]


def train_production(platform: Platform, **spec: Any) -> set[str]:
    """A binary `loop` model in production; returns the executions so far."""
    platform.put_spec(LOOP_MODEL, "binary", **spec)
    data = to_csv(make_rows("binary", 1_000, seed=1))
    execution = platform.upload_and_wait(f"training/{LOOP_MODEL}/day1.csv", data)
    assert execution["status"] == "SUCCEEDED", execution
    assert platform.store.resolve(LOOP_MODEL).version == 1
    return {e["executionArn"] for e in platform.cloud.executions()}


def assert_retrained_by(platform: Platform, before: set[str], alarm: str) -> None:
    """One retraining execution started by itself; its version was promoted or rejected."""
    [started] = new_executions(platform, before)
    assert started["name"].startswith(f"{LOOP_MODEL}-alarm-")
    execution = platform.wait(started["executionArn"])
    assert execution["status"] == "SUCCEEDED", execution
    run = platform.run_of(execution)
    assert run.trigger.kind is TriggerKind.ALARM
    assert alarm in run.trigger.source_id
    assert run.data_uri.endswith(f"training/{LOOP_MODEL}/day1.csv")
    assert run.status in {RunStatus.SUCCEEDED, RunStatus.REJECTED}
    version = platform.store.get_version(LOOP_MODEL, run.version)
    if run.status is RunStatus.SUCCEEDED:
        assert platform.store.resolve(LOOP_MODEL).version == run.version
    else:
        assert version.status is VersionStatus.REJECTED
        assert version.status_reason
        assert platform.store.resolve(LOOP_MODEL).version == 1


def test_traffic_like_training_raises_no_alarm_over_ten_windows(platform: Platform) -> None:
    # Given a model in production
    before = train_production(platform)

    for hour in range(1, 11):
        # When an hour of traffic drawn from the training distribution is scored
        predict(platform, features(make_rows("binary", WINDOW_ROWS, seed=100 + hour)), f"h{hour}")
        # and the monitor's tick and the alarm evaluation follow
        changes = monitor_window(platform, hour)

        # Then the window got a verdict, no drift, and no alarm is in ALARM
        summary = latest_summary(platform)
        assert summary["rows"] == WINDOW_ROWS
        assert summary["max_psi"] < 0.2, summary
        assert entered(changes, "ALARM") == set()
        states = alarm_states(platform)
        assert "ALARM" not in states.values(), states
        assert states[DRIFT] == "OK"

    # And no retraining started
    assert new_executions(platform, before) == []


def test_shifted_traffic_raises_the_drift_alarm_which_retrains(platform: Platform) -> None:
    # Given a model in production
    before = train_production(platform)

    # When the traffic's x1 moves by two standard deviations
    shifted = features(make_rows("binary", WINDOW_ROWS, seed=7))
    for record in shifted:
        if record["x1"] is not None:
            record["x1"] += 2.0
    predict(platform, shifted, "shifted")
    # and the monitor's tick and the alarm evaluation follow
    changes = monitor_window(platform, 1)

    # Then the drift alarm is in ALARM, for x1
    assert DRIFT in entered(changes, "ALARM")
    summary = latest_summary(platform)
    assert summary["top_features"][0]["name"] == "x1"
    assert summary["max_psi"] >= 0.2
    # And a retraining run started by itself; the gate decided on its version
    assert_retrained_by(platform, before, DRIFT)


def test_feedback_below_the_quality_threshold_raises_the_quality_alarm(
    platform: Platform,
) -> None:
    # Given a model in production and single-record requests it answered
    before = train_production(platform)
    records = features(make_rows("binary", 40, seed=11))
    wrong = []
    for number, record in enumerate(records):
        request_id = f"q-{number}"
        status, answer = call(
            platform, f"/v1/models/{LOOP_MODEL}/predict", {"record": record}, request_id
        )
        assert status == 200, answer
        [prediction] = answer["predictions"]
        other = next(label for label in BINARY_CLASSES if label != prediction["label"])
        wrong.append({"request_id": request_id, "label": other})

    # When the feedback says every answer was wrong (accuracy 0 < the threshold)
    status, answer = call(
        platform, f"/v1/models/{LOOP_MODEL}/feedback", {"items": wrong}, "feedback-1"
    )
    assert (status, answer["accepted"]) == (200, len(wrong)), answer
    # and the monitor's tick and the alarm evaluation follow
    changes = monitor_window(platform, 1)

    # Then the live accuracy is below the threshold and the quality alarm is in ALARM
    overall = latest_summary(platform)["quality"]["overall"]
    assert overall["rows"] == len(wrong)
    assert overall["accuracy"] < QUALITY_THRESHOLD
    assert entered(changes, "ALARM") == {QUALITY}
    # And a retraining run started by itself; the gate decided on its version
    assert_retrained_by(platform, before, QUALITY)


def test_a_failing_canary_is_rolled_back_while_production_answers(platform: Platform) -> None:
    store = platform.store
    # Given v1 in production and a better v2 that the gate made a 50% canary
    platform.put_spec(
        LOOP_MODEL,
        "binary",
        gate={"metric": "accuracy", "min_improvement": 0.01},
        promotion={"mode": "canary", "canary_weight": 0.5},
    )
    noisy = to_csv(make_rows("binary", 300, seed=1, noise=0.45))
    assert platform.upload_and_wait(f"training/{LOOP_MODEL}/day1.csv", noisy)["status"] == (
        "SUCCEEDED"
    )
    clean = to_csv(make_rows("binary", 600, seed=2, noise=0.0))
    assert platform.upload_and_wait(f"training/{LOOP_MODEL}/day2.csv", clean)["status"] == (
        "SUCCEEDED"
    )
    candidate = store.get_alias(LOOP_MODEL, AliasName.CANDIDATE)
    assert candidate is not None
    assert (candidate.version, candidate.weight) == (2, 0.5)
    # And v2's artifact is then damaged in the bucket (its sha256 check fails: it cannot load)
    artifact = store.get_version(LOOP_MODEL, 2).artifact
    assert artifact is not None
    bucket, key = artifact.uri.removeprefix("s3://").split("/", 1)
    platform.cloud.client("s3").put_object(Bucket=bucket, Key=key, Body=b"not a model")

    # When traffic arrives, half of it routed to the canary by request id
    records = features(make_rows("binary", 40, seed=5))
    answers = [
        call(platform, f"/v1/models/{LOOP_MODEL}/predict", {"record": record}, f"c-{number}")
        for number, record in enumerate(records)
    ]
    # and the alarms are evaluated
    changes = platform.cloud.evaluate_alarms(datetime.now(UTC))

    # Then the guard alarm fired and the canary was rolled back by itself
    assert GUARD_ERRORS in entered(changes, "ALARM")
    assert store.get_alias(LOOP_MODEL, AliasName.CANDIDATE) is None
    rejected = store.get_version(LOOP_MODEL, 2)
    assert rejected.status is VersionStatus.REJECTED
    assert rejected.status_reason is not None
    assert rejected.status_reason.startswith(f"{GUARD_ERRORS} in ALARM: ")
    assert store.resolve(LOOP_MODEL).version == 1
    # And the audit trail shows the move to candidate, then the rollback and its reason
    history = store.history(LOOP_MODEL)
    moved = [a for a in history if a.action == "alias-moved" and a.to_version == 2]
    assert moved, history
    last = history[-1]
    assert (last.action, last.from_version) == ("candidate-rejected", 2)
    assert last.actor == f"guard:{GUARD_ERRORS}"
    assert last.reason == rejected.status_reason
    # And production answered every request, before and after the rollback
    answers += [
        call(platform, f"/v1/models/{LOOP_MODEL}/predict", {"record": record}, f"after-{number}")
        for number, record in enumerate(records[:10])
    ]
    assert {status for status, _ in answers} == {200}
    assert {(a["served_by"], a["version"]) for _, a in answers} == {("production", 1)}
