"""boto3 clients, created once per process and reused across warm invocations."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Drop cached clients (the local cloud does this when it starts a fresh mock)."""
    client.cache_clear()
