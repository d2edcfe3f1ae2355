"""Wire the use-cases to AWS: boto3 clients (from mlops.aws) behind the callables they take.

Shared by the Lambda handlers and the CLI (which points the same clients at AWS or at the
local cloud through the standard AWS_ENDPOINT_URL variable).
"""

from __future__ import annotations

import json
from typing import Any

from mlops.aws import client
from mlops.observability import logger
from mlops.pipeline import s3io
from mlops.pipeline.errors import ExecutionExistsError, PipelineInputError
from mlops.pipeline.finalize import Notify
from mlops.pipeline.trigger import TriggerDeps
from mlops.registry.store import RegistryStore
from mlops.settings import Settings


def sns_notifier(topic_arn: str | None) -> Notify:
    """Publish (subject, JSON body) to the topic; log only when no topic is configured."""

    def notify(subject: str, body: dict[str, Any]) -> None:
        if not topic_arn:
            logger.info("notification (no topic configured)", extra={"subject": subject})
            return
        client("sns").publish(
            TopicArn=topic_arn,
            Subject=subject,
            Message=json.dumps(body, sort_keys=True, default=str),
        )

    return notify


def start_execution_with(state_machine_arn: str) -> Any:
    """start_execution(name, input) -> ARN; ExecutionExistsError for a name already used."""
    sfn = client("stepfunctions")

    def start(name: str, execution_input: str) -> str:
        try:
            response = sfn.start_execution(
                stateMachineArn=state_machine_arn, name=name, input=execution_input
            )
        except sfn.exceptions.ExecutionAlreadyExists as error:
            raise ExecutionExistsError(name) from error
        return str(response["executionArn"])

    return start


def trigger_deps(settings: Settings, store: RegistryStore) -> TriggerDeps:
    if not settings.training_state_machine_arn:
        msg = "MLOPS_TRAINING_STATE_MACHINE_ARN is not set: cannot start training runs"
        raise PipelineInputError(msg)
    s3 = client("s3")
    return TriggerDeps(
        store=store,
        data_bucket=settings.data_bucket,
        state_machine_arn=settings.training_state_machine_arn,
        start_execution=start_execution_with(settings.training_state_machine_arn),
        head_object=lambda uri: s3io.head_object(s3, uri),
        newest_object=lambda bucket, prefix: s3io.newest_object(s3, bucket, prefix),
        notify=sns_notifier(settings.notification_topic_arn),
    )
