"""Create a synthesized template's resources in moto through the AWS APIs.

moto's CloudFormation cannot deploy the CDK template (alarms, stages, custom resources), so the
local cloud reads the template itself: it resolves the intrinsic functions and calls each
service's API with the resource's own properties. Resource types it does not model are recorded
as skipped (IAM, logs, KMS, API Gateway, layers, ...): in-process handlers need none of them.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlops.local import names, patterns, schedule
from mlops.local.intrinsics import Resolver
from mlops.local.router import DELIVERABLE_SERVICES

LOGGER = logging.getLogger(__name__)

LOCAL_ROLE_NAME = "mlops-local-execution-role"
DEFAULT_RUNTIME = "python3.12"

ClientFactory = Callable[[str], Any]

CREATION_ORDER = (
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::Events::EventBus",
    "AWS::Lambda::Function",
    "AWS::Lambda::EventSourceMapping",
    "AWS::SNS::Subscription",
    "AWS::StepFunctions::StateMachine",
    "AWS::Events::Rule",
    "AWS::CloudWatch::Alarm",
    "Custom::S3BucketNotifications",
)


class DeployError(Exception):
    """A template resource could not be created locally (the message names it)."""


@dataclass
class DeployedResource:
    logical_id: str
    type: str
    physical_id: str
    arn: str


@dataclass
class Deployment:
    """What a template became locally."""

    stack: str
    resources: dict[str, DeployedResource] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def of_type(self, resource_type: str) -> list[DeployedResource]:
        return [resource for resource in self.resources.values() if resource.type == resource_type]


class Deployer:
    """Deploys one template into the (mocked) account through boto3 clients."""

    def __init__(self, template: dict[str, Any], place: names.Place, client: ClientFactory) -> None:
        self.template = template
        self.place = place
        self._client = client
        self._resources: dict[str, Any] = template.get("Resources", {})
        self._names: dict[str, str] = {}
        self._attributes: dict[tuple[str, str], Any] = {}
        self._role_arn = ""
        self._notes: list[str] = []
        self.resolver = Resolver(
            template,
            pseudo={
                "AWS::Region": place.region,
                "AWS::AccountId": place.account,
                "AWS::Partition": place.partition,
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackName": place.stack,
                "AWS::StackId": (
                    f"arn:{place.partition}:cloudformation:{place.region}:{place.account}"
                    f":stack/{place.stack}/00000000-0000-0000-0000-000000000000"
                ),
            },
            ref=self._ref,
            get_att=self._get_att,
        )

    # ---- names -----------------------------------------------------------------------------
    def physical_name(self, logical_id: str) -> str:
        if logical_id not in self._names:
            resource = self._resources[logical_id]
            resource_type = resource["Type"]
            name_property = names.NAME_PROPERTIES.get(resource_type, ("",))[0]
            explicit = resource.get("Properties", {}).get(name_property) if name_property else None
            self._names[logical_id] = (
                str(self.resolver.resolve(explicit))
                if explicit
                else names.derived_name(self.place, logical_id, resource_type)
            )
        return self._names[logical_id]

    def _ref(self, logical_id: str) -> Any:
        resource_type = self._resources[logical_id]["Type"]
        return names.ref_value(self.place, resource_type, self.physical_name(logical_id))

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        if (logical_id, attribute) in self._attributes:
            return self._attributes[(logical_id, attribute)]
        resource_type = self._resources[logical_id]["Type"]
        return names.attribute(self.place, resource_type, self.physical_name(logical_id), attribute)

    # ---- deployment ------------------------------------------------------------------------
    def deploy(self) -> Deployment:
        deployment = Deployment(stack=self.place.stack)
        self._role_arn = self._ensure_role()
        creators = self._creators()
        active = {
            logical_id: resource
            for logical_id, resource in self._resources.items()
            if "Condition" not in resource or self.resolver.condition(resource["Condition"])
        }
        for resource_type in CREATION_ORDER:
            for logical_id, resource in active.items():
                if resource["Type"] == resource_type:
                    physical_id = self._create(logical_id, resource, creators[resource_type])
                    deployment.resources[logical_id] = DeployedResource(
                        logical_id=logical_id,
                        type=resource_type,
                        physical_id=physical_id,
                        arn=str(self._get_att(logical_id, "Arn")),
                    )
        for logical_id, resource in active.items():
            if resource["Type"] not in creators:
                deployment.skipped[logical_id] = resource["Type"]
        for key, output in self.template.get("Outputs", {}).items():
            if "Condition" in output and not self.resolver.condition(output["Condition"]):
                continue
            deployment.outputs[key] = str(self.resolver.resolve(output["Value"]))
        deployment.notes.extend(self._notes)
        return deployment

    def _create(
        self,
        logical_id: str,
        resource: dict[str, Any],
        creator: Callable[[str, dict[str, Any]], str],
    ) -> str:
        try:
            properties = self.resolver.resolve(resource.get("Properties", {})) or {}
            return creator(logical_id, properties)
        except Exception as error:
            msg = f"cannot create {logical_id} ({resource['Type']}) locally: {error}"
            raise DeployError(msg) from error

    def _creators(self) -> dict[str, Callable[[str, dict[str, Any]], str]]:
        return {
            "AWS::S3::Bucket": self._create_bucket,
            "AWS::DynamoDB::Table": self._create_table,
            "AWS::DynamoDB::GlobalTable": self._create_table,
            "AWS::SNS::Topic": self._create_topic,
            "AWS::SQS::Queue": self._create_queue,
            "AWS::Events::EventBus": self._create_event_bus,
            "AWS::Lambda::Function": self._create_function,
            "AWS::Lambda::EventSourceMapping": self._create_event_source_mapping,
            "AWS::SNS::Subscription": self._create_subscription,
            "AWS::StepFunctions::StateMachine": self._create_state_machine,
            "AWS::Events::Rule": self._create_rule,
            "AWS::CloudWatch::Alarm": self._create_alarm,
            "Custom::S3BucketNotifications": self._create_bucket_notifications,
        }

    def _ensure_role(self) -> str:
        iam = self._client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        try:
            role = iam.get_role(RoleName=LOCAL_ROLE_NAME)
        except iam.exceptions.NoSuchEntityException:
            role = iam.create_role(
                RoleName=LOCAL_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust)
            )
        return str(role["Role"]["Arn"])

    # ---- one creator per resource type -----------------------------------------------------
    def _create_bucket(self, logical_id: str, properties: dict[str, Any]) -> str:
        name = self.physical_name(logical_id)
        s3 = self._client("s3")
        if self.place.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(
                Bucket=name,
                CreateBucketConfiguration={"LocationConstraint": self.place.region},
            )
        versioning = properties.get("VersioningConfiguration", {}).get("Status")
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
        inline = properties.get("NotificationConfiguration")
        if inline:
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration=_api_notifications(inline)
            )
        return name

    def _create_table(self, logical_id: str, properties: dict[str, Any]) -> str:
        name = self.physical_name(logical_id)
        pay_per_request = properties.get("BillingMode", "PROVISIONED") == "PAY_PER_REQUEST"
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST" if pay_per_request else "PROVISIONED",
        }
        if not pay_per_request:
            request["ProvisionedThroughput"] = properties.get(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            )
        indexes = [
            _api_index(index, pay_per_request)
            for index in properties.get("GlobalSecondaryIndexes", [])
        ]
        if indexes:
            request["GlobalSecondaryIndexes"] = indexes
        if properties.get("LocalSecondaryIndexes"):
            request["LocalSecondaryIndexes"] = properties["LocalSecondaryIndexes"]
        stream = properties.get("StreamSpecification", {}).get("StreamViewType")
        if stream:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
        dynamodb = self._client("dynamodb")
        table = dynamodb.create_table(**request)["TableDescription"]
        if table.get("LatestStreamArn"):
            self._attributes[(logical_id, "StreamArn")] = table["LatestStreamArn"]
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        return name

    def _create_topic(self, logical_id: str, properties: dict[str, Any]) -> str:
        attributes = {}
        if properties.get("FifoTopic"):
            attributes["FifoTopic"] = "true"
        response = self._client("sns").create_topic(
            Name=self.physical_name(logical_id), Attributes=attributes
        )
        return str(response["TopicArn"])

    def _create_queue(self, logical_id: str, properties: dict[str, Any]) -> str:
        attributes = {
            key: str(properties[key]).lower()
            if isinstance(properties[key], bool)
            else str(properties[key])
            for key in (
                "FifoQueue",
                "ContentBasedDeduplication",
                "VisibilityTimeout",
                "MessageRetentionPeriod",
                "DelaySeconds",
            )
            if key in properties
        }
        response = self._client("sqs").create_queue(
            QueueName=self.physical_name(logical_id), Attributes=attributes
        )
        return str(response["QueueUrl"])

    def _create_event_bus(self, logical_id: str, _properties: dict[str, Any]) -> str:
        name = self.physical_name(logical_id)
        self._client("events").create_event_bus(Name=name)
        return name

    def _create_function(self, logical_id: str, properties: dict[str, Any]) -> str:
        name = self.physical_name(logical_id)
        request: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": properties.get("Runtime", DEFAULT_RUNTIME),
            "Role": self._role_arn,
            "Handler": properties.get("Handler", "index.handler"),
            "Code": {"ZipFile": _placeholder_zip(properties.get("Handler", "index.handler"))},
            "Timeout": int(properties.get("Timeout", 3)),
            "MemorySize": int(properties.get("MemorySize", 128)),
            "Environment": {
                "Variables": {
                    key: str(value)
                    for key, value in properties.get("Environment", {}).get("Variables", {}).items()
                }
            },
        }
        if properties.get("Description"):
            request["Description"] = properties["Description"]
        self._client("lambda").create_function(**request)
        return name

    def _create_event_source_mapping(self, _logical_id: str, properties: dict[str, Any]) -> str:
        """A stream or queue -> function mapping (delivery: mlops.local.streams for streams)."""
        passed = (
            "EventSourceArn", "FunctionName", "Enabled", "BatchSize", "StartingPosition",
            "MaximumBatchingWindowInSeconds", "MaximumRecordAgeInSeconds", "MaximumRetryAttempts",
            "BisectBatchOnFunctionError", "ParallelizationFactor", "DestinationConfig",
            "FilterCriteria", "FunctionResponseTypes", "TumblingWindowInSeconds",
        )  # fmt: skip
        request = {key: properties[key] for key in passed if key in properties}
        numbers = (
            "BatchSize", "MaximumBatchingWindowInSeconds", "MaximumRecordAgeInSeconds",
            "MaximumRetryAttempts", "ParallelizationFactor", "TumblingWindowInSeconds",
        )  # fmt: skip
        for key in numbers:
            if key in request:
                request[key] = int(request[key])
        for key in ("Enabled", "BisectBatchOnFunctionError"):
            if key in request:
                request[key] = str(request[key]).lower() == "true"
        for item in request.get("FilterCriteria", {}).get("Filters", []):
            patterns.validate(json.loads(item["Pattern"]))
        response = self._client("lambda").create_event_source_mapping(**request)
        return str(response["UUID"])

    def _create_subscription(self, _logical_id: str, properties: dict[str, Any]) -> str:
        request = {
            "TopicArn": properties["TopicArn"],
            "Protocol": properties["Protocol"],
            "Endpoint": properties.get("Endpoint", ""),
            "ReturnSubscriptionArn": True,
        }
        if "FilterPolicy" in properties:
            request["Attributes"] = {"FilterPolicy": json.dumps(properties["FilterPolicy"])}
        response = self._client("sns").subscribe(**request)
        return str(response["SubscriptionArn"])

    def _create_state_machine(self, logical_id: str, properties: dict[str, Any]) -> str:
        definition = properties.get("DefinitionString") or properties.get("Definition")
        if definition is None:
            msg = f"state machine {logical_id}: DefinitionS3Location is not supported locally"
            raise ValueError(msg)
        if not isinstance(definition, str):
            definition = json.dumps(definition)
        for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        response = self._client("stepfunctions").create_state_machine(
            name=self.physical_name(logical_id),
            definition=definition,
            roleArn=self._role_arn,
            type=properties.get("StateMachineType", "STANDARD"),
        )
        return str(response["stateMachineArn"])

    def _create_rule(self, logical_id: str, properties: dict[str, Any]) -> str:
        name = self.physical_name(logical_id)
        bus = properties.get("EventBusName", "default")
        request: dict[str, Any] = {
            "Name": name,
            "State": "DISABLED" if properties.get("State") == "DISABLED" else "ENABLED",
            "EventBusName": bus,
        }
        pattern = properties.get("EventPattern")
        if pattern is not None:
            patterns.validate(json.loads(pattern) if isinstance(pattern, str) else pattern)
            request["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        expression = properties.get("ScheduleExpression")
        if expression:
            now = datetime.now(UTC)
            schedule.due_times(expression, now, now, now)  # refuses what tick() cannot fire
            request["ScheduleExpression"] = expression
        if properties.get("Description"):
            request["Description"] = properties["Description"]
        events = self._client("events")
        events.put_rule(**request)
        targets = [_api_target(target) for target in properties.get("Targets", [])]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        return name

    def _create_alarm(self, logical_id: str, properties: dict[str, Any]) -> str:
        name = self.physical_name(logical_id)
        passed = (
            "AlarmDescription", "ActionsEnabled", "AlarmActions", "OKActions",
            "InsufficientDataActions", "MetricName", "Namespace", "Statistic",
            "ExtendedStatistic", "Dimensions", "Period", "Unit", "EvaluationPeriods",
            "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
            "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId",
        )  # fmt: skip
        request = {key: properties[key] for key in passed if key in properties}
        for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if key in request:
                request[key] = int(request[key])
        if "Threshold" in request:
            request["Threshold"] = float(request["Threshold"])
        if "Metrics" in request:
            self._notes.append(f"alarm {name}: metric math is created but not evaluated locally")
        self._client("cloudwatch").put_metric_alarm(AlarmName=name, **request)
        return name

    def _create_bucket_notifications(self, _logical_id: str, properties: dict[str, Any]) -> str:
        configuration = dict(properties.get("NotificationConfiguration") or {})
        if "EventBridgeConfiguration" in configuration:
            configuration["EventBridgeConfiguration"] = {}
        self._client("s3").put_bucket_notification_configuration(
            Bucket=properties["BucketName"], NotificationConfiguration=configuration
        )
        return f"{properties['BucketName']}-notifications"


def _placeholder_zip(handler: str) -> bytes:
    """Lambda needs a code package; the local cloud runs the handler from this process."""
    module = handler.rsplit(".", 1)[0].replace(".", "/") or "index"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            f"{module}.py", "# runs in-process in the local cloud; see mlops.local.lambdas\n"
        )
    return buffer.getvalue()


def _api_index(index: dict[str, Any], pay_per_request: bool) -> dict[str, Any]:
    converted = {
        "IndexName": index["IndexName"],
        "KeySchema": index["KeySchema"],
        "Projection": index.get("Projection", {"ProjectionType": "ALL"}),
    }
    if not pay_per_request:
        converted["ProvisionedThroughput"] = index.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    return converted


def _api_target(target: dict[str, Any]) -> dict[str, Any]:
    keys = ("Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer",
            "SqsParameters", "RetryPolicy", "DeadLetterConfig")  # fmt: skip
    converted = {key: target[key] for key in keys if key in target}
    service = str(converted.get("Arn", "")).split(":")[2:3]
    if service and service[0] not in DELIVERABLE_SERVICES:
        msg = f"target {target.get('Id')}: the local cloud does not deliver to {service[0]}"
        raise ValueError(msg)
    transformer = converted.get("InputTransformer")
    if transformer is not None and not isinstance(transformer.get("InputPathsMap", {}), dict):
        msg = f"target {target.get('Id')}: InputPathsMap must be an object"
        raise ValueError(msg)
    return converted


def _api_notifications(inline: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's inline bucket NotificationConfiguration -> the S3 API's shape."""

    def api_filter(item: dict[str, Any]) -> dict[str, Any]:
        rules = item.get("Filter", {}).get("S3Key", {}).get("Rules", [])
        return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}

    converted: dict[str, Any] = {}
    if inline.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
        converted["EventBridgeConfiguration"] = {}
    for source, target, arn_key, target_arn in (
        ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
        ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
        ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
    ):
        items = [
            {target_arn: item[arn_key], "Events": [item["Event"]], **api_filter(item)}
            for item in inline.get(source, [])
        ]
        if items:
            converted[target] = items
    return converted
