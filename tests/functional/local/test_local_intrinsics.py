"""Intrinsic functions resolve as CloudFormation resolves them (no AWS involved)."""

from __future__ import annotations

import pytest

from mlops.local.deploy import Deployer
from mlops.local.intrinsics import IntrinsicError
from mlops.local.names import Place

PLACE = Place(region="us-east-1", account="123456789012", stack="Demo")
TEMPLATE = {
    "Parameters": {"Stage": {"Type": "String", "Default": "prod"}},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
    },
    "Mappings": {"Sizes": {"prod": {"Memory": 1024}}},
    "Resources": {
        "DataBucket1A2B": {"Type": "AWS::S3::Bucket"},
        "Named": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "explicit-name"}},
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Fn": {"Type": "AWS::Lambda::Function"},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine"},
        "Role": {"Type": "AWS::IAM::Role"},
        "DevOnly": {"Type": "AWS::SNS::Topic", "Condition": "IsDev"},
    },
}


@pytest.fixture
def resolve():
    return Deployer(TEMPLATE, PLACE, client=lambda service: None).resolver.resolve


def test_refs_and_attributes_follow_each_resource_types_rules(resolve) -> None:
    assert resolve({"Ref": "DataBucket1A2B"}) == "demo-databucket1a2b"
    assert resolve({"Ref": "Named"}) == "explicit-name"
    assert resolve({"Ref": "Topic"}) == "arn:aws:sns:us-east-1:123456789012:Demo-Topic"
    assert (
        resolve({"Ref": "Queue"}) == "https://sqs.us-east-1.amazonaws.com/123456789012/Demo-Queue"
    )
    assert resolve({"Fn::GetAtt": ["Fn", "Arn"]}) == (
        "arn:aws:lambda:us-east-1:123456789012:function:Demo-Fn"
    )
    assert resolve({"Fn::GetAtt": "Topic.TopicName"}) == "Demo-Topic"
    assert resolve({"Fn::GetAtt": ["Machine", "Name"]}) == "Demo-Machine"
    assert resolve({"Fn::GetAtt": ["Role", "Arn"]}) == "arn:aws:iam::123456789012:role/Demo-Role"
    assert resolve({"Fn::GetAtt": ["Named", "Arn"]}) == "arn:aws:s3:::explicit-name"


def test_string_functions_and_pseudo_parameters(resolve) -> None:
    assert resolve({"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}, 3]]}) == "a-us-east-1-3"
    assert resolve({"Fn::Sub": "${AWS::StackName}/${Named}/${Fn.Arn}/${!Literal}"}) == (
        "Demo/explicit-name/arn:aws:lambda:us-east-1:123456789012:function:Demo-Fn/${Literal}"
    )
    assert resolve({"Fn::Sub": ["${X}-${AWS::AccountId}", {"X": {"Ref": "Stage"}}]}) == (
        "prod-123456789012"
    )
    assert resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}) == 1024
    assert resolve({"Ref": "AWS::Partition"}) == "aws"
    assert resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"


def test_conditions_and_no_value(resolve) -> None:
    value = {
        "A": {"Fn::If": ["IsProd", "big", "small"]},
        "B": {"Fn::If": ["IsDev", "x", {"Ref": "AWS::NoValue"}]},
        "C": [1, {"Fn::If": ["IsDev", 2, {"Ref": "AWS::NoValue"}]}],
    }
    assert resolve(value) == {"A": "big", "C": [1]}


def test_unknown_references_are_named_in_the_error(resolve) -> None:
    with pytest.raises(IntrinsicError, match="Nope"):
        resolve({"Ref": "Nope"})
    with pytest.raises(IntrinsicError, match="ImportValue"):
        resolve({"Fn::ImportValue": "x"})
