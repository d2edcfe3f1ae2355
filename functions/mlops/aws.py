"""AWS clients, created once per process and reused across warm invocations.

Clients come from a botocore session rather than boto3: boto3 imports s3transfer (~50-100 ms
of cold start) for S3 transfer methods nothing here uses. Region, credentials and
AWS_ENDPOINT_URL come from the environment as boto3 would take them, and moto intercepts
these clients as it does boto3's (it patches botocore).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import botocore.session
from botocore.loaders import Loader, instance_cache

from mlops import aws_http

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
    """Drop cached clients (these and `mlops.aws_http`'s), so the environment is read again
    (the local cloud does this when it starts a fresh mock or changes a function's AWS
    variables)."""
    global _session  # noqa: PLW0603 - one session per process, replaced on reset
    with _lock:
        _clients.clear()
        _session = None
    aws_http.reset_clients()


class _ServiceFolderLoader(Loader):  # type: ignore[misc]  # botocore is untyped
    """botocore's model loader, minus a scan on every model type it loads.

    To check that a service exists, botocore opens each of its ~400 service folders and every
    API version in them (~880 directory reads per client, ~45 ms of a cold start). Here a
    service exists when its folder does; a folder lacking the model still fails to load, with
    botocore's DataNotFoundError.
    """

    @instance_cache  # type: ignore[misc]
    def list_available_services(self, type_name: str) -> list[str]:  # noqa: ARG002 - API
        return sorted({name for path in self.search_paths for name in _folders(path)})


def _folders(path: str) -> list[str]:
    try:
        with os.scandir(path) as entries:
            return [entry.name for entry in entries if entry.is_dir()]
    except FileNotFoundError:  # botocore's search path includes ~/.aws/models, if it exists
        return []


def _current_session() -> botocore.session.Session:
    global _session, _loader  # noqa: PLW0603 - one session per process, replaced on reset
    if _session is None:
        _session = botocore.session.get_session()
        if _loader is None:  # built once: service models stay parsed across resets
            default = _session.get_component("data_loader")  # botocore's, AWS_DATA_PATH applied
            _loader = _ServiceFolderLoader(
                extra_search_paths=list(default.search_paths), include_default_search_paths=False
            )
        _session.register_component("data_loader", _loader)
    return _session
