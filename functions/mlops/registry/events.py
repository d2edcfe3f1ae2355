"""Registry changes as EventBridge events (source `mlops.registry`), from the table's stream.

Every registry change writes exactly one audit item in the same transaction as the change, so
the stream's audit-item INSERTs are the changes, each once (no event for a change that did not
happen, none missing for one that did, whoever made it: pipeline, guard or CLI). One event per
audit record; `detail` is the record (model, action, alias, from/to version, actor, reason, at,
event_id, detail). Delivery is at least once: consumers deduplicate on `detail.event_id`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mlops.registry.enums import AuditAction
from mlops.registry.layout import AUDIT_PREFIX

SOURCE = "mlops.registry"
MAX_ENTRIES_PER_CALL = 10
"""PutEvents takes at most 10 entries per call."""

DETAIL_TYPES: dict[AuditAction, str] = {
    AuditAction.MODEL_CREATED: "Model Created",
    AuditAction.SPEC_UPDATED: "Model Spec Updated",
    AuditAction.VERSION_REGISTERED: "Model Version Registered",
    AuditAction.STATUS_CHANGED: "Model Version Status Changed",
    AuditAction.ALIAS_MOVED: "Model Alias Moved",
    AuditAction.ALIAS_CLEARED: "Model Alias Cleared",
    AuditAction.CANDIDATE_REJECTED: "Model Candidate Rejected",
    AuditAction.ROLLBACK: "Model Rolled Back",
}

PutEvents = Callable[[list[dict[str, Any]]], dict[str, Any]]
"""EventBridge PutEvents(Entries=...) -> its response (FailedEntryCount, Entries)."""


@dataclass
class PublishResult:
    published: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    """Sequence numbers to retry from (Lambda's ReportBatchItemFailures for streams)."""

    def response(self) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": number} for number in self.failures]}


def is_audit_insert(record: dict[str, Any]) -> bool:
    """A new audit item (what the event source mapping's filter also lets through)."""
    keys = record.get("dynamodb", {}).get("Keys", {})
    sort_key = keys.get("sk", {}).get("S", "")
    return record.get("eventName") == "INSERT" and sort_key.startswith(AUDIT_PREFIX)


def entry(record: dict[str, Any]) -> dict[str, Any]:
    """The PutEvents entry of one audit-item INSERT; ValueError if its image is unreadable."""
    image = record.get("dynamodb", {}).get("NewImage") or {}
    try:
        audit = json.loads(image["doc"]["S"])
        action = AuditAction(audit["action"])
    except (KeyError, TypeError, ValueError) as error:
        msg = f"audit record {record.get('eventID')!r}: unreadable NewImage.doc ({error})"
        raise ValueError(msg) from None
    return {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPES.get(action, "Model Registry Changed"),
        "Detail": json.dumps(audit, sort_keys=True),
        "Resources": [],
    }


def publish(records: Iterable[dict[str, Any]], put_events: PutEvents) -> PublishResult:
    """Publish the audit-item INSERTs among `records`, in order. At the first record that
    cannot be published, stop: it and every later one are reported for retry."""
    result = PublishResult()
    batch: list[tuple[str, dict[str, Any]]] = []
    for record in records:
        if not is_audit_insert(record):
            result.skipped += 1
            continue
        sequence = str(record.get("dynamodb", {}).get("SequenceNumber", ""))
        try:
            batch.append((sequence, entry(record)))
        except ValueError:
            _flush(batch, put_events, result)
            if not result.failures:
                result.failures.append(sequence)
            return result
        if len(batch) == MAX_ENTRIES_PER_CALL:
            _flush(batch, put_events, result)
            batch = []
            if result.failures:
                return result
    _flush(batch, put_events, result)
    return result


def _flush(
    batch: list[tuple[str, dict[str, Any]]], put_events: PutEvents, result: PublishResult
) -> None:
    if not batch or result.failures:
        return
    response = put_events([item for _, item in batch])
    outcomes = response.get("Entries", [])
    for index, (sequence, _) in enumerate(batch):
        outcome = outcomes[index] if index < len(outcomes) else {}
        if outcome.get("ErrorCode") or not outcome.get("EventId"):
            result.failures.append(sequence)
            return
        result.published += 1
