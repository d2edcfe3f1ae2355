"""A small signed HTTPS client for the four AWS calls on the scoring path.

DynamoDB GetItem and Query (JSON protocol) and S3 GetObject and PutObject, with the keyword
arguments and result shapes of botocore's clients, built on the standard library alone:
importing botocore (~100 ms) and building its clients (~60 ms) would cost the score Lambda more
than loading and running its model. Region and endpoints come from the environment as the AWS
SDK reads them, and so do credentials (`signing`). Every request goes through a transport,
`(method, url, headers, body) -> (status, headers, body)`: HTTP/1.1 with kept-alive
connections by default (`transport`), or one installed with `use_transport` (the local cloud
dispatches to moto in-process).
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from mlops.aws_http.errors import AwsHttpError, NoSuchKeyError, metadata
from mlops.aws_http.signing import ContainerCredentials, Credentials, sign_v4, utc_now
from mlops.aws_http.signing import environment_credentials as _environment_credentials
from mlops.aws_http.transport import CONNECT_TIMEOUT, READ_TIMEOUT, Transport
from mlops.aws_http.transport import https as _https

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "CONNECT_TIMEOUT",
    "MAX_ATTEMPTS",
    "READ_TIMEOUT",
    "RETRYABLE_CODES",
    "AwsHttpError",
    "ContainerCredentials",
    "DynamoDBClient",
    "NoSuchKeyError",
    "S3Client",
    "Transport",
    "dynamodb",
    "reset_clients",
    "s3",
    "use_transport",
]

MAX_ATTEMPTS = 3
BACKOFF_BASE = 0.025
BACKOFF_CAP = 0.5
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
    }
)
_TRANSPORT_ERRORS = (OSError,)  # timeouts, TLS, refused and dropped connections, bad answers
_S3_CODE = re.compile(r"<Code>(.*?)</Code>", re.DOTALL)
_S3_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.DOTALL)
_XML_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&"}
_DNS_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_META = "x-amz-meta-"


class _Client(ABC):
    _service = ""

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        credentials: Credentials | None = None,
        transport: Transport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """Region, endpoint and credentials default to the environment's, read now."""
        self.region = region or _region()
        self.endpoint = (endpoint or _endpoint(self._service) or "").rstrip("/")
        self._dns_suffix = "amazonaws.com.cn" if self.region.startswith("cn-") else "amazonaws.com"
        self._credentials = credentials or _environment_credentials()
        self._own_transport = transport
        self._sleep = sleep
        self._rand = rand
        self._clock = clock

    def _transport(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        transport = self._own_transport or _installed_transport or _https
        return transport(method, url, headers, body)

    def _send(
        self, operation: str, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Sign and send, retrying throttling, 5xx and transport failures; AwsHttpError."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            signed = sign_v4(
                method, url, headers, body,
                service=self._service, region=self.region,
                credentials=self._credentials(), now=self._clock(),
            )  # fmt: skip
            try:
                status, response_headers, data = self._transport(method, url, signed, body)
            except _TRANSPORT_ERRORS as failure:
                if attempt == MAX_ATTEMPTS:
                    message = f"{method} {url}: {failure!r}"
                    raise AwsHttpError("ConnectionError", message, 0, operation) from failure
            else:
                if status < 300:
                    return status, response_headers, data
                error = self._error(operation, status, data)
                retryable = status >= 500 or status == 429 or error.code in RETRYABLE_CODES
                if not retryable or attempt == MAX_ATTEMPTS:
                    raise error
            self._sleep(self._rand() * min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))
        raise AssertionError("unreachable")  # pragma: no cover

    @abstractmethod
    def _error(self, operation: str, status: int, body: bytes) -> AwsHttpError:
        """The service's error response as an AwsHttpError."""


class DynamoDBClient(_Client):
    """GetItem and Query, taking and returning what botocore's DynamoDB client does."""

    _service = "dynamodb"

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self._call("GetItem", params)

    def query(self, **params: Any) -> dict[str, Any]:
        return self._call("Query", params)

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        url = (self.endpoint or f"https://dynamodb.{self.region}.{self._dns_suffix}") + "/"
        headers = {
            "content-type": "application/x-amz-json-1.0",
            "x-amz-target": f"DynamoDB_20120810.{operation}",
        }
        body = json.dumps(params, separators=(",", ":")).encode()
        status, _, data = self._send(operation, "POST", url, headers, body)
        result: dict[str, Any] = json.loads(data) if data else {}
        result["ResponseMetadata"] = metadata(status)
        return result

    def _error(self, operation: str, status: int, body: bytes) -> AwsHttpError:
        try:
            fields = json.loads(body)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            fields = {}
        code = str(fields.get("__type") or status).rpartition("#")[2]
        message = str(fields.get("message") or fields.get("Message") or "")
        return AwsHttpError(code, message, status, operation)


class S3Client(_Client):
    """GetObject and PutObject, taking and returning what botocore's S3 client does."""

    _service = "s3"

    class exceptions:  # noqa: N801 - duck-types botocore's `client.exceptions`
        ClientError = AwsHttpError
        NoSuchKey = NoSuchKeyError

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - botocore's
        status, headers, data = self._send("GetObject", "GET", self._url(Bucket, Key), {}, b"")
        return {
            "Body": io.BytesIO(data),
            "Metadata": {k[len(_META) :]: v for k, v in headers.items() if k.startswith(_META)},
            "ContentLength": int(headers.get("content-length", len(data))),
            "ContentType": headers.get("content-type"),
            "ETag": headers.get("etag"),
            "ResponseMetadata": metadata(status),
        }

    def put_object(
        self,
        *,
        Bucket: str,  # noqa: N803 - botocore's parameter names
        Key: str,  # noqa: N803
        Body: bytes,  # noqa: N803
        ContentType: str | None = None,  # noqa: N803
        Metadata: dict[str, str] | None = None,  # noqa: N803
    ) -> dict[str, Any]:
        headers = {f"{_META}{name}": value for name, value in (Metadata or {}).items()}
        if ContentType is not None:
            headers["content-type"] = ContentType
        url = self._url(Bucket, Key)
        status, response_headers, _ = self._send("PutObject", "PUT", url, headers, bytes(Body))
        return {"ETag": response_headers.get("etag"), "ResponseMetadata": metadata(status)}

    def _url(self, bucket: str, key: str) -> str:
        """The object's URL: virtual-hosted on AWS for DNS-compatible names, else path-style."""
        path = quote(key, safe="/")  # leaves only A-Za-z0-9-_.~ and '/' unencoded
        if self.endpoint:
            return f"{self.endpoint}/{bucket}/{path}"
        if _DNS_BUCKET.fullmatch(bucket):
            return f"https://{bucket}.s3.{self.region}.{self._dns_suffix}/{path}"
        return f"https://s3.{self.region}.{self._dns_suffix}/{bucket}/{path}"

    def _error(self, operation: str, status: int, body: bytes) -> AwsHttpError:
        text = body.decode("utf-8", "replace")
        found_code, found_message = _S3_CODE.search(text), _S3_MESSAGE.search(text)
        code = _xml_text(found_code) or {403: "AccessDenied"}.get(status, str(status))
        if status == 404 and operation == "GetObject" and not found_code:
            code = "NoSuchKey"
        kind = NoSuchKeyError if code == "NoSuchKey" else AwsHttpError
        return kind(code, _xml_text(found_message), status, operation)


def _xml_text(match: re.Match[str] | None) -> str:
    if match is None:
        return ""
    return re.sub(r"&(lt|gt|quot|apos|amp);", lambda m: _XML_ENTITIES[m[0]], match[1].strip())


def _region() -> str:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        message = "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION"
        raise AwsHttpError("NoRegion", message)
    return region


def _endpoint(service: str) -> str | None:
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    specific = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}")
    return specific or os.environ.get("AWS_ENDPOINT_URL") or None


_installed_transport: Transport | None = None
_lock = threading.Lock()
_clients: dict[type[_Client], _Client] = {}
_C = TypeVar("_C", bound=_Client)


def _client(kind: type[_C]) -> _C:
    client = _clients.get(kind)
    if client is None:
        with _lock:
            client = _clients.get(kind)
            if client is None:
                client = _clients[kind] = kind()
    assert isinstance(client, kind)
    return client


def dynamodb() -> DynamoDBClient:
    """The process' DynamoDB client (created on first use)."""
    return _client(DynamoDBClient)


def s3() -> S3Client:
    """The process' S3 client (created on first use)."""
    return _client(S3Client)


def use_transport(transport: Transport | None) -> None:
    """Send every client's requests through `transport`; None restores HTTPS."""
    global _installed_transport  # noqa: PLW0603 - one routing per process
    _installed_transport = transport


def reset_clients() -> None:
    """Forget the cached clients: the next ones read the environment again."""
    with _lock:
        _clients.clear()
