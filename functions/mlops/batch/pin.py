"""Pin: resolve the production version once per run; every child scores exactly it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlops.batch.errors import NoProductionVersionError
from mlops.registry.entities import AliasName
from mlops.registry.errors import ModelNotFoundError
from mlops.registry.store import RegistryStore


def pin_production(store: RegistryStore, model: str) -> dict[str, Any]:
    """{"version", "sha256", "artifact_uri", "pinned_at"}; NoProductionVersionError if none."""
    try:
        state = store.get_alias(model, AliasName.PRODUCTION)
        if state is None:
            store.get_model(model)
            msg = f"model {model!r} has no production version; promote one before batch scoring"
            raise NoProductionVersionError(msg)
        version = store.get_version(model, state.version)
    except ModelNotFoundError:
        raise NoProductionVersionError(f"model {model!r} does not exist") from None
    if version.artifact is None:
        msg = f"model {model!r} production version {version.version} has no artifact"
        raise NoProductionVersionError(msg)
    return {
        "version": version.version,
        "sha256": version.artifact.sha256,
        "artifact_uri": version.artifact.uri,
        "pinned_at": datetime.now(UTC).isoformat(),
    }
