"""A template the local cloud cannot deploy fails with the resource named, and leaves no state."""

from __future__ import annotations

import pytest

from mlops.local import DeployError, LocalCloud, LocalCloudError

TEMPLATE = {
    "Resources": {
        "Data": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "local-test-data"}},
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "DefinitionS3Location": {"Bucket": "b", "Key": "k"},
                "RoleArn": "arn:aws:iam::123456789012:role/r",
            },
        },
    },
    "Outputs": {"DataBucketName": {"Value": {"Ref": "Data"}}},
}


def test_an_undeployable_resource_is_named_and_the_cloud_can_start_again() -> None:
    with pytest.raises(DeployError, match=r"Machine \(AWS::StepFunctions::StateMachine\)"):
        LocalCloud(TEMPLATE, stack="Broken").start()

    deployable = {
        "Resources": {"Data": TEMPLATE["Resources"]["Data"]},
        "Outputs": TEMPLATE["Outputs"],
    }
    with LocalCloud(deployable, stack="Fixed") as cloud:
        assert cloud.settings.data_bucket == "local-test-data"
        assert cloud.client("s3").list_buckets()["Buckets"][0]["Name"] == "local-test-data"


def test_only_one_local_cloud_runs_at_a_time() -> None:
    template = {"Resources": {}}
    with (
        LocalCloud(template, stack="First"),
        pytest.raises(LocalCloudError, match="already running"),
    ):
        LocalCloud(template, stack="Second").start()


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"ScheduleExpression": "cron(0 12 L * ? *)"}, "L, W and #"),
        ({"EventPattern": {"source": [{"sufix": ".csv"}]}}, "unknown content filter 'sufix'"),
        (
            {
                "EventPattern": {"source": ["app"]},
                "Targets": [
                    {"Id": "Log", "Arn": "arn:aws:logs:us-east-1:123456789012:log-group:x"}
                ],
            },
            "target Log: the local cloud does not deliver to logs",
        ),
    ],
)
def test_rules_the_router_cannot_honour_are_refused_at_deploy(
    properties: dict, message: str
) -> None:
    template = {"Resources": {"Rule": {"Type": "AWS::Events::Rule", "Properties": properties}}}

    with pytest.raises(DeployError, match=message):
        LocalCloud(template, stack="Rules").start()
