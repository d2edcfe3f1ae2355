"""One scoring service per process (a warm Lambda container), built from the settings."""

from __future__ import annotations

import time
from typing import Any

from mlops import aws
from mlops.artifacts import ArtifactStore
from mlops.registry.dynamodb import DynamoDBRegistryStore
from mlops.registry.store import RegistryStore
from mlops.serving.model_cache import Clock, ModelCache
from mlops.serving.recording import Recorder
from mlops.serving.service import ScoringService, ServingLimits
from mlops.serving.telemetry import Telemetry, logger
from mlops.settings import Settings, get_settings

telemetry = Telemetry()
_service: ScoringService | None = None
_service_settings: Settings | None = None


def build_service(
    settings: Settings,
    *,
    store: RegistryStore | None = None,
    s3_client: Any = None,
    clock: Clock = time.monotonic,
) -> ScoringService:
    """A service wired to the registry table and buckets named by the settings."""
    if store is None:
        store = DynamoDBRegistryStore(settings.registry_table, aws.client("dynamodb"))
    s3 = s3_client if s3_client is not None else aws.client("s3")
    cache = ModelCache(
        store,
        ArtifactStore(s3, settings.artifact_bucket),
        refresh_seconds=settings.alias_refresh_seconds,
        clock=clock,
        on_load_failure=_report_load_failure,
    )
    limits = ServingLimits(
        settings.max_records_per_request, settings.capture_sample_rate, settings.max_body_bytes
    )
    return ScoringService(store, cache, Recorder(s3, settings.data_bucket), telemetry, limits)


def use_service(service: ScoringService | None) -> None:
    """Serve with this service (tests, `mlops serve`); None rebuilds it from the settings."""
    global _service, _service_settings  # noqa: PLW0603 - one service per warm container
    _service = service
    _service_settings = get_settings() if service is not None else None


def current_service() -> ScoringService:
    """The service in use; rebuilt when the settings were reset (the local cloud does that)."""
    settings = get_settings()
    if _service is not None and _service_settings is settings:
        return _service
    service = build_service(settings)
    use_service(service)
    return service


def _report_load_failure(model: str, version: int, error: Exception) -> None:
    telemetry.load_failure(model, version)
    logger.error(
        "model version failed to load; the version served before it (if any) keeps serving",
        extra={"model": model, "version": version, "error": str(error)},
    )
