"""cdk-nag acknowledgements: every one names the exact finding and why it is acceptable.

cdk-nag 3.x matches findings exactly (``AwsSolutions-IAM5[Resource::<Id.Arn>/*]``), so the
helpers here acknowledge precisely the wildcards that a CDK ``grant_*`` call produces.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

IAM5 = "AwsSolutions-IAM5"


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding (``Rule`` or ``Rule[finding]``) on scope and its children."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def logical_id(construct: IConstruct) -> str:
    """The CloudFormation logical id of an L2 construct's resource, as cdk-nag prints it."""
    stack = Stack.of(construct)
    default_child = construct.node.default_child
    if not isinstance(default_child, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return str(stack.resolve(stack.get_logical_id(default_child)))


def acknowledge_bucket_read(role: IConstruct, bucket: s3.IBucket, key_pattern: str = "*") -> None:
    """The wildcards of ``bucket.grant_read(role, key_pattern)``: object-level actions on the
    keys matching the pattern (every key by default)."""
    arn = f"<{logical_id(bucket)}.Arn>"
    reason = (
        f"bucket.grant_read: s3:GetObject*/GetBucket*/List* on this one bucket and its "
        f"{key_pattern} keys; the function reads objects whose keys it only learns at run time."
    )
    for finding in ("Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*"):
        acknowledge(role, f"{IAM5}[{finding}]", reason)
    acknowledge(role, f"{IAM5}[Resource::{arn}/{key_pattern}]", reason)


def acknowledge_bucket_put(role: IConstruct, bucket: s3.IBucket, key_pattern: str) -> None:
    """The wildcards of ``bucket.grant_put(role, key_pattern)``: writes under one prefix."""
    reason = (
        f"bucket.grant_put limited to the {key_pattern} prefix of this bucket; "
        "s3:Abort* lets multipart uploads of large artifacts be cleaned up."
    )
    acknowledge(role, f"{IAM5}[Action::s3:Abort*]", reason)
    acknowledge(role, f"{IAM5}[Resource::<{logical_id(bucket)}.Arn>/{key_pattern}]", reason)


def acknowledge_xray(role: IConstruct) -> None:
    """Active tracing needs xray:PutTraceSegments/PutTelemetryRecords, which take no resource."""
    acknowledge(
        role,
        f"{IAM5}[Resource::*]",
        "X-Ray PutTraceSegments/PutTelemetryRecords (and CloudWatch Logs delivery for "
        "Step Functions) support no resource-level permissions.",
    )


def acknowledge_kms_publish(role: IConstruct) -> None:
    acknowledge(
        role,
        f"{IAM5}[Action::kms:GenerateDataKey*]",
        "topic.grant_publish on the encrypted topic: GenerateDataKey* on the topic's own key.",
    )


def acknowledge_function_versions(role: IConstruct, function: IConstruct) -> None:
    acknowledge(
        role,
        f"{IAM5}[Resource::<{logical_id(function)}.Arn>:*]",
        "Step Functions may invoke any version or alias of this one pipeline function.",
    )
