"""A local HTTP server that turns requests into API Gateway REST proxy events for the handler.

The same handler as in AWS answers: `curl localhost:8080/v1/health` works against the local
cloud or against AWS-configured settings. Like one Lambda container, it handles one event at
a time (Powertools' resolver keeps the current event on the class).
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mlops.serving.telemetry import logger

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024
"""API Gateway refuses larger payloads before they reach the function."""


@dataclass
class LocalLambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str = "mlops-score-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:mlops-score-local"
    log_group_name: str = "/aws/lambda/mlops-score-local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def proxy_event(
    method: str,
    target: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    *,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event for `method target` (path with optional query)."""
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) or None
    text: str | None
    encoded = False
    if body is None or isinstance(body, str):
        text = body
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
    header_map = dict(headers or {})
    context_id = request_id or str(uuid.uuid4())
    return {
        "resource": "/{proxy+}",
        "path": parts.path,
        "httpMethod": method.upper(),
        "headers": header_map,
        "multiValueHeaders": {name: [value] for name, value in header_map.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": parts.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "requestId": context_id,
            "stage": "local",
            "httpMethod": method.upper(),
            "path": parts.path,
            "resourcePath": "/{proxy+}",
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def response_headers(result: Mapping[str, Any]) -> dict[str, str]:
    """Single- and multi-value headers of a proxy response, one value per name."""
    headers = {name: str(value) for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if values:
            headers[name] = ", ".join(str(value) for value in values)
    return headers


def response_body(result: Mapping[str, Any]) -> bytes:
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        return base64.b64decode(body)
    return str(body).encode()


class _ProxyHandler(BaseHTTPRequestHandler):
    server: LocalApiServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._reply(HTTPStatus.BAD_REQUEST, {}, b'{"message":"bad Content-Length"}')
            return
        if length > API_GATEWAY_MAX_BODY or length < 0:
            self.close_connection = True
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {}, b'{"message":"body too large"}')
            return
        body = self.rfile.read(length) if length else None
        headers = dict(self.headers.items())
        result = self.server.invoke(proxy_event(self.command, self.path, headers, body))
        self._reply(
            int(result.get("statusCode", 500)), response_headers(result), response_body(result)
        )

    def _reply(self, status: int, headers: Mapping[str, Any], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in {"content-length", "connection"}:
                self.send_header(name, str(value))
        if "content-type" not in {name.lower() for name in headers}:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("local api " + format % args)


class LocalApiServer(ThreadingHTTPServer):
    """Threaded HTTP front; handler calls are serialized like one Lambda container's."""

    daemon_threads = True

    def __init__(self, host: str, port: int, handler: LambdaHandler) -> None:
        super().__init__((host, port), _ProxyHandler)
        self._handler = handler
        self._invoke_lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._invoke_lock:
            try:
                return self._handler(event, LocalLambdaContext())
            except Exception:  # noqa: BLE001 - like API Gateway: a crashed function is a 502
                logger.exception("the handler raised")
                return {"statusCode": 502, "body": '{"message":"Internal server error"}'}


def make_server(
    host: str = "127.0.0.1", port: int = 8080, handler: LambdaHandler | None = None
) -> LocalApiServer:
    """A server for the score handler (or any proxy-event handler); port 0 picks a free one."""
    if handler is None:
        from mlops.handlers.score import handler as score_handler

        handler = score_handler
    return LocalApiServer(host, port, handler)
