"""boto3 clients, created once per process and reused across warm invocations."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3


@cache
def client(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Drop cached clients (the local cloud does this when it starts a fresh mock)."""
    client.cache_clear()
