"""AWS clients, created once per process and reused across warm invocations.

Clients come from a botocore session rather than boto3: boto3 imports s3transfer (~50-100 ms
of cold start) for S3 transfer methods nothing here uses. Region, credentials and
AWS_ENDPOINT_URL come from the environment as boto3 would take them, and moto intercepts
these clients as it does boto3's (it patches botocore).
"""

from __future__ import annotations

import threading
from typing import Any

import botocore.session

_lock = threading.Lock()
_clients: dict[str, Any] = {}
_session: botocore.session.Session | None = None
_loader: Any = None


def client(service: str) -> Any:
    """The process' client for `service` (created on first use)."""
    cached = _clients.get(service)
    if cached is not None:
        return cached
    with _lock:
        if service not in _clients:
            _clients[service] = _current_session().create_client(service)
        return _clients[service]


def reset_clients() -> None:
    """Drop cached clients and their session, so the environment is read again (the local cloud
    does this when it starts a fresh mock or changes a function's AWS variables)."""
    global _session  # noqa: PLW0603 - one session per process, replaced on reset
    with _lock:
        _clients.clear()
        _session = None


def _current_session() -> botocore.session.Session:
    global _session, _loader  # noqa: PLW0603 - one session per process, replaced on reset
    if _session is None:
        _session = botocore.session.get_session()
        if _loader is None:
            _loader = _session.get_component("data_loader")
        else:  # service models stay parsed across resets
            _session.register_component("data_loader", _loader)
    return _session
