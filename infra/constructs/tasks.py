"""Lambda tasks of the state machines: the function's response only, retried the same way."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
# errorType of mlops' retryable exception (the class name, as Lambda reports it).
TRANSIENT_ERRORS = ["TransientError"]


def lambda_task(
    scope: Construct,
    name: str,
    function: lambda_.IFunction,
    result_path: str | None,
    payload: sfn.TaskInput | None = None,
) -> tasks.LambdaInvoke:
    """A task whose result is the function's response only, at ``result_path`` (None: the
    result is discarded); the input is the state, or ``payload`` when given. Lambda service
    errors are retried 6 times, mlops' TransientError 3 times, with backoff."""
    task = tasks.LambdaInvoke(
        scope,
        name,
        lambda_function=function,
        payload=payload,
        payload_response_only=True,
        result_path=result_path,
        retry_on_service_exceptions=False,
    )
    task.add_retry(
        errors=LAMBDA_SERVICE_ERRORS, interval=Duration.seconds(2), max_attempts=6, backoff_rate=2.0
    )
    task.add_retry(
        errors=TRANSIENT_ERRORS, interval=Duration.seconds(2), max_attempts=3, backoff_rate=2.0
    )
    return task
