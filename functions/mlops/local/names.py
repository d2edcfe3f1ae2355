"""Physical names, Ref values and Fn::GetAtt attributes of template resources, as AWS makes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# resource type -> (property that names it, longest valid name, lowercase?)
NAME_PROPERTIES: dict[str, tuple[str, int, bool]] = {
    "AWS::S3::Bucket": ("BucketName", 63, True),
    "AWS::DynamoDB::Table": ("TableName", 255, False),
    "AWS::DynamoDB::GlobalTable": ("TableName", 255, False),
    "AWS::SNS::Topic": ("TopicName", 256, False),
    "AWS::SQS::Queue": ("QueueName", 80, False),
    "AWS::Lambda::Function": ("FunctionName", 64, False),
    "AWS::Lambda::LayerVersion": ("LayerName", 140, False),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", 80, False),
    "AWS::Events::Rule": ("Name", 64, False),
    "AWS::Events::EventBus": ("Name", 256, False),
    "AWS::CloudWatch::Alarm": ("AlarmName", 255, False),
    "AWS::IAM::Role": ("RoleName", 64, False),
    "AWS::Logs::LogGroup": ("LogGroupName", 512, False),
}


@dataclass(frozen=True)
class Place:
    """Where resources live: the pseudo parameters' values."""

    region: str
    account: str
    stack: str
    partition: str = "aws"


def derived_name(place: Place, logical_id: str, resource_type: str) -> str:
    """A stable name for a resource the template leaves unnamed (`<stack>-<logical id>`)."""
    _, max_length, lowercase = NAME_PROPERTIES.get(resource_type, ("", 64, False))
    name = f"{place.stack}-{logical_id}"
    if lowercase:
        name = re.sub(r"[^a-z0-9.-]", "-", name.lower()).strip("-.")
    else:
        name = re.sub(r"[^A-Za-z0-9_-]", "-", name)
    if resource_type == "AWS::SQS::Queue" and name.endswith(".fifo"):
        return name
    return name[:max_length].rstrip("-.")


def arn(place: Place, resource_type: str, name: str) -> str:
    """The ARN AWS would give a resource of this type and name."""
    region, account, partition = place.region, place.account, place.partition
    formats = {
        "AWS::S3::Bucket": f"arn:{partition}:s3:::{name}",
        "AWS::DynamoDB::Table": f"arn:{partition}:dynamodb:{region}:{account}:table/{name}",
        "AWS::DynamoDB::GlobalTable": f"arn:{partition}:dynamodb:{region}:{account}:table/{name}",
        "AWS::SNS::Topic": f"arn:{partition}:sns:{region}:{account}:{name}",
        "AWS::SQS::Queue": f"arn:{partition}:sqs:{region}:{account}:{name}",
        "AWS::Lambda::Function": f"arn:{partition}:lambda:{region}:{account}:function:{name}",
        "AWS::Lambda::LayerVersion": f"arn:{partition}:lambda:{region}:{account}:layer:{name}:1",
        "AWS::StepFunctions::StateMachine": (
            f"arn:{partition}:states:{region}:{account}:stateMachine:{name}"
        ),
        "AWS::Events::Rule": f"arn:{partition}:events:{region}:{account}:rule/{name}",
        "AWS::Events::EventBus": f"arn:{partition}:events:{region}:{account}:event-bus/{name}",
        "AWS::CloudWatch::Alarm": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}",
        "AWS::IAM::Role": f"arn:{partition}:iam::{account}:role/{name}",
        "AWS::Logs::LogGroup": f"arn:{partition}:logs:{region}:{account}:log-group:{name}:*",
    }
    if resource_type in formats:
        return formats[resource_type]
    service = resource_type.split("::")[1].lower() if "::" in resource_type else "custom"
    return f"arn:{partition}:{service}:{region}:{account}:{name}"


def queue_url(place: Place, name: str) -> str:
    return f"https://sqs.{place.region}.amazonaws.com/{place.account}/{name}"


def ref_value(place: Place, resource_type: str, name: str) -> str:
    """What `{"Ref": logical_id}` returns for this resource type."""
    if resource_type in {
        "AWS::SNS::Topic",
        "AWS::StepFunctions::StateMachine",
        "AWS::Lambda::LayerVersion",
    }:
        return arn(place, resource_type, name)
    if resource_type == "AWS::SQS::Queue":
        return queue_url(place, name)
    return name


def attribute(place: Place, resource_type: str, name: str, attribute_name: str) -> Any:
    """`Fn::GetAtt` for the attributes the platform's templates use."""
    resource_arn = arn(place, resource_type, name)
    by_type: dict[str, dict[str, Any]] = {
        "AWS::S3::Bucket": {
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{place.region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{place.region}.amazonaws.com",
        },
        "AWS::SNS::Topic": {"TopicName": name, "TopicArn": resource_arn},
        "AWS::SQS::Queue": {"QueueName": name, "QueueUrl": queue_url(place, name)},
        "AWS::StepFunctions::StateMachine": {"Name": name},
        "AWS::IAM::Role": {"RoleId": f"AROA{name.upper()[:17]}"},
        "AWS::Events::EventBus": {"Name": name},
    }
    values = by_type.get(resource_type, {})
    if attribute_name in values:
        return values[attribute_name]
    if attribute_name.endswith("Arn"):
        return resource_arn
    return f"{resource_arn}/{attribute_name}"
