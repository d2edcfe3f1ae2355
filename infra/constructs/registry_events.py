"""Registry events: the registry table's stream -> a function -> EventBridge (source
mlops.registry), one event per audit record (docs/monitoring.md "Registry events")."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.functions import Functions
from infra.constructs.nag import IAM5, acknowledge

AUDIT_KEY_PREFIX = "AUDIT#"
BATCH_SIZE = 100
RETRY_ATTEMPTS = 5


class RegistryEvents(Construct):
    """The registry_events function on the table's stream, with a queue for what fails."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Functions,
        registry_table: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = functions.add("registry_events")
        self.failures = sqs.Queue(
            self,
            "Failures",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.failures,
            "AwsSolutions-SQS3",
            "This queue is the stream's on-failure destination (a dead-letter queue itself).",
        )
        self.function.add_event_source(
            sources.DynamoEventSource(
                registry_table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=BATCH_SIZE,
                bisect_batch_on_error=True,
                retry_attempts=RETRY_ATTEMPTS,
                max_record_age=Duration.days(1),
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.failures),
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.is_equal("INSERT"),
                            "dynamodb": {
                                "Keys": {
                                    "sk": {"S": lambda_.FilterRule.begins_with(AUDIT_KEY_PREFIX)}
                                }
                            },
                        }
                    )
                ],
            )
        )
        acknowledge(
            self.function.role or self.function,
            f"{IAM5}[Resource::*]",
            "dynamodb:ListStreams (granted with the stream read) supports no resource-level "
            "permissions; reading records is limited to the registry table's stream.",
        )
        stack = Stack.of(self)
        default_bus = stack.format_arn(
            service="events", resource="event-bus", resource_name="default"
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["events:PutEvents"], resources=[default_bus])
        )
