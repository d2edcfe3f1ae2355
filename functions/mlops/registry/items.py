"""Entity <-> item codecs for the registry table (layout and keys: `mlops.registry.layout`)."""

from __future__ import annotations

import json

from pydantic import BaseModel

from mlops.registry.entities import (
    AliasState,
    ArtifactRef,
    AuditEvent,
    ModelRecord,
    ModelVersion,
    Run,
)
from mlops.registry.layout import (
    ARTIFACT_ATTRIBUTE,
    AUDIT_PREFIX,
    RUN_PREFIX,
    VERSION_MUTABLE,
    Item,
    alias_key,
    json_map,
    json_s,
    model_fields,
    model_key,
    n,
    optional_s,
    read_doc,
    read_s,
    run_key,
    s,
    sortable_time,
    version_fields,
    version_key,
)


def audit_key(event: AuditEvent) -> Item:
    sk = f"{AUDIT_PREFIX}{sortable_time(event.at)}#{event.event_id}"
    return {"pk": s(f"MODEL#{event.model}"), "sk": s(sk)}


def run_index_key(run: Run) -> Item:
    sk = f"{RUN_PREFIX}{sortable_time(run.started_at)}#{run.run_id}"
    return {"pk": s(f"MODEL#{run.model}"), "sk": s(sk)}


def doc(entity: BaseModel, *, exclude: set[str] | None = None) -> dict[str, str]:
    return json_s(entity.model_dump(mode="json", exclude=exclude))


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
    return ModelRecord.model_validate(model_fields(item))


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
    return ModelVersion.model_validate(version_fields(item))


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
