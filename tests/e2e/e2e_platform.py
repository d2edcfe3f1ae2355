"""End-to-end fixtures: the REAL synthesized stack deployed into the local cloud.

The template is synthesized once per session (cached on disk) with the models of `CONTEXT` in
the `mlops` context, so schedules, batch runs and alarms are tested on the very resources CDK
defines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto.sns import sns_backends

from mlops.local import LocalCloud
from mlops.local.demo_data import make_spec
from mlops.local.template import load_template
from mlops.registry import RegistryStore

SCHEDULED_MODEL = "nightly"
SCHEDULE = "rate(1 day)"
BATCH_MODEL = "scores"
BATCH_TOLERANCE = 40.0
"""`scores` is scored daily (batch/input/scores/ -> batch/output/scores/), up to 40% of its
objects may fail."""
LOOP_MODEL = "loop"
QUALITY_THRESHOLD = 0.8
"""`loop` has a live quality alarm (accuracy below 0.8); every request is captured."""
EXECUTION_TIMEOUT = 120.0


CONTEXT = {
    "models": [
        {"name": SCHEDULED_MODEL, "schedule": SCHEDULE},
        {
            "name": BATCH_MODEL,
            "batch": {
                "schedule": SCHEDULE,
                "max_concurrency": 3,
                "tolerated_failure_percentage": BATCH_TOLERANCE,
            },
        },
        {"name": LOOP_MODEL, "monitoring": {"quality_threshold": QUALITY_THRESHOLD}},
    ],
    "serving": {"capture_sample_rate": 1.0},
}
"""What the e2e stack changes in cdk.json's `mlops` context."""


@pytest.fixture(scope="session")
def e2e_template() -> dict[str, Any]:
    return load_template(overrides=CONTEXT)


@dataclass
class Platform:
    """The local cloud plus the few things a user would do with it."""

    cloud: LocalCloud
    store: RegistryStore

    def put_spec(self, name: str, task: str, **overrides: Any) -> None:
        self.store.put_spec(name, make_spec(name, task, **overrides), actor="e2e")

    def upload_and_wait(self, key: str, body: bytes) -> dict[str, Any]:
        """Upload a training file and wait for the execution the upload started."""
        before = {e["executionArn"] for e in self.cloud.executions()}
        self.cloud.upload(key, body)
        started = [e for e in self.cloud.executions() if e["executionArn"] not in before]
        assert len(started) == 1, f"expected one new execution, got {started}"
        return self.wait(started[0]["executionArn"])

    def wait(self, execution_arn: str) -> dict[str, Any]:
        return self.cloud.wait_for_execution(execution_arn, timeout=EXECUTION_TIMEOUT)

    def run_of(self, execution: dict[str, Any]) -> Any:
        return self.store.get_run(execution["name"])

    def read(self, uri: str) -> bytes:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        body: bytes = self.cloud.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def notifications(self) -> list[dict[str, Any]]:
        """Messages published to the notification topic (moto keeps them per topic)."""
        topic_arn = self.cloud.settings.notification_topic_arn
        backend = sns_backends[self.cloud.place.account][self.cloud.place.region]
        messages = backend.topics[topic_arn].sent_notifications if topic_arn else []
        return [
            {"subject": subject, "body": json.loads(message)}
            for _id, message, subject, *_ in messages
        ]


@pytest.fixture
def platform(e2e_template: dict[str, Any]) -> Iterator[Platform]:
    with LocalCloud(e2e_template) as cloud:
        yield Platform(cloud, cloud.registry())
