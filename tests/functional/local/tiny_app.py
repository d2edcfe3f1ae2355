"""A small CDK app for the local cloud's tests: one of each resource kind the router touches."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

STACK = "LocalCloudTest"
HANDLERS = "local_cloud_handlers"


def build(app: App) -> Stack:
    stack = Stack(app, STACK)
    data = s3.Bucket(stack, "Data", event_bridge_enabled=True, removal_policy=RemovalPolicy.DESTROY)
    artifacts = s3.Bucket(stack, "Artifacts", versioned=True)
    table = dynamodb.Table(
        stack,
        "Registry",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
    )
    topic = sns.Topic(stack, "Notifications")
    alarms_queue = sqs.Queue(stack, "AlarmEvents")
    environment = {
        "MLOPS_DATA_BUCKET": data.bucket_name,
        "MLOPS_ARTIFACT_BUCKET": artifacts.bucket_name,
        "MLOPS_REGISTRY_TABLE": table.table_name,
        "GREETING": "hello from the template",
    }

    def function(name: str, handler: str) -> lambda_.Function:
        return lambda_.Function(
            stack,
            name,
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler=f"{HANDLERS}.{handler}",
            code=lambda_.Code.from_inline("# runs in-process locally"),
            timeout=Duration.seconds(30),
            memory_size=256,
            environment=environment,
        )

    process = function("Process", "process")
    record = function("Record", "record")

    invoke = tasks.LambdaInvoke(
        stack,
        "ProcessFile",
        lambda_function=process,
        payload_response_only=True,
        result_path="$.work",
        retry_on_service_exceptions=False,
    )
    rejected = sfn.Pass(stack, "Rejected")
    failed = sfn.Fail(stack, "Failed", error="Unexpected", cause="the handler failed")
    invoke.add_catch(rejected, errors=["ValidationFailed"], result_path="$.error")
    invoke.add_catch(failed, errors=["States.ALL"], result_path="$.error")
    machine = sfn.StateMachine(
        stack,
        "Pipeline",
        definition_body=sfn.DefinitionBody.from_chainable(invoke.next(sfn.Succeed(stack, "Done"))),
    )

    events.Rule(
        stack,
        "Uploaded",
        event_pattern=events.EventPattern(
            source=["aws.s3"],
            detail_type=["Object Created"],
            detail={
                "bucket": {"name": [data.bucket_name]},
                "object": {"key": [{"prefix": "incoming/"}]},
            },
        ),
        targets=[
            targets.SfnStateMachine(
                machine,
                input=events.RuleTargetInput.from_object(
                    {
                        "bucket": events.EventField.from_path("$.detail.bucket.name"),
                        "key": events.EventField.from_path("$.detail.object.key"),
                        "origin": "s3",
                    }
                ),
            )
        ],
    )
    events.Rule(
        stack,
        "Every5Minutes",
        schedule=events.Schedule.rate(Duration.minutes(5)),
        targets=[
            targets.LambdaFunction(
                record,
                event=events.RuleTargetInput.from_object(
                    {
                        "origin": "schedule",
                        "time": events.EventField.time,
                        "rule": events.EventField.from_path("$.resources[0]"),
                    }
                ),
            )
        ],
    )
    events.Rule(
        stack,
        "AlarmChanged",
        event_pattern=events.EventPattern(
            source=["aws.cloudwatch"],
            detail_type=["CloudWatch Alarm State Change"],
            detail={"alarmName": [{"prefix": "local-test-"}], "state": {"value": ["ALARM"]}},
        ),
        targets=[targets.SqsQueue(alarms_queue), targets.LambdaFunction(record)],
    )
    events.Rule(
        stack,
        "OrdersText",
        event_pattern=events.EventPattern(
            source=["custom.orders"],
            detail={"status": [{"anything-but": "draft"}], "amount": [{"numeric": [">", 100]}]},
        ),
        targets=[
            targets.LambdaFunction(
                record,
                event=events.RuleTargetInput.from_text(
                    f"Order {events.EventField.from_path('$.detail.id')} is "
                    f"{events.EventField.from_path('$.detail.status')}"
                ),
            )
        ],
    )
    events.Rule(
        stack,
        "OrdersDetail",
        event_pattern=events.EventPattern(
            source=["custom.orders"], detail={"id": [{"exists": True}]}
        ),
        targets=[
            targets.LambdaFunction(record, event=events.RuleTargetInput.from_event_path("$.detail"))
        ],
    )
    disabled = events.Rule(
        stack,
        "OrdersDisabled",
        enabled=False,
        event_pattern=events.EventPattern(source=["custom.orders"]),
        targets=[targets.LambdaFunction(process)],
    )
    disabled.node.default_child.override_logical_id("OrdersDisabled")  # type: ignore[union-attr]

    cloudwatch.Alarm(
        stack,
        "Errors",
        alarm_name="local-test-errors",
        alarm_description="too many errors",
        metric=cloudwatch.Metric(
            namespace="MLOps",
            metric_name="Errors",
            dimensions_map={"Model": "churn"},
            statistic="Sum",
            period=Duration.minutes(1),
        ),
        threshold=5,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )

    CfnOutput(stack, "DataBucketName", value=data.bucket_name)
    CfnOutput(stack, "ArtifactBucketName", value=artifacts.bucket_name)
    CfnOutput(stack, "RegistryTableName", value=table.table_name)
    CfnOutput(stack, "NotificationTopicArn", value=topic.topic_arn)
    CfnOutput(stack, "TrainingStateMachineArn", value=machine.state_machine_arn)
    CfnOutput(stack, "AlarmQueueUrl", value=alarms_queue.queue_url)
    return stack


if __name__ == "__main__":
    application = App()
    build(application)
    application.synth()
