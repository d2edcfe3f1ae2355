"""Deterministic run ids. A run id is also the execution's name, so a redelivered event maps to
the same name and Step Functions refuses to start it twice.

Shape: `<model>-<kind>-<hash>` where kind is s3 | alarm | schedule | manual and the hash is the
first 20 hex digits of a sha256 over the event's identifying parts. At most 40 + 10 + 20 = 70
characters of [A-Za-z0-9-], within Step Functions' 80-character limit for execution names.
"""

from __future__ import annotations

import hashlib

from mlops.registry.entities import TriggerKind

_KIND_TAGS = {
    TriggerKind.S3_UPLOAD: "s3",
    TriggerKind.ALARM: "alarm",
    TriggerKind.SCHEDULE: "schedule",
    TriggerKind.MANUAL: "manual",
}
HASH_DIGITS = 20


def make_run_id(model: str, kind: TriggerKind, *parts: str) -> str:
    """The run id for `model` triggered by `kind`, identified by `parts` (order matters)."""
    digest = hashlib.sha256("\x1f".join((model, kind.value, *parts)).encode()).hexdigest()
    return f"{model}-{_KIND_TAGS[kind]}-{digest[:HASH_DIGITS]}"


def s3_run_id(model: str, bucket: str, key: str, object_identity: str) -> str:
    """Upload runs: bucket, key and the object's sequencer (or version id, or etag)."""
    return make_run_id(model, TriggerKind.S3_UPLOAD, bucket, key, object_identity)


def alarm_run_id(model: str, alarm_name: str, state_timestamp: str) -> str:
    return make_run_id(model, TriggerKind.ALARM, alarm_name, state_timestamp)


def schedule_run_id(model: str, time: str) -> str:
    return make_run_id(model, TriggerKind.SCHEDULE, time)


def manual_run_id(model: str, data_uri: str, nonce: str) -> str:
    return make_run_id(model, TriggerKind.MANUAL, data_uri, nonce)
