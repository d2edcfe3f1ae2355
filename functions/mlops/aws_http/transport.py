"""HTTP/1.1 on sockets, TLS verified against botocore's CA bundle: the default transport.

One kept-alive connection per (scheme, host, port) per thread; a connection the server closed
while idle is replaced at once. `http.client` would cost every cold start ~8 ms more to import,
for the e-mail parser it reads headers with.
"""

from __future__ import annotations

import functools
import os
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

Transport = Callable[[str, str, Mapping[str, str], bytes], tuple[int, Mapping[str, str], bytes]]
"""(method, url, headers, body) -> (status, headers with lower-case names, body)."""

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 10.0
_MAX_LINE = 65_536
_MAX_HEADERS = 100


class _ProtocolError(ConnectionError):
    """The server's answer is not HTTP/1.1 we can read (or it ended early)."""


class _StaleConnectionError(ConnectionError):
    """A kept-alive connection the server had closed: nothing was answered on it."""


def host_of(parts: SplitResult) -> str:
    """The Host header of a URL: IPv6 bracketed, default ports left out."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


class _Connection:
    """One HTTP/1.1 connection: requests with a Content-Length, answers with a Content-Length,
    chunked, or read to close."""

    def __init__(self, parts: SplitResult) -> None:
        self._scheme, self._host = parts.scheme, parts.hostname or ""
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._host_header = host_of(parts)
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
        head = [f"{method} {target} HTTP/1.1", f"Host: {self._host_header}"]
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


class HttpTransport:
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
            pool[key] = _Connection(parts)
        return pool[key]


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_bundle())


def ca_bundle() -> str | None:
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


https: Transport = HttpTransport()
