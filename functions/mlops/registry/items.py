"""The registry table's item layout (keys `pk`/`sk`, no index) and entity <-> item codecs.

    MODEL#<name>  #MODEL                   model: doc + latest_version (counter), spec, updated_at
    CATALOG       MODEL#<name>             one per model, so listing models is one query
    MODEL#<name>  VERSION#<0000000042>     version: doc + status, status_reason, updated_at,
                                           metrics and reports (maps of JSON strings), and
                                           artifact (JSON, once attached)
    MODEL#<name>  ALIAS#<alias>            alias: doc (AliasState) + version, moved_at
    MODEL#<name>  AUDIT#<time>#<id>        audit event (append-only)
    RUN#<run_id>  RUN                      run: doc + status, reason, version, finished_at, steps
    MODEL#<name>  RUN#<time>#<run_id>      a model's run index (newest first by sort key)

Entities travel as JSON strings (pydantic's JSON mode, floats exact, NaN kept), so DynamoDB's
Decimal numbers never touch them. Fields that change after creation are attributes of their
own, so a change is one conditional update and never a read-modify-write of the document.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from mlops.registry.entities import (
    AliasName,
    AliasState,
    ArtifactRef,
    AuditEvent,
    ModelRecord,
    ModelVersion,
    Run,
)

Item = dict[str, Any]

CATALOG_PK = "CATALOG"
MODEL_SK = "#MODEL"
RUN_SK = "RUN"
VERSION_PREFIX = "VERSION#"
AUDIT_PREFIX = "AUDIT#"
RUN_PREFIX = "RUN#"


def sortable_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def model_key(name: str) -> Item:
    return {"pk": s(f"MODEL#{name}"), "sk": s(MODEL_SK)}


def catalog_key(name: str) -> Item:
    return {"pk": s(CATALOG_PK), "sk": s(f"MODEL#{name}")}


def version_key(name: str, version: int) -> Item:
    return {"pk": s(f"MODEL#{name}"), "sk": s(f"{VERSION_PREFIX}{version:010d}")}


def alias_key(name: str, alias: AliasName) -> Item:
    return {"pk": s(f"MODEL#{name}"), "sk": s(f"ALIAS#{AliasName(alias).value}")}


def audit_key(event: AuditEvent) -> Item:
    sk = f"{AUDIT_PREFIX}{sortable_time(event.at)}#{event.event_id}"
    return {"pk": s(f"MODEL#{event.model}"), "sk": s(sk)}


def run_key(run_id: str) -> Item:
    return {"pk": s(f"RUN#{run_id}"), "sk": s(RUN_SK)}


def run_index_key(run: Run) -> Item:
    sk = f"{RUN_PREFIX}{sortable_time(run.started_at)}#{run.run_id}"
    return {"pk": s(f"MODEL#{run.model}"), "sk": s(sk)}


# ---- attribute values -------------------------------------------------------------------
def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def optional_s(value: str | None) -> dict[str, Any]:
    return {"NULL": True} if value is None else s(value)


def json_s(value: Any) -> dict[str, str]:
    return s(json.dumps(value, sort_keys=True))


def json_map(values: dict[str, Any]) -> dict[str, Any]:
    return {"M": {key: json_s(value) for key, value in values.items()}}


def doc(entity: BaseModel, *, exclude: set[str] | None = None) -> dict[str, str]:
    return json_s(entity.model_dump(mode="json", exclude=exclude))


def read_s(item: Item, name: str) -> str | None:
    value = item.get(name)
    return None if value is None or "NULL" in value else str(value["S"])


def read_json_map(item: Item, name: str) -> dict[str, Any]:
    return {key: json.loads(value["S"]) for key, value in item.get(name, {"M": {}})["M"].items()}


def read_doc(item: Item) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(item["doc"]["S"])
    return loaded


# ---- entities ---------------------------------------------------------------------------
def model_item(record: ModelRecord) -> Item:
    item = {
        **model_key(record.name),
        "doc": doc(record, exclude={"spec", "latest_version", "updated_at"}),
        "latest_version": n(record.latest_version),
        "updated_at": s(record.updated_at.isoformat()),
    }
    if record.spec is not None:
        item["spec"] = json_s(record.spec)
    return item


def model_from_item(item: Item) -> ModelRecord:
    spec = read_s(item, "spec")
    return ModelRecord.model_validate(
        {
            **read_doc(item),
            "latest_version": int(item["latest_version"]["N"]),
            "updated_at": read_s(item, "updated_at"),
            "spec": json.loads(spec) if spec is not None else None,
        }
    )


VERSION_MUTABLE = {"status", "status_reason", "updated_at", "metrics", "reports", "artifact"}
ARTIFACT_ATTRIBUTE = "artifact"
"""A version's artifact reference (JSON), absent until attached; written once."""


def version_item(version: ModelVersion) -> Item:
    item = {
        **version_key(version.model, version.version),
        "doc": doc(version, exclude=VERSION_MUTABLE),
        "status": s(version.status.value),
        "status_reason": optional_s(version.status_reason),
        "updated_at": s(version.updated_at.isoformat()),
        "metrics": json_map(version.metrics),
        "reports": json_map(version.reports),
    }
    if version.artifact is not None:
        item[ARTIFACT_ATTRIBUTE] = artifact_s(version.artifact)
    return item


def artifact_s(artifact: ArtifactRef) -> dict[str, str]:
    return doc(artifact)


def version_from_item(item: Item) -> ModelVersion:
    document = read_doc(item)
    if ARTIFACT_ATTRIBUTE in item:  # items written before the attribute keep it in the doc
        document["artifact"] = json.loads(item[ARTIFACT_ATTRIBUTE]["S"])
    return ModelVersion.model_validate(
        {
            **document,
            "status": read_s(item, "status"),
            "status_reason": read_s(item, "status_reason"),
            "updated_at": read_s(item, "updated_at"),
            "metrics": read_json_map(item, "metrics"),
            "reports": read_json_map(item, "reports"),
        }
    )


def alias_item(state: AliasState) -> Item:
    return {**alias_key(state.model, state.alias), "doc": doc(state), **alias_condition(state)}


def alias_condition(state: AliasState) -> Item:
    """The attributes an alias move is conditioned on: its version and when it last moved."""
    return {"version": n(state.version), "moved_at": s(sortable_time(state.updated_at))}


def alias_from_item(item: Item) -> AliasState:
    return AliasState.model_validate(read_doc(item))


def audit_item(event: AuditEvent) -> Item:
    return {**audit_key(event), "doc": doc(event)}


def audit_from_item(item: Item) -> AuditEvent:
    return AuditEvent.model_validate(read_doc(item))


RUN_MUTABLE = {"status", "reason", "version", "finished_at", "steps"}


def run_item(run: Run) -> Item:
    return {
        **run_key(run.run_id),
        "doc": doc(run, exclude=RUN_MUTABLE),
        "status": s(run.status.value),
        "reason": optional_s(run.reason),
        "version": {"NULL": True} if run.version is None else n(run.version),
        "finished_at": optional_s(run.finished_at.isoformat() if run.finished_at else None),
        "steps": {"L": [doc(step) for step in run.steps]},
    }


def run_from_item(item: Item) -> Run:
    version = item.get("version", {"NULL": True})
    return Run.model_validate(
        {
            **read_doc(item),
            "status": read_s(item, "status"),
            "reason": read_s(item, "reason"),
            "version": None if "NULL" in version else int(version["N"]),
            "finished_at": read_s(item, "finished_at"),
            "steps": [json.loads(step["S"]) for step in item["steps"]["L"]],
        }
    )


def run_index_item(run: Run) -> Item:
    return {**run_index_key(run), "run_id": s(run.run_id)}
