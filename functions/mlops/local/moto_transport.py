"""The light AWS client (mlops.aws_http) served by moto in-process, as botocore's clients are
while a `mock_aws()` is active."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from botocore.awsrequest import AWSPreparedRequest, HTTPHeaders
from moto.core.models import botocore_stubber

from mlops import aws_http


def moto_transport(
    method: str, url: str, headers: Mapping[str, str], body: bytes
) -> tuple[int, Mapping[str, str], bytes]:
    """An aws_http transport dispatching to moto's backends; ConnectionError when no
    `mock_aws()` is active or moto serves no such URL."""
    if not botocore_stubber.enabled:
        raise ConnectionError(f"no mock_aws() is active to serve {method} {url}")
    request_headers = HTTPHeaders()
    for name, value in headers.items():
        request_headers[name] = value
    request = AWSPreparedRequest(method, url, request_headers, body, stream_output=False)
    response = botocore_stubber.process_request(request)
    if response is None:
        raise ConnectionError(f"moto serves no {method} {url}")
    status, response_headers, response_body = response
    data = response_body.encode() if isinstance(response_body, str) else bytes(response_body)
    return status, {str(name).lower(): str(value) for name, value in response_headers.items()}, data


@contextmanager
def moto_http() -> Iterator[None]:
    """Route aws_http's requests to moto (in-process) until exit, then back to HTTPS."""
    aws_http.use_transport(moto_transport)
    try:
        yield
    finally:
        aws_http.use_transport(None)
