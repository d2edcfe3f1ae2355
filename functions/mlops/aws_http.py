"""A small signed HTTPS client for the four AWS calls on the scoring path.

DynamoDB GetItem and Query (JSON protocol) and S3 GetObject and PutObject, with the keyword
arguments and result shapes of botocore's clients, built on the standard library alone:
importing botocore (~100 ms) and building its clients (~60 ms) would cost the score Lambda more
than loading and running its model. Region, endpoint and credentials come from the environment
as the AWS SDK reads them; botocore's credential chain is imported only when the environment
holds no keys. Every request goes through a transport, `(method, url, headers, body) ->
(status, headers, body)`: HTTPS with kept-alive connections by default, or one installed with
`use_transport` (the local cloud dispatches to moto in-process).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import io
import json
import os
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import SplitResult, quote, urlsplit

Transport = Callable[[str, str, Mapping[str, str], bytes], tuple[int, Mapping[str, str], bytes]]
"""(method, url, headers, body) -> (status, headers with lower-case names, body)."""

_Credentials = Callable[[], tuple[str, str, str | None]]
"""() -> (access key, secret key, session token or None), called for every request."""

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 10.0
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
_MAX_LINE = 65_536
_MAX_HEADERS = 100
_S3_CODE = re.compile(r"<Code>(.*?)</Code>", re.DOTALL)
_S3_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.DOTALL)
_XML_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&"}
_DNS_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_META = "x-amz-meta-"


class AwsHttpError(Exception):
    """An AWS error response (or a transport failure after retries)."""

    code: str  # e.g. "ResourceNotFoundException", "NoSuchKey", "ConnectionError"
    message: str
    status: int  # the HTTP status; 0 for a transport failure
    response: dict[str, Any]  # botocore's shape: {"Error": {...}, "ResponseMetadata": {...}}

    def __init__(self, code: str, message: str, status: int = 0, operation: str = "") -> None:
        where = f" when calling the {operation} operation" if operation else ""
        super().__init__(f"An error occurred ({code}){where}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.response = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": _metadata(status),
        }


class NoSuchKeyError(AwsHttpError):
    """S3 has no object under that key."""


def _metadata(status: int) -> dict[str, Any]:
    return {"HTTPStatusCode": status}


def _now() -> datetime:
    return datetime.now(UTC)


class _Client:
    _service = ""

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        credentials: _Credentials | None = None,
        transport: Transport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], datetime] = _now,
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
            signed = _sign_v4(
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

    def _error(self, operation: str, status: int, body: bytes) -> AwsHttpError:
        raise NotImplementedError


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
        result["ResponseMetadata"] = _metadata(status)
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
            "ResponseMetadata": _metadata(status),
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
        return {"ETag": response_headers.get("etag"), "ResponseMetadata": _metadata(status)}

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


def _sign_v4(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    service: str,
    region: str,
    credentials: tuple[str, str, str | None],
    now: datetime,
) -> dict[str, str]:
    """`headers` (names lower-cased) plus host, x-amz-date, x-amz-content-sha256, the session
    token and the SigV4 authorization. The URL's path is used as it is (already encoded)."""
    access_key, secret_key, token = credentials
    parts = urlsplit(url)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(body).hexdigest()
    signed = {name.lower(): value for name, value in headers.items()}
    signed |= {"host": _host(parts), "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
    if token:
        signed["x-amz-security-token"] = token
    names = sorted(signed)
    canonical_headers = "".join(f"{name}:{' '.join(signed[name].split())}\n" for name in names)
    signed_names = ";".join(names)
    canonical_request = "\n".join(
        [method, parts.path or "/", parts.query, canonical_headers, signed_names, payload_hash]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    request_hash = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{request_hash}"
    key = f"AWS4{secret_key}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    signature = hmac.new(key, string_to_sign.encode(), "sha256").hexdigest()
    signed["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={signed_names}, Signature={signature}"
    )
    return signed


def _host(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


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


def _environment_credentials() -> _Credentials:
    """The environment's keys (Lambda's way), else the container credentials endpoint (Lambda
    with SnapStart, ECS), else botocore's credential chain (profiles, SSO, ...)."""
    access_key = os.environ.get("AWS_ACCESS_KEY_ID")
    secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if access_key and secret_key:
        token = os.environ.get("AWS_SESSION_TOKEN") or os.environ.get("AWS_SECURITY_TOKEN")
        keys = (access_key, secret_key, token or None)
        return lambda: keys
    if os.environ.get(_CONTAINER_FULL_URI) or os.environ.get(_CONTAINER_RELATIVE_URI):
        return ContainerCredentials()
    import botocore.session

    found = botocore.session.get_session().get_credentials()

    def chained() -> tuple[str, str, str | None]:
        if found is None:
            raise AwsHttpError("NoCredentials", "no AWS credentials in the environment or chain")
        frozen = found.get_frozen_credentials()  # refreshable credentials refresh here
        if not (frozen.access_key and frozen.secret_key):
            raise AwsHttpError("NoCredentials", "botocore's credential chain gave no keys")
        return frozen.access_key, frozen.secret_key, frozen.token or None

    return chained


_CONTAINER_FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
_CONTAINER_RELATIVE_URI = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
_CONTAINER_HOST = "http://169.254.170.2"
_REFRESH_BEFORE = 300.0  # seconds before expiry when container credentials are fetched anew


class ContainerCredentials:
    """Keys from the container credentials endpoint, fetched again 5 minutes before they
    expire (as botocore's ContainerProvider: full or relative URI, token or token file)."""

    def __init__(self, clock: Callable[[], datetime] = _now) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: tuple[str, str, str | None] | None = None
        self._expires = datetime.min.replace(tzinfo=UTC)

    def __call__(self) -> tuple[str, str, str | None]:
        with self._lock:
            remaining = (self._expires - self._clock()).total_seconds()
            if self._keys is None or remaining < _REFRESH_BEFORE:
                self._keys, self._expires = self._fetch()
            return self._keys

    def _fetch(self) -> tuple[tuple[str, str, str | None], datetime]:
        environ = os.environ
        url = environ.get(_CONTAINER_FULL_URI) or (
            _CONTAINER_HOST + environ.get(_CONTAINER_RELATIVE_URI, "")
        )
        headers = {"accept": "application/json"}
        token = environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        try:
            if environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"):
                from pathlib import Path

                token = Path(environ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]).read_text().strip()
            if token:
                headers["authorization"] = token
            status, _, body = _https("GET", url, headers, b"")
            if status != 200:
                raise ValueError(f"HTTP {status}: {body[:200]!r}")
            fields = json.loads(body)
            keys = (fields["AccessKeyId"], fields["SecretAccessKey"], fields.get("Token"))
            expires = datetime.fromisoformat(fields["Expiration"].replace("Z", "+00:00"))
        except (OSError, ValueError, KeyError, TypeError) as error:
            message = f"the container credentials endpoint gave no keys: {error!r}"
            raise AwsHttpError("NoCredentials", message) from error
        return keys, expires


class _ProtocolError(ConnectionError):
    """The server's answer is not HTTP/1.1 we can read (or it ended early)."""


class _StaleConnectionError(ConnectionError):
    """A kept-alive connection the server had closed: nothing was answered on it."""


class _Connection:
    """One HTTP/1.1 connection: requests with a Content-Length, answers with a Content-Length,
    chunked, or read to close. (http.client would cost every cold start ~8 ms more to import,
    for the e-mail parser it reads headers with.)"""

    def __init__(self, scheme: str, host: str, port: int | None) -> None:
        self._scheme, self._host = scheme, host
        self._port = port or (443 if scheme == "https" else 80)
        self._sock: socket.socket | None = None
        self._reader: Any = None

    def close(self) -> None:
        if self._sock is not None:
            self._reader.close()
            self._sock.close()
        self._sock = self._reader = None

    def exchange(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        reused = self._sock is not None
        sock = self._sock if self._sock is not None else self._connect()
        head = [f"{method} {target} HTTP/1.1", f"Host: {self._host_header()}"]
        head += [f"{name}: {value}" for name, value in headers.items() if name != "host"]
        head.append(f"Content-Length: {len(body)}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        try:
            sock.sendall(request)
            status, response_headers = self._read_head()
        except (ConnectionResetError, BrokenPipeError, _StaleConnectionError) as error:
            self.close()
            if reused:
                raise _StaleConnectionError(str(error)) from error
            raise ConnectionError(f"the server dropped the connection: {error}") from error
        data = self._read_body(method, status, response_headers)
        if response_headers.get("connection", "").lower() == "close":
            self.close()
        return status, response_headers, data

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self._host, self._port), timeout=CONNECT_TIMEOUT)
        if self._scheme == "https":  # the TLS handshake within CONNECT_TIMEOUT too
            sock = _ssl_context().wrap_socket(sock, server_hostname=self._host)
        sock.settimeout(READ_TIMEOUT)
        self._sock, self._reader = sock, sock.makefile("rb")
        return sock

    def _host_header(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        default = 443 if self._scheme == "https" else 80
        return host if self._port == default else f"{host}:{self._port}"

    def _line(self) -> bytes:
        line: bytes = self._reader.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise _ProtocolError("response line too long")
        return line

    def _read_head(self) -> tuple[int, dict[str, str]]:
        while True:
            line = self._line()
            if not line:
                raise _StaleConnectionError("the server closed the connection without answering")
            version, _, rest = line.decode("latin-1").partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/1.") or not code.isdigit():
                raise _ProtocolError(f"not an HTTP/1.x status line: {line[:80]!r}")
            headers: dict[str, str] = {}
            for _ in range(_MAX_HEADERS):
                field = self._line()
                if field in (b"\r\n", b"\n", b""):
                    break
                name, _, value = field.decode("latin-1").partition(":")
                key = name.strip().lower()
                headers[key] = (
                    f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
                )
            else:
                raise _ProtocolError("too many response headers")
            if int(code) >= 200:  # 1xx answers are interim: the real one follows
                if version == "HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive":
                    headers["connection"] = "close"
                return int(code), headers

    def _read_body(self, method: str, status: int, headers: dict[str, str]) -> bytes:
        if method == "HEAD" or status in (204, 304):
            return b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        if "content-length" in headers:
            return self._read_exactly(int(headers["content-length"]))
        headers["connection"] = "close"  # the body ends where the connection does
        data: bytes = self._reader.read()
        return data

    def _read_exactly(self, size: int) -> bytes:
        data: bytes = self._reader.read(size)
        if len(data) != size:
            raise _ProtocolError(f"the answer ended after {len(data)} of {size} bytes")
        return data

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size_field = self._line().split(b";", 1)[0].strip()
            try:
                size = int(size_field, 16)
            except ValueError as error:
                raise _ProtocolError(f"bad chunk size {size_field[:20]!r}") from error
            if size == 0:
                while self._line() not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return b"".join(chunks)
            chunks.append(self._read_exactly(size))
            self._read_exactly(2)  # the CRLF after each chunk


class _HttpTransport:
    """Kept-alive HTTP/1.1 connections, one per (scheme, host, port) per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = self._connection(parts)
        try:
            return connection.exchange(method, target, headers, body)
        except _StaleConnectionError:  # the server closed the kept-alive connection: a new one
            return connection.exchange(method, target, headers, body)
        except BaseException:
            connection.close()
            raise

    def _connection(self, parts: SplitResult) -> _Connection:
        pool: dict[tuple[str, str], _Connection] | None = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        key = (parts.scheme, parts.netloc)
        if key not in pool:
            pool[key] = _Connection(parts.scheme, parts.hostname or "", parts.port)
        return pool[key]


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=_ca_bundle())


def _ca_bundle() -> str | None:
    """AWS_CA_BUNDLE, else botocore's bundled cacert.pem (found without importing botocore),
    else None: the system's certificates."""
    import importlib.util
    from pathlib import Path

    if os.environ.get("AWS_CA_BUNDLE"):
        return os.environ["AWS_CA_BUNDLE"]
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:
        return None
    bundle = Path(spec.origin).with_name("cacert.pem")
    return str(bundle) if bundle.is_file() else None


_https: Transport = _HttpTransport()
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
