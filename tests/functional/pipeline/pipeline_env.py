"""The pipeline's AWS resources on moto, and a driver that calls the handlers in the order the
state machine does (no Step Functions), so each step can be checked on its own."""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops import aws, settings
from mlops.handlers import evaluate, finalize, gate, train, validate
from mlops.local.tables import create_registry_table
from mlops.registry import DynamoDBRegistryStore, RegistryStore
from mlops.serving.local_server import LocalLambdaContext
from mlops.settings import Settings

REGION = "us-east-1"


@dataclass
class PipelineEnv:
    settings: Settings
    store: RegistryStore
    s3: Any
    queue_url: str

    def upload(self, key: str, body: bytes) -> str:
        self.s3.put_object(Bucket=self.settings.data_bucket, Key=key, Body=body)
        return f"s3://{self.settings.data_bucket}/{key}"

    def notifications(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=REGION)
        messages = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            if not batch.get("Messages"):
                return messages
            for message in batch["Messages"]:
                envelope = json.loads(message["Body"])
                messages.append(
                    {"subject": envelope.get("Subject"), "body": json.loads(envelope["Message"])}
                )
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def pipeline_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[PipelineEnv]:
    for key, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "MLOPS_REGISTRY_TABLE": "registry-test",
        "MLOPS_ARTIFACT_BUCKET": "artifacts-test",
        "MLOPS_DATA_BUCKET": "data-test",
        "MLOPS_CODE_VERSION": "abc1234",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "MLOps",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        aws.reset_clients()
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="artifacts-test")
        s3.create_bucket(Bucket="data-test")
        create_registry_table(boto3.client("dynamodb", region_name=REGION), "registry-test")
        topic = boto3.client("sns", region_name=REGION).create_topic(Name="notify")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="notify-copy")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        boto3.client("sns", region_name=REGION).subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=queue_arn
        )
        monkeypatch.setenv("MLOPS_NOTIFICATION_TOPIC_ARN", topic)
        settings.reset_settings()
        current = settings.get_settings()
        store = DynamoDBRegistryStore(current.registry_table, aws.client("dynamodb"))
        yield PipelineEnv(current, store, s3, queue_url)
    aws.reset_clients()
    settings.reset_settings()


def lambda_error(error: Exception) -> dict[str, str]:
    """What a Catch puts at $.error for a Lambda that raised `error`."""
    cause = {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }
    return {"Error": type(error).__name__, "Cause": json.dumps(cause)}


def drive_pipeline(execution_input: dict[str, Any]) -> dict[str, Any]:
    """Run the steps as the state machine does (no Retry); Finalize's result."""
    state = dict(execution_input)
    context = LocalLambdaContext()
    try:
        state["validation"] = validate.handler(dict(state), context)
        if not state["validation"]["valid"]:
            return finalize.handler(
                {"outcome": "rejected", "execution_id": "local", "state": state}, context
            )
        state["training"] = train.handler(dict(state), context)
        state["evaluation"] = evaluate.handler(dict(state), context)
        state["gate"] = gate.handler(dict(state), context)
    except Exception as error:  # noqa: BLE001 - the Catch: States.ALL
        state["error"] = lambda_error(error)
        return finalize.handler(
            {"outcome": "failed", "execution_id": "local", "state": state}, context
        )
    return finalize.handler(
        {"outcome": "completed", "execution_id": "local", "state": state}, context
    )
