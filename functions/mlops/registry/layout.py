"""The registry table's item layout and attribute codecs (keys `pk`/`sk`, no index).

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
No pydantic here: the score path decodes items with these functions alone
(`mlops.registry.items` turns the same fields into entities).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mlops.registry.enums import AliasName

Item = dict[str, Any]

CATALOG_PK = "CATALOG"
MODEL_SK = "#MODEL"
RUN_SK = "RUN"
VERSION_PREFIX = "VERSION#"
AUDIT_PREFIX = "AUDIT#"
RUN_PREFIX = "RUN#"
ALIAS_PREFIX = "ALIAS#"


def sortable_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def model_key(name: str) -> Item:
    return {"pk": s(f"MODEL#{name}"), "sk": s(MODEL_SK)}


def catalog_key(name: str) -> Item:
    return {"pk": s(CATALOG_PK), "sk": s(f"MODEL#{name}")}


def version_key(name: str, version: int) -> Item:
    return {"pk": s(f"MODEL#{name}"), "sk": s(f"{VERSION_PREFIX}{version:010d}")}


def alias_key(name: str, alias: AliasName) -> Item:
    return {"pk": s(f"MODEL#{name}"), "sk": s(f"{ALIAS_PREFIX}{AliasName(alias).value}")}


def run_key(run_id: str) -> Item:
    return {"pk": s(f"RUN#{run_id}"), "sk": s(RUN_SK)}


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


def read_s(item: Item, name: str) -> str | None:
    value = item.get(name)
    return None if value is None or "NULL" in value else str(value["S"])


def read_json_map(item: Item, name: str) -> dict[str, Any]:
    return {key: json.loads(value["S"]) for key, value in item.get(name, {"M": {}})["M"].items()}


def read_doc(item: Item) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(item["doc"]["S"])
    return loaded


VERSION_MUTABLE = {"status", "status_reason", "updated_at", "metrics", "reports", "artifact"}
ARTIFACT_ATTRIBUTE = "artifact"
"""A version's artifact reference (JSON), absent until attached; written once."""


def model_fields(item: Item) -> dict[str, Any]:
    """A model item's fields, as JSON values (ModelRecord's shape)."""
    spec = read_s(item, "spec")
    return {
        **read_doc(item),
        "latest_version": int(item["latest_version"]["N"]),
        "updated_at": read_s(item, "updated_at"),
        "spec": json.loads(spec) if spec is not None else None,
    }


def version_fields(item: Item) -> dict[str, Any]:
    """A version item's fields, as JSON values (ModelVersion's shape)."""
    document = read_doc(item)
    if ARTIFACT_ATTRIBUTE in item:  # items written before the attribute keep it in the doc
        document["artifact"] = json.loads(item[ARTIFACT_ATTRIBUTE]["S"])
    return {
        **document,
        "status": read_s(item, "status"),
        "status_reason": read_s(item, "status_reason"),
        "updated_at": read_s(item, "updated_at"),
        "metrics": read_json_map(item, "metrics"),
        "reports": read_json_map(item, "reports"),
    }
