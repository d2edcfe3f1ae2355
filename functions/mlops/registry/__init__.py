"""The model registry: entities, typed errors, the store interface and its two stores.

The DynamoDB store (and with it botocore) loads on first use, so that pure domain code importing
the entities stays free of AWS libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops.registry.entities import (
    PROMOTABLE_STATUSES,
    AliasName,
    AliasState,
    ArtifactRef,
    AuditAction,
    AuditEvent,
    DataFingerprint,
    FeatureSchema,
    FeatureType,
    ModelRecord,
    ModelVersion,
    NewVersion,
    Page,
    Run,
    RunStatus,
    RunStep,
    Trigger,
    TriggerKind,
    VersionStatus,
)
from mlops.registry.errors import (
    AliasNotSetError,
    ConcurrentUpdateError,
    ModelExistsError,
    ModelNotFoundError,
    NothingToRollBackError,
    NotPromotableError,
    RegistryError,
    RunNotFoundError,
    VersionInUseError,
    VersionNotFoundError,
)
from mlops.registry.memory import InMemoryRegistryStore
from mlops.registry.store import RegistryStore

if TYPE_CHECKING:
    from mlops.registry.dynamodb import DynamoDBRegistryStore
    from mlops.settings import Settings


def open_registry(settings: Settings) -> RegistryStore:
    """The DynamoDB registry named by the settings, through the process' shared client."""
    from mlops import aws
    from mlops.registry.dynamodb import DynamoDBRegistryStore

    return DynamoDBRegistryStore(settings.registry_table, aws.client("dynamodb"))


def __getattr__(name: str) -> Any:
    if name == "DynamoDBRegistryStore":
        from mlops.registry.dynamodb import DynamoDBRegistryStore

        return DynamoDBRegistryStore
    raise AttributeError(name)


__all__ = [
    "PROMOTABLE_STATUSES",
    "AliasName",
    "AliasNotSetError",
    "AliasState",
    "ArtifactRef",
    "AuditAction",
    "AuditEvent",
    "ConcurrentUpdateError",
    "DataFingerprint",
    "DynamoDBRegistryStore",
    "FeatureSchema",
    "FeatureType",
    "InMemoryRegistryStore",
    "ModelExistsError",
    "ModelNotFoundError",
    "ModelRecord",
    "ModelVersion",
    "NewVersion",
    "NotPromotableError",
    "NothingToRollBackError",
    "Page",
    "RegistryError",
    "RegistryStore",
    "Run",
    "RunNotFoundError",
    "RunStatus",
    "RunStep",
    "Trigger",
    "TriggerKind",
    "VersionInUseError",
    "VersionNotFoundError",
    "VersionStatus",
    "open_registry",
]
