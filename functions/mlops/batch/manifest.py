"""The run's manifest: inputs, rows, the pinned version, timings and failed children, built from
the input listing and the children's part records (`<output_prefix>_manifest.json`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from mlops.batch import keys

NO_RESULT = "no result: the child timed out or crashed"


class Listed(NamedTuple):
    key: str
    size: int
    last_modified: datetime


ListObjects = Callable[[str, str], Iterable[Listed]]
ReadJson = Callable[[str, str], dict[str, Any] | None]
WriteJson = Callable[[str, str, dict[str, Any]], None]


def build_manifest(
    event: dict[str, Any],
    *,
    list_objects: ListObjects,
    read_json: ReadJson,
    write_json: WriteJson,
) -> dict[str, Any]:
    """Write the manifest; return the Manifest state's small result."""
    run = event["run"]
    started_at = _time(event.get("started_at"))
    finished_at = datetime.now(UTC)
    out_bucket, out_prefix = run["output_bucket"], run["output_prefix"]
    listed = [
        item
        for item in list_objects(run["input_bucket"], run["input_prefix"])
        if started_at is None or item.last_modified <= started_at
    ]
    totals = dict.fromkeys(("rows_in", "rows_scored", "rows_rejected"), 0)
    children = {"succeeded": 0, "failed": 0}
    failed: list[dict[str, Any]] = []
    child_seconds = 0.0
    stages: dict[str, float] = {}
    for item in listed:
        part = read_json(out_bucket, keys.part_key(out_prefix, item.key))
        child_seconds += float((part or {}).get("seconds") or 0.0)
        for stage, seconds in ((part or {}).get("stages") or {}).items():
            stages[stage] = stages.get(stage, 0.0) + float(seconds)
        if part is None or part.get("status") != "succeeded":
            children["failed"] += 1
            failed.append({"key": item.key, "error": (part or {}).get("error") or NO_RESULT})
            continue
        children["succeeded"] += 1
        for name in totals:
            totals[name] += int(part.get(name) or 0)
    error = run.get("error")
    pinned = run.get("pinned")
    document = {
        "run_id": run["run_id"],
        "model": run["model"],
        "status": "failed" if error else "succeeded",
        "reason": _reason(error) if error else None,
        "pinned": {name: pinned[name] for name in ("version", "sha256", "artifact_uri")}
        if pinned
        else None,
        "input": {
            "bucket": run["input_bucket"],
            "prefix": run["input_prefix"],
            "objects": len(listed),
            "bytes": sum(item.size for item in listed),
        },
        "output": {"bucket": out_bucket, "prefix": out_prefix},
        **totals,
        "children": children,
        "failed_children": failed,
        "timings": {
            "started_at": started_at.isoformat() if started_at else None,
            "finished_at": finished_at.isoformat(),
            "seconds": (finished_at - started_at).total_seconds() if started_at else None,
            "child_seconds_total": round(child_seconds, 6),
            "child_stages_total": {stage: round(s, 6) for stage, s in stages.items()},
        },
        "trigger": run.get("trigger"),
    }
    key = keys.manifest_key(out_prefix)
    write_json(out_bucket, key, document)
    return {
        "manifest_uri": f"s3://{out_bucket}/{key}",
        "status": document["status"],
        **totals,
        "failed_children": len(failed),
    }


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _reason(error: Any) -> str:
    """The failure's message: the Lambda error's message from the Catch's Cause when it has one."""
    if not isinstance(error, dict):
        return str(error)
    cause = error.get("Cause")
    name = error.get("Error") or "error"
    if isinstance(cause, str):
        try:
            decoded = json.loads(cause)
        except ValueError:
            return f"{name}: {cause}"
        if isinstance(decoded, dict) and decoded.get("errorMessage"):
            return f"{name}: {decoded['errorMessage']}"
        return f"{name}: {cause}"
    return str(name)
