"""The light AWS client against moto, both in-process (mock_aws + moto_http) and over real HTTP
(a threaded moto server behind AWS_ENDPOINT_URL), on data written and read back with botocore."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator

import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from mlops import aws, aws_http
from mlops.aws_http import AwsHttpError, NoSuchKeyError
from mlops.local.moto_transport import moto_http
from mlops.local.tables import create_registry_table

TABLE = "registry"
BUCKET = "mlops-artifacts"
DOTTED_BUCKET = "mlops.artifacts.dotted"
KEY = "models/a b/1/model+x.onnx"
MODEL = {"pk": {"S": "MODEL#fraud"}, "sk": {"S": "MODEL"}, "spec": {"S": '{"task": "binary"}'}}
VERSIONS = [
    {"pk": {"S": "MODEL#fraud"}, "sk": {"S": f"VERSION#{n:04d}"}, "version": {"N": str(n)}}
    for n in (1, 2)
]


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_DYNAMODB",
    ):
        monkeypatch.delenv(name, raising=False)
    aws.reset_clients()
    aws_http.reset_clients()
    yield
    aws.reset_clients()
    aws_http.reset_clients()


@pytest.fixture(params=["in-process", "http"])
def cloud(
    request: pytest.FixtureRequest, fake_aws: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A moto holding the registry table and artifact buckets; which moto it is."""
    if request.param == "in-process":
        with mock_aws(), moto_http():
            _seed()
            yield request.param
        return
    endpoint = request.getfixturevalue("moto_server")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    aws.reset_clients()
    aws_http.reset_clients()
    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=10) as response:
        assert response.status == 200
    _seed()
    yield request.param


def _seed() -> None:
    dynamodb, s3 = aws.client("dynamodb"), aws.client("s3")
    create_registry_table(dynamodb, TABLE)
    for item in [MODEL, *VERSIONS]:
        dynamodb.put_item(TableName=TABLE, Item=item)
    for bucket in (BUCKET, DOTTED_BUCKET):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(
            Bucket=bucket,
            Key=KEY,
            Body=b"\x00onnx model bytes",
            ContentType="application/octet-stream",
            Metadata={"sha256": "f00d", "framework": "onnx"},
        )


def test_get_item(cloud: str) -> None:
    client = aws_http.dynamodb()

    found = client.get_item(TableName=TABLE, Key={"pk": MODEL["pk"], "sk": MODEL["sk"]})
    missing = client.get_item(
        TableName=TABLE, Key={"pk": MODEL["pk"], "sk": {"S": "VERSION#9999"}}, ConsistentRead=True
    )

    assert found["Item"] == MODEL
    assert "Item" not in missing
    assert missing["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_query(cloud: str) -> None:
    result = aws_http.dynamodb().query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": MODEL["pk"], ":prefix": {"S": "VERSION#"}},
        ConsistentRead=True,
    )

    assert result["Items"] == VERSIONS
    assert result["Count"] == 2


def test_get_item_on_a_missing_table(cloud: str) -> None:
    with pytest.raises(AwsHttpError) as raised:
        aws_http.dynamodb().get_item(TableName="no-such-table", Key={"pk": {"S": "x"}})

    assert raised.value.code == "ResourceNotFoundException"
    assert raised.value.status == 400


@pytest.mark.parametrize("bucket", [BUCKET, DOTTED_BUCKET])
def test_get_object_reads_what_botocore_put(cloud: str, bucket: str) -> None:
    expected = aws.client("s3").head_object(Bucket=bucket, Key=KEY)

    result = aws_http.s3().get_object(Bucket=bucket, Key=KEY)

    assert result["Body"].read() == b"\x00onnx model bytes"
    assert result["Metadata"] == {"sha256": "f00d", "framework": "onnx"}
    assert result["ContentLength"] == len(b"\x00onnx model bytes")
    assert result["ContentType"] == "application/octet-stream"
    assert result["ETag"] == expected["ETag"]


def test_put_object_is_read_back_by_botocore(cloud: str) -> None:
    key = "models/c d/2/model+y.onnx"
    metadata = {"sha256": "beef", "framework": "onnx"}

    put = aws_http.s3().put_object(
        Bucket=BUCKET,
        Key=key,
        Body=b"new model",
        ContentType="application/x-onnx",
        Metadata=metadata,
    )

    stored = aws.client("s3").get_object(Bucket=BUCKET, Key=key)
    assert stored["Body"].read() == b"new model"
    assert stored["ContentType"] == "application/x-onnx"
    assert stored["Metadata"] == metadata
    assert put["ETag"] == stored["ETag"]


def test_get_of_a_missing_key(cloud: str) -> None:
    client = aws_http.s3()

    with pytest.raises(NoSuchKeyError):
        client.get_object(Bucket=BUCKET, Key="models/missing.onnx")

    with pytest.raises(client.exceptions.ClientError) as raised:  # as botocore's callers catch
        client.get_object(Bucket=BUCKET, Key="models/missing.onnx")
    assert raised.value.response["Error"]["Code"] == "NoSuchKey"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_get_from_a_missing_bucket(cloud: str) -> None:
    with pytest.raises(AwsHttpError) as raised:
        aws_http.s3().get_object(Bucket="no-such-bucket", Key=KEY)

    assert not isinstance(raised.value, NoSuchKeyError)
    assert (raised.value.code, raised.value.status) == ("NoSuchBucket", 404)


def test_concurrent_reads(cloud: str) -> None:
    """Threads share the clients (each thread its own connections over HTTP)."""
    failures: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(5):
                item = aws_http.dynamodb().get_item(
                    TableName=TABLE, Key={"pk": MODEL["pk"], "sk": MODEL["sk"]}
                )
                assert item["Item"] == MODEL
                body = aws_http.s3().get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
                assert body == b"\x00onnx model bytes"
        except BaseException as failure:  # noqa: BLE001 - reported by the test's thread
            failures.append(failure)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_moto_transport_needs_an_active_mock(fake_aws: None) -> None:
    with moto_http():
        client = aws_http.DynamoDBClient(sleep=lambda _: None)
        with pytest.raises(AwsHttpError) as raised:
            client.get_item(TableName=TABLE, Key={"pk": {"S": "x"}})
    assert (raised.value.code, raised.value.status) == ("ConnectionError", 0)
    assert "mock_aws" in raised.value.message
    assert aws_http._installed_transport is None
