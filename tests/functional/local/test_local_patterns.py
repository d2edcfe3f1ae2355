"""Event patterns match as EventBridge documents them (no AWS involved)."""

from __future__ import annotations

import pytest

from mlops.local.patterns import PatternError, matches, validate

EVENT = {
    "source": "aws.s3",
    "detail-type": "Object Created",
    "resources": ["arn:aws:s3:::data", "arn:aws:s3:::other"],
    "detail": {
        "bucket": {"name": "data"},
        "object": {"key": "training/churn/2024.csv", "size": 1500, "etag": None},
        "source-ip-address": "10.0.1.7",
        "flag": True,
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": ["aws.s3"]}, True),
        ({"source": ["aws.s3", "aws.events"]}, True),
        ({"source": ["aws.events"]}, False),
        ({"detail": {"bucket": {"name": ["data"]}}}, True),
        ({"detail": {"bucket": {"name": ["nope"]}}}, False),
        ({"detail": {"object": {"key": [{"prefix": "training/"}]}}}, True),
        ({"detail": {"object": {"key": [{"prefix": {"equals-ignore-case": "TRAINING/"}}]}}}, True),
        ({"detail": {"object": {"key": [{"suffix": ".csv"}]}}}, True),
        ({"detail": {"object": {"key": [{"suffix": ".json"}]}}}, False),
        ({"detail": {"object": {"key": [{"wildcard": "training/*/*.csv"}]}}}, True),
        ({"detail": {"object": {"key": [{"wildcard": "training/*.json"}]}}}, False),
        ({"detail-type": [{"equals-ignore-case": "object created"}]}, True),
        ({"detail": {"bucket": {"name": [{"anything-but": "data"}]}}}, False),
        ({"detail": {"bucket": {"name": [{"anything-but": ["x", "y"]}]}}}, True),
        ({"detail": {"object": {"key": [{"anything-but": {"prefix": "batch/"}}]}}}, True),
        ({"detail": {"object": {"key": [{"anything-but": {"suffix": ".csv"}}]}}}, False),
        ({"detail": {"object": {"size": [{"numeric": [">", 1000, "<=", 1500]}]}}}, True),
        ({"detail": {"object": {"size": [{"numeric": ["<", 1000]}]}}}, False),
        ({"detail": {"object": {"size": [1500.0]}}}, True),
        ({"detail": {"object": {"etag": [None]}}}, True),
        ({"detail": {"flag": [True]}}, True),
        ({"detail": {"flag": ["true"]}}, False),
        ({"detail": {"object": {"version-id": [{"exists": False}]}}}, True),
        ({"detail": {"object": {"version-id": [{"exists": True}]}}}, False),
        ({"detail": {"object": {"key": [{"exists": True}]}}}, True),
        ({"detail": {"missing": {"deep": [{"exists": False}]}}}, True),
        ({"detail": {"missing": {"deep": ["x"]}}}, False),
        ({"resources": ["arn:aws:s3:::other"]}, True),
        ({"detail": {"source-ip-address": [{"cidr": "10.0.0.0/16"}]}}, True),
        ({"detail": {"source-ip-address": [{"cidr": "192.168.0.0/16"}]}}, False),
        ({"$or": [{"source": ["nope"]}, {"detail": {"flag": [True]}}]}, True),
        ({"$or": [{"source": ["nope"]}, {"detail": {"flag": [False]}}]}, False),
        ({"source": ["aws.s3"], "detail": {"bucket": {"name": ["other"]}}}, False),
    ],
)
def test_pattern_matching(pattern: dict, expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        {"source": "aws.s3"},
        {"source": []},
        {"source": [{"unknown": 1}]},
        {"source": [{"numeric": [">"]}]},
    ],
)
def test_invalid_patterns_are_refused(pattern: dict) -> None:
    with pytest.raises(PatternError):
        matches(pattern, EVENT)
    with pytest.raises(PatternError):
        validate(pattern)


def test_valid_patterns_pass_validation() -> None:
    validate(
        {
            "source": ["aws.s3"],
            "detail": {
                "object": {
                    "key": [{"prefix": "training/"}, {"suffix": {"equals-ignore-case": ".CSV"}}]
                },
                "size": [{"numeric": [">=", 0]}, {"anything-but": {"prefix": "x"}}],
            },
            "$or": [{"account": [{"exists": True}]}, {"region": [{"wildcard": "us-*"}]}],
        }
    )
