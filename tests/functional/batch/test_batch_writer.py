"""The streaming output on moto S3: parts upload while the next fills, the object reads back
whole (plain or gzipped), and a failed part or an abort leaves nothing behind."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mlops.batch.writer import S3Writer

BUCKET, KEY = "out", "batch/output/m/run/part.csv"
PART = 5 << 20  # S3's smallest part


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _rows(count: int) -> list[bytes]:
    return [b"".join(b"%d,%d.5,row\n" % (i, i) for i in range(s, s + 10_000))
            for s in range(0, count, 10_000)]  # fmt: skip


def _leftovers(s3: Any) -> tuple[list[str], list[str]]:
    objects = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    uploads = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    return [item["Key"] for item in objects], [item["Key"] for item in uploads]


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_large_output_uploads_in_parts_and_reads_back_whole(s3: Any, gzipped: bool) -> None:
    # Given ~15 MiB of rows written in pieces (three parts of 5 MiB and a last one)
    pieces = _rows(600_000)
    writer = S3Writer(s3, BUCKET, KEY, gzipped=gzipped, content_type="text/csv", part_size=PART)
    for piece in pieces:
        writer.write(piece)
    writer.close()
    # Then the object is every byte in order, and no upload is left open
    body = s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    assert (gzip.decompress(body) if gzipped else body) == b"".join(pieces)
    assert writer.bytes_written == sum(map(len, pieces))
    assert _leftovers(s3) == ([KEY], [])
    if not gzipped:
        assert s3.head_object(Bucket=BUCKET, Key=KEY, PartNumber=1)["PartsCount"] >= 3


def test_abort_after_parts_leaves_nothing(s3: Any) -> None:
    writer = S3Writer(s3, BUCKET, KEY, gzipped=False, content_type="text/csv", part_size=PART)
    for piece in _rows(400_000):
        writer.write(piece)
    writer.abort()
    assert _leftovers(s3) == ([], [])


class _FailingPart:
    """The S3 client, except that one part's upload fails."""

    def __init__(self, s3: Any, failing: int) -> None:
        self._s3 = s3
        self._failing = failing
        self.exceptions = s3.exceptions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def upload_part(self, **kwargs: Any) -> Any:
        if kwargs["PartNumber"] == self._failing:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "UploadPart")
        return self._s3.upload_part(**kwargs)


def test_a_failed_part_is_raised_and_abort_leaves_nothing(s3: Any) -> None:
    # Given a part that fails while the next one fills
    writer = S3Writer(_FailingPart(s3, failing=1), BUCKET, KEY, gzipped=False,
                      content_type="text/csv", part_size=PART)  # fmt: skip
    # Then the error reaches the writer's caller by the end, and aborting cleans up
    with pytest.raises(ClientError, match="boom"):  # noqa: PT012 - raised by a later call
        for piece in _rows(600_000):
            writer.write(piece)
        writer.close()
    writer.abort()
    assert _leftovers(s3) == ([], [])
