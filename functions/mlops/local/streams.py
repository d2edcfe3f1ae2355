"""DynamoDB stream -> Lambda event source mappings, delivered the way AWS delivers them.

moto 5.2 invokes a table's stream mappings from inside the write request: while the local
cloud holds its DynamoDB request lock (so a handler on another thread, waiting for that lock
while holding the Lambda lock, would deadlock with it), for every record whatever the mapping's
FilterCriteria, and also for the writes of a transaction that is then cancelled. Here a
request's records are kept aside and delivered after the request succeeded (a failed request
delivers nothing), in this thread, before the caller gets its answer: a test sees the
published events as soon as the write returns. Each enabled mapping gets the records its
filters let through, in batches of its BatchSize. Not emulated: retries, bisection and the
on-failure destination (a handler's error is recorded in the cloud's invocations).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.awslambda.utils import get_backend as lambda_backend
from moto.dynamodb.models.table import StreamRecord, StreamShard
from moto.dynamodb.responses import DynamoHandler

from mlops.local import patterns

DEFAULT_BATCH_SIZE = 100

_pending = threading.local()


@contextmanager
def deferred_stream_delivery() -> Iterator[None]:
    """While active, stream records reach their mappings after the request that wrote them."""
    call_action = DynamoHandler.call_action

    def deferred_call_action(handler: DynamoHandler) -> Any:
        depth = getattr(_pending, "depth", 0)
        if depth == 0:
            _pending.records = []
        _pending.depth = depth + 1
        succeeded = False
        try:
            response = call_action(handler)
            succeeded = int(response[0]) < 400
        finally:
            _pending.depth = depth
            if depth == 0:
                records, _pending.records = _pending.records, None
        if depth == 0 and succeeded:
            deliver(records)
        return response

    def add(shard: StreamShard, old: Any, new: Any) -> None:
        sequence = getattr(shard, "_mlops_sequence", shard.starting_sequence_number) + 1
        shard._mlops_sequence = sequence  # type: ignore[attr-defined]
        event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        view = shard.table.stream_specification["StreamViewType"]  # type: ignore[index]
        record = StreamRecord(shard.table, view, event_name, old, new, sequence)
        mappings = list(shard.table.lambda_event_source_mappings.values())
        if not mappings:
            shard.items.append(record)  # kept for GetRecords, as moto does
            return
        queued = getattr(_pending, "records", None)
        if queued is None:  # a write outside any request (e.g. straight to the backend)
            deliver([(mappings, record)])
        else:
            queued.append((mappings, record))

    with (
        mock.patch.object(DynamoHandler, "call_action", deferred_call_action),
        mock.patch.object(StreamShard, "add", add),
    ):
        yield


def deliver(records: list[tuple[list[Any], StreamRecord]]) -> None:
    """Hand each mapping the records its filters let through, in order, batch by batch."""
    by_mapping: dict[str, tuple[Any, list[StreamRecord]]] = {}
    for mappings, record in records:
        for mapping in mappings:
            if mapping.enabled and passes(mapping.filter_criteria, record.record):
                by_mapping.setdefault(mapping.uuid, (mapping, []))[1].append(record)
    for mapping, matched in by_mapping.values():
        size = int(mapping.batch_size or DEFAULT_BATCH_SIZE)
        backend = lambda_backend(mapping.account_id, mapping.region)
        for start in range(0, len(matched), size):
            backend.send_dynamodb_items(
                mapping.function_arn, matched[start : start + size], mapping.event_source_arn
            )


def passes(filter_criteria: dict[str, Any] | None, record: dict[str, Any]) -> bool:
    """Lambda's event filtering: no filters, or any filter's pattern matches the record."""
    filters = (filter_criteria or {}).get("Filters") or []
    return not filters or any(
        patterns.matches(json.loads(item["Pattern"]), record) for item in filters
    )
