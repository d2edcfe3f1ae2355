"""The model registry: entities, typed errors, the store interface and its two stores.

Names load on first use (PEP 562): the score path imports `mlops.registry.enums` and
`mlops.registry.layout` without pydantic, and pure domain code importing the entities stays
free of AWS libraries (the DynamoDB store, and with it botocore, loads only when asked for).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_MODULES = {
    "AliasName": "mlops.registry.entities",
    "AliasNotSetError": "mlops.registry.errors",
    "AliasState": "mlops.registry.entities",
    "ArtifactRef": "mlops.registry.entities",
    "AuditAction": "mlops.registry.entities",
    "AuditEvent": "mlops.registry.entities",
    "ConcurrentUpdateError": "mlops.registry.errors",
    "DataFingerprint": "mlops.registry.entities",
    "DynamoDBRegistryStore": "mlops.registry.dynamodb",
    "FeatureSchema": "mlops.registry.entities",
    "FeatureType": "mlops.registry.entities",
    "InMemoryRegistryStore": "mlops.registry.memory",
    "ModelExistsError": "mlops.registry.errors",
    "ModelNotFoundError": "mlops.registry.errors",
    "ModelRecord": "mlops.registry.entities",
    "ModelVersion": "mlops.registry.entities",
    "NewVersion": "mlops.registry.entities",
    "NotPromotableError": "mlops.registry.errors",
    "NothingToRollBackError": "mlops.registry.errors",
    "PROMOTABLE_STATUSES": "mlops.registry.entities",
    "Page": "mlops.registry.entities",
    "RegistryError": "mlops.registry.errors",
    "RegistryStore": "mlops.registry.store",
    "Run": "mlops.registry.entities",
    "RunNotFoundError": "mlops.registry.errors",
    "RunStatus": "mlops.registry.entities",
    "RunStep": "mlops.registry.entities",
    "Trigger": "mlops.registry.entities",
    "TriggerKind": "mlops.registry.entities",
    "VersionInUseError": "mlops.registry.errors",
    "VersionNotFoundError": "mlops.registry.errors",
    "VersionStatus": "mlops.registry.entities",
}
"""Where each public name lives, imported when first asked for."""


def open_registry(settings: Settings) -> RegistryStore:
    """The DynamoDB registry named by the settings, through the process' shared client."""
    from mlops import aws
    from mlops.registry.dynamodb import DynamoDBRegistryStore

    return DynamoDBRegistryStore(settings.registry_table, aws.client("dynamodb"))


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(module), name)


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
