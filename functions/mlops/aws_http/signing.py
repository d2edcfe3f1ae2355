"""SigV4 request signing, and the credentials it signs with.

Credentials come from the environment as the AWS SDK reads them: keys in the environment
(Lambda), else the container credentials endpoint (Lambda with SnapStart, ECS), else
botocore's credential chain, imported only then (profiles, SSO).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

from mlops.aws_http import transport
from mlops.aws_http.errors import AwsHttpError
from mlops.aws_http.transport import host_of

Credentials = Callable[[], tuple[str, str, str | None]]
"""() -> (access key, secret key, session token or None), called for every request."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def sign_v4(
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
    signed |= {"host": host_of(parts), "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
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


def environment_credentials() -> Credentials:
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

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
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
            status, _, body = transport.https("GET", url, headers, b"")
            if status != 200:
                raise ValueError(f"HTTP {status}: {body[:200]!r}")
            fields = json.loads(body)
            keys = (fields["AccessKeyId"], fields["SecretAccessKey"], fields.get("Token"))
            expires = datetime.fromisoformat(fields["Expiration"].replace("Z", "+00:00"))
        except (OSError, ValueError, KeyError, TypeError) as error:
            message = f"the container credentials endpoint gave no keys: {error!r}"
            raise AwsHttpError("NoCredentials", message) from error
        return keys, expires
