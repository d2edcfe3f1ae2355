"""The light AWS client: SigV4 as botocore signs, endpoints as the SDK builds them, AWS error
parsing, retries, the credential fallback and the kept-alive HTTP transport."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import botocore.auth
import botocore.session
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials

from mlops import aws_http
from mlops.aws_http import AwsHttpError, DynamoDBClient, NoSuchKeyError, S3Client
from mlops.aws_http.transport import ca_bundle

NOW = datetime(2024, 5, 17, 12, 34, 56, tzinfo=UTC)
KEYS = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
TOKEN = "FwoGZXIvYXdzEXAMPLE//token+with/odd=chars"
ENV_VARIABLES = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CA_BUNDLE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)

Response = tuple[int, Mapping[str, str], bytes]


class FakeTransport:
    """Records each request; answers with the queued responses (or raises queued errors)."""

    def __init__(self, *responses: Response | BaseException) -> None:
        self.responses = list(responses)
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

    def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Response:
        self.requests.append((method, url, dict(headers), body))
        response = self.responses.pop(0)
        if isinstance(response, BaseException):
            raise response
        return response


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEYS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEYS[1])
    aws_http.reset_clients()
    yield
    aws_http.reset_clients()
    aws_http.use_transport(None)


def dynamodb(transport: FakeTransport, token: str | None = None, **kwargs: Any) -> DynamoDBClient:
    return DynamoDBClient(
        credentials=lambda: (*KEYS, token), transport=transport, clock=lambda: NOW, **kwargs
    )


def s3(transport: FakeTransport, token: str | None = None, **kwargs: Any) -> S3Client:
    return S3Client(
        credentials=lambda: (*KEYS, token), transport=transport, clock=lambda: NOW, **kwargs
    )


def botocore_authorization(
    auth: type[SigV4Auth],
    service: str,
    request: tuple[str, str, dict[str, str], bytes],
    token: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> AWSRequest:
    """The request as botocore signs it at NOW, from what we sent minus what signing adds
    (botocore derives host from the URL and adds the date, token and, for S3, the body hash)."""
    method, url, headers, body = request
    added = {"authorization", "host", "x-amz-date", "x-amz-security-token"}
    if auth is S3SigV4Auth:
        added.add("x-amz-content-sha256")
    unsigned = {name: value for name, value in headers.items() if name not in added}
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: NOW.replace(tzinfo=None))
    signed = AWSRequest(method=method, url=url, headers=unsigned, data=body)
    auth(Credentials(*KEYS, token), service, "eu-west-1").add_auth(signed)
    return signed


# --- SigV4 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, TOKEN])
def test_dynamodb_request_is_signed_as_botocore_signs_it(
    token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = FakeTransport((200, {}, b'{"Item": {"pk": {"S": "a"}}}'))
    client = dynamodb(transport, token)

    result = client.get_item(TableName="registry", Key={"pk": {"S": "a"}}, ConsistentRead=True)

    assert result["Item"] == {"pk": {"S": "a"}}
    method, url, headers, body = sent = transport.requests[0]
    assert (method, url) == ("POST", "https://dynamodb.eu-west-1.amazonaws.com/")
    assert json.loads(body) == {
        "TableName": "registry",
        "Key": {"pk": {"S": "a"}},
        "ConsistentRead": True,
    }
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["x-amz-target"] == "DynamoDB_20120810.GetItem"
    assert headers["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
    assert headers["host"] == "dynamodb.eu-west-1.amazonaws.com"
    assert headers.get("x-amz-security-token") == token
    expected = botocore_authorization(SigV4Auth, "dynamodb", sent, token, monkeypatch)
    assert headers["x-amz-date"] == expected.headers["X-Amz-Date"] == "20240517T123456Z"
    assert headers["authorization"] == expected.headers["Authorization"]
    signed_names = headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
    assert ("x-amz-security-token" in signed_names) == (token is not None)


@pytest.mark.parametrize("token", [None, TOKEN])
def test_s3_get_is_signed_as_botocore_signs_it(
    token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = FakeTransport((200, {"content-length": "3"}, b"abc"))
    client = s3(transport, token)

    client.get_object(Bucket="artifacts", Key="models/a b/1/model+x.onnx")

    method, url, headers, body = sent = transport.requests[0]
    assert method == "GET"
    assert url == "https://artifacts.s3.eu-west-1.amazonaws.com/models/a%20b/1/model%2Bx.onnx"
    assert body == b""
    assert headers["x-amz-content-sha256"] == hashlib.sha256(b"").hexdigest()
    expected = botocore_authorization(S3SigV4Auth, "s3", sent, token, monkeypatch)
    assert headers["x-amz-content-sha256"] == expected.headers["X-Amz-Content-SHA256"]
    assert headers["authorization"] == expected.headers["Authorization"]


@pytest.mark.parametrize("token", [None, TOKEN])
def test_s3_put_with_metadata_is_signed_as_botocore_signs_it(
    token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = FakeTransport((200, {"etag": '"e1"'}, b""))
    client = s3(transport, token)

    result = client.put_object(
        Bucket="artifacts",
        Key="models/a b/1/model+x.onnx",
        Body=b"\x00onnx bytes",
        ContentType="application/octet-stream",
        Metadata={"sha256": "f00d", "Framework": "onnx  runtime "},
    )

    assert result["ETag"] == '"e1"'
    method, _, headers, body = sent = transport.requests[0]
    assert (method, body) == ("PUT", b"\x00onnx bytes")
    assert headers["x-amz-meta-sha256"] == "f00d"
    assert headers["x-amz-meta-framework"] == "onnx  runtime "  # names go lower-case
    assert headers["content-type"] == "application/octet-stream"
    signed_names = headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
    assert "x-amz-meta-framework;x-amz-meta-sha256" in signed_names
    expected = botocore_authorization(S3SigV4Auth, "s3", sent, token, monkeypatch)
    assert headers["x-amz-content-sha256"] == expected.headers["X-Amz-Content-SHA256"]
    assert headers["authorization"] == expected.headers["Authorization"]


def test_signing_a_custom_endpoint_keeps_its_port_in_host(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = FakeTransport((200, {}, b"{}"))
    client = dynamodb(transport, endpoint="http://127.0.0.1:4566")

    client.query(TableName="t", KeyConditionExpression="pk = :pk")

    sent = transport.requests[0]
    assert sent[1] == "http://127.0.0.1:4566/"
    assert sent[2]["host"] == "127.0.0.1:4566"
    expected = botocore_authorization(SigV4Auth, "dynamodb", sent, None, monkeypatch)
    assert sent[2]["authorization"] == expected.headers["Authorization"]


# --- endpoints and URLs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "bucket", "url"),
    [
        ("eu-west-1", "artifacts", "https://artifacts.s3.eu-west-1.amazonaws.com/k/v%201.onnx"),
        ("eu-west-1", "my.dotted.bucket", "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/k/v%201.onnx"),
        ("cn-north-1", "artifacts", "https://artifacts.s3.cn-north-1.amazonaws.com.cn/k/v%201.onnx"),
        ("us-east-1", "Legacy_Bucket", "https://s3.us-east-1.amazonaws.com/Legacy_Bucket/k/v%201.onnx"),
    ],
)  # fmt: skip
def test_s3_urls_on_aws(
    region: str, bucket: str, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", region)
    transport = FakeTransport((200, {}, b""))

    s3(transport).get_object(Bucket=bucket, Key="k/v 1.onnx")

    assert transport.requests[0][1] == url
    assert f"/{region}/s3/aws4_request" in transport.requests[0][2]["authorization"]


@pytest.mark.parametrize(
    ("region", "bucket"), [("eu-west-1", "artifacts"), ("eu-west-1", "my.dotted.bucket")]
)
def test_s3_urls_match_botocores(region: str, bucket: str) -> None:
    """The same object URL as a botocore client builds (outside us-east-1, where botocore still
    defaults to the global endpoint)."""
    transport = FakeTransport((200, {}, b""))
    S3Client(region=region, transport=transport).get_object(Bucket=bucket, Key="m/a b/x+y.onnx")

    client = botocore.session.get_session().create_client("s3", region_name=region)
    seen: list[str] = []

    class CapturedError(Exception):
        pass

    def capture(request: Any, **_: Any) -> None:
        seen.append(request.url)
        raise CapturedError

    client.meta.events.register("before-send", capture)
    with pytest.raises(CapturedError):
        client.get_object(Bucket=bucket, Key="m/a b/x+y.onnx")
    assert transport.requests[0][1] == seen[0]


def test_region_falls_back_to_aws_default_region_and_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert aws_http.dynamodb().region == "ap-south-1"

    monkeypatch.delenv("AWS_DEFAULT_REGION")
    aws_http.reset_clients()
    with pytest.raises(AwsHttpError) as raised:
        aws_http.s3()
    assert raised.value.code == "NoRegion"
    assert "AWS_REGION" in raised.value.message


def test_endpoints_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = FakeTransport(*[(200, {}, b"{}")] * 4)
    aws_http.use_transport(transport)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:5000/")
    aws_http.dynamodb().get_item(TableName="t", Key={})
    aws_http.s3().get_object(Bucket="artifacts", Key="a b")

    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:8000")
    aws_http.reset_clients()
    aws_http.dynamodb().get_item(TableName="t", Key={})
    aws_http.s3().get_object(Bucket="my.bucket", Key="k")

    assert [request[1] for request in transport.requests] == [
        "http://localhost:5000/",
        "http://localhost:5000/artifacts/a%20b",
        "http://localhost:8000/",
        "http://localhost:5000/my.bucket/k",
    ]
    assert transport.requests[2][2]["host"] == "localhost:8000"


def test_clients_are_cached_until_reset() -> None:
    first = aws_http.dynamodb()
    assert aws_http.dynamodb() is first
    assert aws_http.s3() is aws_http.s3()
    aws_http.reset_clients()
    assert aws_http.dynamodb() is not first


def test_use_transport_routes_existing_clients_and_none_restores_https(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    https = FakeTransport((200, {}, b'{"Items": [], "Count": 2}'))
    monkeypatch.setattr(aws_http, "_https", https)
    client = aws_http.dynamodb()
    installed = FakeTransport((200, {}, b'{"Items": [], "Count": 0}'))
    aws_http.use_transport(installed)
    assert client.query(TableName="t")["Count"] == 0

    aws_http.use_transport(None)
    assert client.query(TableName="t")["Count"] == 2
    assert (len(installed.requests), len(https.requests)) == (1, 1)


# --- results and errors ------------------------------------------------------------------------


def test_get_object_result_shape() -> None:
    headers = {
        "content-length": "5",
        "content-type": "application/octet-stream",
        "etag": '"abc"',
        "x-amz-meta-sha256": "f00d",
        "x-amz-meta-framework": "onnx",
        "x-amz-request-id": "r1",
    }
    result = s3(FakeTransport((200, headers, b"bytes"))).get_object(Bucket="b-1", Key="k")

    assert result["Body"].read() == b"bytes"
    assert result["Metadata"] == {"sha256": "f00d", "framework": "onnx"}
    assert result["ContentLength"] == 5
    assert result["ContentType"] == "application/octet-stream"
    assert result["ETag"] == '"abc"'


def test_get_item_of_a_missing_item_has_no_item_key() -> None:
    result = dynamodb(FakeTransport((200, {}, b"{}"))).get_item(TableName="t", Key={})
    assert "Item" not in result
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("message_field", ["message", "Message"])
def test_dynamodb_json_error(message_field: str) -> None:
    body = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
            message_field: "Requested resource not found",
        }
    ).encode()
    client = dynamodb(FakeTransport((400, {}, body)))

    with pytest.raises(AwsHttpError) as raised:
        client.get_item(TableName="missing", Key={})

    error = raised.value
    assert (error.code, error.message, error.status) == (
        "ResourceNotFoundException",
        "Requested resource not found",
        400,
    )
    assert error.response == {
        "Error": {"Code": "ResourceNotFoundException", "Message": "Requested resource not found"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    assert "(ResourceNotFoundException) when calling the GetItem operation" in str(error)


def test_s3_xml_error() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code>'
        b"<Message>The specified bucket does not exist &amp; never did</Message>"
        b"<BucketName>gone</BucketName></Error>"
    )
    client = s3(FakeTransport((404, {}, body)))

    with pytest.raises(AwsHttpError) as raised:
        client.get_object(Bucket="gone", Key="k")

    assert not isinstance(raised.value, NoSuchKeyError)
    assert raised.value.code == "NoSuchBucket"
    assert raised.value.message == "The specified bucket does not exist & never did"
    assert raised.value.status == 404


@pytest.mark.parametrize(
    "body", [b"", b"<Error><Code>NoSuchKey</Code><Message>The key</Message></Error>"]
)
def test_s3_missing_key_is_no_such_key_with_or_without_a_body(body: bytes) -> None:
    client = s3(FakeTransport((404, {}, body)))

    with pytest.raises(client.exceptions.NoSuchKey) as raised:
        client.get_object(Bucket="b-1", Key="k")

    assert isinstance(raised.value, client.exceptions.ClientError)
    assert raised.value.response["Error"]["Code"] == "NoSuchKey"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "AccessDenied"),
        (b"<Error><Code>InvalidAccessKeyId</Code></Error>", "InvalidAccessKeyId"),
    ],
)
def test_s3_forbidden(body: bytes, code: str) -> None:
    client = s3(FakeTransport((403, {}, body)))
    with pytest.raises(AwsHttpError) as raised:
        client.put_object(Bucket="b-1", Key="k", Body=b"x")
    assert (raised.value.code, raised.value.status) == (code, 403)


# --- retries -----------------------------------------------------------------------------------

THROTTLED = (
    400,
    {},
    b'{"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow"}',
)


def test_throttling_is_retried_after_a_jittered_backoff() -> None:
    sleeps: list[float] = []
    transport = FakeTransport(THROTTLED, (200, {}, b'{"Item": {"pk": {"S": "a"}}}'))
    client = dynamodb(transport, sleep=sleeps.append, rand=lambda: 0.6)

    assert client.get_item(TableName="t", Key={})["Item"] == {"pk": {"S": "a"}}
    assert len(transport.requests) == 2
    assert sleeps == [pytest.approx(0.6 * 0.025)]
    assert 0 <= sleeps[0] <= aws_http.BACKOFF_BASE


def test_backoff_is_full_jitter_capped() -> None:
    sleeps: list[float] = []
    failures = [(503, {}, b"<Error><Code>SlowDown</Code></Error>")] * 3
    client = s3(FakeTransport(*failures), sleep=sleeps.append, rand=lambda: 1.0)

    with pytest.raises(AwsHttpError) as raised:
        client.get_object(Bucket="b-1", Key="k")

    assert (raised.value.code, raised.value.status) == ("SlowDown", 503)
    assert sleeps == [pytest.approx(0.025), pytest.approx(0.05)]
    assert all(delay <= aws_http.BACKOFF_CAP for delay in sleeps)


def test_transport_failures_become_a_connection_error_after_three_attempts() -> None:
    sleeps: list[float] = []
    transport = FakeTransport(ConnectionResetError("reset"), TimeoutError("read"), OSError("x"))
    client = dynamodb(transport, sleep=sleeps.append)

    with pytest.raises(AwsHttpError) as raised:
        client.query(TableName="t")

    assert len(transport.requests) == aws_http.MAX_ATTEMPTS == 3
    assert (raised.value.code, raised.value.status) == ("ConnectionError", 0)
    assert "dynamodb.eu-west-1.amazonaws.com" in raised.value.message
    assert isinstance(raised.value.__cause__, OSError)
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.025
    assert 0 <= sleeps[1] <= 0.05


def test_each_attempt_is_signed_afresh() -> None:
    times = iter([NOW, NOW.replace(second=59)])
    transport = FakeTransport((500, {}, b"{}"), (200, {}, b"{}"))
    client = DynamoDBClient(
        credentials=lambda: (*KEYS, None),
        transport=transport,
        clock=lambda: next(times),
        sleep=lambda _: None,
    )
    client.get_item(TableName="t", Key={})
    dates = [request[2]["x-amz-date"] for request in transport.requests]
    assert dates == ["20240517T123456Z", "20240517T123459Z"]


@pytest.mark.parametrize("status", [429, 500, 502])
def test_5xx_and_429_are_retried(status: int) -> None:
    transport = FakeTransport((status, {}, b""), (200, {}, b"{}"))
    dynamodb(transport, sleep=lambda _: None).get_item(TableName="t", Key={})
    assert len(transport.requests) == 2


def test_a_validation_error_is_not_retried() -> None:
    body = b'{"__type": "com.amazon.coral.validate#ValidationException", "message": "bad key"}'
    sleeps: list[float] = []
    transport = FakeTransport((400, {}, body))
    client = dynamodb(transport, sleep=sleeps.append)

    with pytest.raises(AwsHttpError) as raised:
        client.get_item(TableName="t", Key={})

    assert (raised.value.code, raised.value.message) == ("ValidationException", "bad key")
    assert len(transport.requests) == 1
    assert sleeps == []


# --- credentials -------------------------------------------------------------------------------


def test_session_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    transport = FakeTransport((200, {}, b"{}"))
    aws_http.use_transport(transport)

    aws_http.dynamodb().get_item(TableName="t", Key={})

    headers = transport.requests[0][2]
    assert headers["x-amz-security-token"] == TOKEN
    assert f"Credential={KEYS[0]}/" in headers["authorization"]


class FakeRefreshable:
    def __init__(self) -> None:
        self.calls = 0

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        self.calls += 1
        return ReadOnlyCredentials(f"AKIDCHAIN{self.calls}", "chain-secret", f"token{self.calls}")


def test_botocore_credential_chain_when_the_environment_has_no_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    chain = FakeRefreshable()
    session = type("Session", (), {"get_credentials": lambda self: chain})()
    monkeypatch.setattr(botocore.session, "get_session", lambda: session)
    transport = FakeTransport((200, {}, b"{}"), (200, {}, b"{}"))
    aws_http.use_transport(transport)

    client = aws_http.dynamodb()
    client.get_item(TableName="t", Key={})
    client.get_item(TableName="t", Key={})

    assert chain.calls == 2  # frozen again for every request: refreshable credentials refresh
    first, second = (request[2] for request in transport.requests)
    assert "Credential=AKIDCHAIN1/" in first["authorization"]
    assert (first["x-amz-security-token"], second["x-amz-security-token"]) == ("token1", "token2")
    assert "Credential=AKIDCHAIN2/" in second["authorization"]


def test_no_credentials_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    session = type("Session", (), {"get_credentials": lambda self: None})()
    monkeypatch.setattr(botocore.session, "get_session", lambda: session)
    transport = FakeTransport()
    aws_http.use_transport(transport)

    with pytest.raises(AwsHttpError) as raised:
        aws_http.s3().get_object(Bucket="b-1", Key="k")

    assert raised.value.code == "NoCredentials"
    assert transport.requests == []


# --- the HTTP transport ------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept-alive connections
    close_after_response = False

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.client_address, self.path, dict(self.headers), body))  # type: ignore[attr-defined]
        reply = b"<ok/>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.send_header("ETag", '"tag"')
        self.end_headers()
        self.wfile.write(reply)
        if self.close_after_response:  # as a server dropping an idle connection, unannounced
            self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


class ClosingHandler(Handler):
    close_after_response = True


@contextmanager
def running(handler: type[Handler]) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(params=[Handler, ClosingHandler], ids=["keep-alive", "server-closes"])
def http_server(request: pytest.FixtureRequest) -> Iterator[ThreadingHTTPServer]:
    with running(request.param) as server:
        yield server


def test_http_transport_keeps_connections_alive_and_reconnects(
    http_server: ThreadingHTTPServer,
) -> None:
    endpoint = f"http://127.0.0.1:{http_server.server_address[1]}"
    sleeps: list[float] = []
    client = S3Client(endpoint=endpoint, credentials=lambda: (*KEYS, None), sleep=sleeps.append)

    results = [
        client.put_object(Bucket="b-1", Key=f"k/{n} x", Body=b"x" * n, Metadata={"n": str(n)})
        for n in range(3)
    ]

    assert [result["ETag"] for result in results] == ['"tag"'] * 3
    seen = http_server.seen  # type: ignore[attr-defined]
    assert [(path, body) for _, path, _, body in seen] == [
        (f"/b-1/k/{n}%20x", b"x" * n) for n in range(3)
    ]
    assert all(headers["x-amz-meta-n"] == str(n) for n, (_, _, headers, _) in enumerate(seen))
    connections = {address for address, *_ in seen}
    closing = http_server.RequestHandlerClass is ClosingHandler
    assert len(connections) == (3 if closing else 1)
    assert sleeps == []  # a dropped idle connection is replaced at once, not retried later


def test_http_transport_uses_a_connection_per_thread() -> None:
    with running(Handler) as server:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        client = S3Client(endpoint=endpoint, credentials=lambda: (*KEYS, None))

        def put_twice() -> None:
            for _ in range(2):
                client.put_object(Bucket="b-1", Key="k", Body=b"x")

        threads = [threading.Thread(target=put_twice) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    seen = server.seen  # type: ignore[attr-defined]
    assert len(seen) == 6
    assert len({address for address, *_ in seen}) == 3


@contextmanager
def canned_server(*answers: bytes) -> Iterator[tuple[str, list[bytes]]]:
    """A server answering the n-th connection's single request with answers[n], then closing;
    yields its endpoint and the raw requests it read."""
    listener = socket.create_server(("127.0.0.1", 0))
    requests: list[bytes] = []

    def serve() -> None:
        for answer in answers:
            connection, _ = listener.accept()
            with connection:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(re.search(rb"Content-Length: (\d+)", head)[1])  # type: ignore[index]
                while len(body) < length:
                    body += connection.recv(65536)
                requests.append(head + b"\r\n\r\n" + body)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", requests
    finally:
        listener.close()
        thread.join(timeout=5)


CHUNKED = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-amz-meta-tag: a\r\n"
    b"X-Amz-Meta-Tag: b\r\n\r\n"
    b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
)
TO_CLOSE = b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\nuntil close"


@pytest.mark.parametrize(
    ("answer", "body", "metadata"),
    [(CHUNKED, b"hello world", {"tag": "a, b"}), (TO_CLOSE, b"until close", {})],
    ids=["chunked-after-100-continue", "read-to-close"],
)
def test_http_transport_reads_chunked_and_read_to_close_answers(
    answer: bytes, body: bytes, metadata: dict[str, str]
) -> None:
    with canned_server(answer) as (endpoint, requests):
        client = S3Client(endpoint=endpoint, credentials=lambda: (*KEYS, None))
        got = client.get_object(Bucket="b-1", Key="k")

    assert got["Body"].read() == body
    assert got["Metadata"] == metadata
    [request] = requests
    assert request.startswith(b"GET /b-1/k HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"Content-Length: 0\r\n" in request


def test_http_transport_retries_a_truncated_answer_then_gives_up() -> None:
    truncated = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"
    with canned_server(truncated, truncated, truncated) as (endpoint, requests):
        sleeps: list[float] = []
        client = S3Client(endpoint=endpoint, credentials=lambda: (*KEYS, None), sleep=sleeps.append)
        with pytest.raises(AwsHttpError) as raised:
            client.get_object(Bucket="b-1", Key="k")

    assert raised.value.code == "ConnectionError"
    assert "5 of 10 bytes" in raised.value.message
    assert len(requests) == 3
    assert len(sleeps) == 2


def test_http_transport_refuses_what_is_not_http() -> None:
    with canned_server(*[b"SSH-2.0-OpenSSH_9.6\r\n"] * 3) as (endpoint, requests):
        client = S3Client(
            endpoint=endpoint, credentials=lambda: (*KEYS, None), sleep=lambda _: None
        )
        with pytest.raises(AwsHttpError, match=r"not an HTTP/1\.x status line"):
            client.get_object(Bucket="b-1", Key="k")
    assert len(requests) == 3


def test_https_uses_botocores_certificate_bundle_when_installed() -> None:
    bundle = ca_bundle()
    assert bundle is not None
    assert Path(bundle) == Path(botocore.__file__).with_name("cacert.pem")
    assert aws_http.CONNECT_TIMEOUT == 2.0
    assert aws_http.READ_TIMEOUT == 10.0


def test_aws_ca_bundle_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "corp.pem"))
    assert ca_bundle() == str(tmp_path / "corp.pem")


# --- imports -----------------------------------------------------------------------------------


def test_importing_the_client_loads_no_sdk() -> None:
    script = (
        "import json, sys\n"
        "import mlops.aws_http\n"
        "heavy = ('botocore', 'boto3', 'urllib3', 'pydantic')\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(completed.stdout) == []


# --- container credentials (Lambda with SnapStart, ECS) -----------------------------------------


def credentials_answer(key_id: str, expires: datetime) -> bytes:
    body = json.dumps(
        {
            "AccessKeyId": key_id,
            "SecretAccessKey": "container-secret",
            "Token": f"token-{key_id}",
            "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def test_container_credentials_sign_requests_and_are_fetched_again_before_they_expire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given no keys in the environment but a container credentials endpoint and its token
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    start = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    answers = (credentials_answer("AKIDONE", start + timedelta(minutes=10)),
               credentials_answer("AKIDTWO", start + timedelta(hours=1)))  # fmt: skip
    with canned_server(*answers) as (endpoint, requests):
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{endpoint}/credentials")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-token")
        now = [start]
        credentials = aws_http.ContainerCredentials(clock=lambda: now[0])
        transport = FakeTransport(*[(200, {}, b"{}")] * 3)
        client = DynamoDBClient(credentials=credentials, transport=transport)
        # When requests are signed now, 4 minutes later and 6 minutes later
        for minutes in (0, 4, 6):
            now[0] = start + timedelta(minutes=minutes)
            client.get_item(TableName="t", Key={})

    # Then the keys were fetched once, and again within 5 minutes of their expiry
    keys = [re.search(r"Credential=(\w+)/", r[2]["authorization"])[1] for r in transport.requests]  # type: ignore[index]
    assert keys == ["AKIDONE", "AKIDONE", "AKIDTWO"]
    assert transport.requests[2][2]["x-amz-security-token"] == "token-AKIDTWO"
    assert len(requests) == 2
    assert all(r.startswith(b"GET /credentials HTTP/1.1") for r in requests)
    assert all(b"authorization: container-token\r\n" in r for r in requests)


def test_the_environment_chooses_container_credentials_and_a_token_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    answer = credentials_answer("AKIDFILE", datetime.now(UTC) + timedelta(hours=1))
    with canned_server(answer) as (endpoint, requests):
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{endpoint}/creds")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token_file))
        transport = FakeTransport((200, {}, b"{}"))
        aws_http.use_transport(transport)
        aws_http.dynamodb().get_item(TableName="t", Key={})

    assert "Credential=AKIDFILE/" in transport.requests[0][2]["authorization"]
    assert b"authorization: file-token\r\n" in requests[0]


def test_a_failing_container_endpoint_is_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    refused = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\ndenied"
    with canned_server(refused) as (endpoint, _):
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{endpoint}/creds")
        transport = FakeTransport()
        aws_http.use_transport(transport)
        with pytest.raises(AwsHttpError) as raised:
            aws_http.dynamodb().get_item(TableName="t", Key={})

    assert raised.value.code == "NoCredentials"
    assert "HTTP 403" in raised.value.message
    assert transport.requests == []
