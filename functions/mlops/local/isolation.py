"""Request isolation that moto lacks but the platform relies on.

moto 5.2's DynamoDBBackend.transact_write_items is not atomic under threads: it deep-copies
the table, applies the writes one by one and, on a failed condition, restores the copy. A
concurrent request can then crash the copy ("dictionary changed size during iteration") or be
silently undone by the restore. Real DynamoDB isolates every request, so the local cloud
serializes moto's DynamoDB request handling (Step Functions runs handlers on its own threads
while the CLI or a test writes from the main thread).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.dynamodb.responses import DynamoHandler

_DYNAMODB_LOCK = threading.RLock()


@contextmanager
def serialized_dynamodb() -> Iterator[None]:
    """While active, every DynamoDB request to moto runs alone."""
    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with _DYNAMODB_LOCK:
            return original(self)

    with mock.patch.object(DynamoHandler, "call_action", call_action):
        yield
