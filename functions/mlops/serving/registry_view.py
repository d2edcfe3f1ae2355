"""What serving reads from the registry, as plain values: no pydantic on the score path.

A model's state (spec, production and candidate targets) is one DynamoDB query: the model item
and its alias items sort next to each other (`#MODEL` < `ALIAS#...`). A version is one read.
Items are decoded with the registry's own layout functions (`mlops.registry.layout`). The
values are NamedTuples, like every record type on the score path: each frozen dataclass costs
~0.4 ms more to define at cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from mlops.registry import layout
from mlops.registry.enums import AliasName, VersionStatus

_STATE_RANGE_END = layout.ALIAS_PREFIX + "~"  # after every alias name, before AUDIT#


class ServedVersion(NamedTuple):
    """A registered version, as much of it as serving and `GET /v1/models/{name}` use."""

    model: str
    version: int
    status: VersionStatus
    task: str
    estimator: str
    classes: list[str] | None
    metrics: dict[str, float]
    feature_schema: list[dict[str, Any]]
    """As registered (JSON): the record validator's rules and the model description."""
    artifact_uri: str | None
    artifact_sha256: str | None

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> ServedVersion:
        """From a version's JSON fields (`layout.version_fields`, or an entity's JSON dump)."""
        artifact = fields.get("artifact")
        return cls(
            model=fields["model"],
            version=int(fields["version"]),
            status=VersionStatus(fields["status"]),
            task=fields["task"],
            estimator=fields["estimator"],
            classes=fields.get("classes"),
            metrics=dict(fields.get("metrics") or {}),
            feature_schema=list(fields.get("feature_schema") or []),
            artifact_uri=artifact["uri"] if artifact else None,
            artifact_sha256=artifact["sha256"] if artifact else None,
        )


class AliasTarget(NamedTuple):
    """Where an alias points, and (candidate) its traffic share or shadow mode."""

    version: int
    weight: float = 1.0
    shadow: bool = False

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> AliasTarget:
        return cls(int(fields["version"]), float(fields["weight"]), bool(fields["shadow"]))


class ModelState(NamedTuple):
    spec: dict[str, Any] | None
    production: AliasTarget | None
    candidate: AliasTarget | None


class ServingRegistry(Protocol):
    def model_state(self, name: str) -> ModelState | None:
        """The model's spec and alias targets; None when the model does not exist."""

    def version(self, name: str, version: int) -> ServedVersion | None:
        """The version; None when it does not exist."""


class DynamoDBServingRegistry:
    """Reads the registry table with any client offering DynamoDB's get_item and query."""

    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    def model_state(self, name: str) -> ModelState | None:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": layout.s(f"MODEL#{name}"),
                ":first": layout.s(layout.MODEL_SK),
                ":last": layout.s(_STATE_RANGE_END),
            },
            ConsistentRead=True,
        )
        found = {item["sk"]["S"]: item for item in response.get("Items", [])}
        model = found.get(layout.MODEL_SK)
        if model is None:
            return None

        def target(alias: AliasName) -> AliasTarget | None:
            item = found.get(layout.ALIAS_PREFIX + alias.value)
            return AliasTarget.from_fields(layout.read_doc(item)) if item else None

        return ModelState(
            layout.model_fields(model)["spec"],
            target(AliasName.PRODUCTION),
            target(AliasName.CANDIDATE),
        )

    def version(self, name: str, version: int) -> ServedVersion | None:
        response = self._client.get_item(
            TableName=self._table, Key=layout.version_key(name, version), ConsistentRead=True
        )
        item = response.get("Item")
        return ServedVersion.from_fields(layout.version_fields(item)) if item else None
