"""Registry events: audit-item INSERTs from the table's stream -> EventBridge entries."""

from __future__ import annotations

import json
from typing import Any

from mlops.registry import AliasName, AuditAction, items
from mlops.registry.entities import utc_now
from mlops.registry.events import DETAIL_TYPES, SOURCE, publish
from mlops.registry.transitions import new_event


def audit_record(sequence: int, action: AuditAction = AuditAction.ALIAS_MOVED) -> dict[str, Any]:
    event = new_event(
        "churn", action, "cli:alice", utc_now(), alias=AliasName.PRODUCTION, to_version=sequence
    )
    image = items.audit_item(event)
    return {
        "eventID": f"e{sequence}",
        "eventName": "INSERT",
        "dynamodb": {
            "Keys": {"pk": image["pk"], "sk": image["sk"]},
            "NewImage": image,
            "SequenceNumber": str(sequence),
        },
    }


def other_record(sequence: int) -> dict[str, Any]:
    keys = {"pk": {"S": "MODEL#churn"}, "sk": {"S": "ALIAS#production"}}
    return {
        "eventName": "MODIFY",
        "dynamodb": {"Keys": keys, "NewImage": keys, "SequenceNumber": str(sequence)},
    }


class FakeBus:
    def __init__(self, fail_at: int | None = None) -> None:
        self.entries: list[dict[str, Any]] = []
        self.calls = 0
        self.fail_at = fail_at

    def __call__(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        results = []
        for entry in entries:
            if self.fail_at is not None and len(self.entries) == self.fail_at:
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
                continue
            self.entries.append(entry)
            results.append({"EventId": f"id-{len(self.entries)}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def test_each_audit_record_becomes_one_event_with_the_record_as_detail() -> None:
    # Given a stream batch with audit inserts among other changes
    records = [audit_record(1), other_record(2), audit_record(3, AuditAction.CANDIDATE_REJECTED)]
    bus = FakeBus()

    result = publish(records, bus)

    # Then the two audit records are published, in order, and nothing is retried
    assert (result.published, result.skipped, result.response()) == (
        2,
        1,
        {"batchItemFailures": []},
    )
    assert [entry["DetailType"] for entry in bus.entries] == [
        "Model Alias Moved",
        "Model Candidate Rejected",
    ]
    assert {entry["Source"] for entry in bus.entries} == {SOURCE}
    detail = json.loads(bus.entries[0]["Detail"])
    assert {key: detail[key] for key in ("model", "action", "alias", "to_version", "actor")} == {
        "model": "churn",
        "action": "alias-moved",
        "alias": "production",
        "to_version": 1,
        "actor": "cli:alice",
    }
    assert set(detail) >= {"event_id", "at", "reason", "from_version", "detail"}


def test_every_audit_action_has_a_detail_type() -> None:
    assert set(DETAIL_TYPES) == set(AuditAction)


def test_events_go_out_ten_per_call() -> None:
    bus = FakeBus()
    result = publish([audit_record(number) for number in range(1, 24)], bus)
    assert (result.published, bus.calls) == (23, 3)


def test_a_failed_entry_is_retried_from_there_on() -> None:
    # Given EventBridge refusing the third entry
    bus = FakeBus(fail_at=2)

    result = publish([audit_record(number) for number in range(1, 6)], bus)

    # Then Lambda is told to retry from that record (ReportBatchItemFailures)
    assert result.published == 2
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "3"}]}


def test_an_unreadable_audit_record_is_retried_not_dropped() -> None:
    broken = audit_record(2)
    broken["dynamodb"]["NewImage"]["doc"] = {"S": "not json"}
    bus = FakeBus()

    result = publish([audit_record(1), broken, audit_record(3)], bus)

    assert result.published == 1
    assert result.response() == {"batchItemFailures": [{"itemIdentifier": "2"}]}
