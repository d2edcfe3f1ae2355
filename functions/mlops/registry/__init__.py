"""The model registry: entities, typed errors, the store interface and its two stores."""

from __future__ import annotations

from mlops import aws
from mlops.registry.dynamodb import DynamoDBRegistryStore
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
from mlops.settings import Settings


def open_registry(settings: Settings) -> RegistryStore:
    """The DynamoDB registry named by the settings, through the process' shared client."""
    return DynamoDBRegistryStore(settings.registry_table, aws.client("dynamodb"))


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
