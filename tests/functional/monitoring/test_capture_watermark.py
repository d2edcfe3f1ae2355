"""The capture watermark: objects sharing a LastModified second are each read exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops.monitoring.objects import Watermark, list_new, read_lines

BUCKET = "watermark-data"
PREFIX = "captures/fraud/"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def put(s3: Any, name: str, body: bytes = b'{"request_id": "r"}\n') -> None:
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}2026-12-04/{name}.jsonl", Body=body)


def test_objects_at_the_watermark_second_are_not_lost_or_repeated(s3: Any) -> None:
    # Given two objects, processed
    put(s3, "a")
    put(s3, "b")
    first = list_new(s3, BUCKET, PREFIX, Watermark(), limit=100)
    assert [o.key.rsplit("/", 1)[1] for o in first.objects] == ["a.jsonl", "b.jsonl"]
    # When another object arrives (in the same second or later)
    put(s3, "c")
    second = list_new(s3, BUCKET, PREFIX, first.watermark, limit=100)
    # Then only it is new, and after it nothing is
    assert [o.key.rsplit("/", 1)[1] for o in second.objects] == ["c.jsonl"]
    assert list_new(s3, BUCKET, PREFIX, second.watermark, limit=100).objects == []
    # And the watermark survives its JSON form
    restored = Watermark.from_dict(second.watermark.as_dict())
    assert restored == second.watermark


def test_a_limit_leaves_the_rest_for_the_next_run(s3: Any) -> None:
    for name in "abcde":
        put(s3, name)

    first = list_new(s3, BUCKET, PREFIX, Watermark(), limit=3)
    rest = list_new(s3, BUCKET, PREFIX, first.watermark, limit=3)

    assert (len(first.objects), first.left_for_later) == (3, 2)
    assert {o.key for o in first.objects}.isdisjoint({o.key for o in rest.objects})
    assert len(first.objects) + len(rest.objects) == 5


def test_lines_that_are_not_json_objects_are_counted_not_fatal(s3: Any) -> None:
    put(s3, "bad", b'{"request_id": "r1"}\nnot json\n[1, 2]\n\n{"request_id": "r2"}\n')

    lines = read_lines(s3, BUCKET, [f"{PREFIX}2026-12-04/bad.jsonl", f"{PREFIX}gone.jsonl"])

    assert [row["request_id"] for row in lines.by_key[f"{PREFIX}2026-12-04/bad.jsonl"]] == [
        "r1",
        "r2",
    ]
    assert lines.bad_lines == 2
    assert lines.unreadable == [f"{PREFIX}gone.jsonl"]
