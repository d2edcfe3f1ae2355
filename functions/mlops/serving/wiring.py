"""One scoring service per process (a warm Lambda container), built from the settings.

The predict path reads the registry and S3 through `mlops.aws_http` (signed HTTPS, no
botocore, no pydantic: a first prediction in ~1.5x bare onnxruntime rather than ~5x); the
registry's full store, with botocore and the entities, loads only for `GET /v1/models`.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING

from mlops import aws_http
from mlops.artifacts import ArtifactStore
from mlops.serving.model_cache import Clock, ModelCache
from mlops.serving.recording import Recorder
from mlops.serving.registry_view import DynamoDBServingRegistry
from mlops.serving.service import ScoringService, ServingLimits
from mlops.serving.telemetry import Telemetry, logger
from mlops.settings import Settings, get_settings

if TYPE_CHECKING:
    from mlops.registry.store import RegistryStore

telemetry = Telemetry()
_service: ScoringService | None = None
_service_settings: Settings | None = None


def build_service(settings: Settings, *, clock: Clock = time.monotonic) -> ScoringService:
    """A service wired to the registry table and buckets named by the settings."""
    s3 = aws_http.s3()
    cache = ModelCache(
        DynamoDBServingRegistry(settings.registry_table, aws_http.dynamodb()),
        ArtifactStore(s3, settings.artifact_bucket),
        refresh_seconds=settings.alias_refresh_seconds,
        clock=clock,
        on_failure=_report_failure,
    )
    limits = ServingLimits(
        settings.max_records_per_request, settings.capture_sample_rate, settings.max_body_bytes
    )
    open_store = functools.cache(functools.partial(_open_store, settings))
    return ScoringService(open_store, cache, Recorder(s3, settings.data_bucket), telemetry, limits)


def _open_store(settings: Settings) -> RegistryStore:
    from mlops.registry import open_registry  # botocore and pydantic: off the predict path

    return open_registry(settings)


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


def _report_failure(model: str, version: int | None, error: Exception) -> None:
    if version is None:
        telemetry.registry_failure(model)
        logger.error(
            "the model registry could not be read; what was read before keeps serving",
            extra={"model": model, "error": str(error)},
        )
        return
    telemetry.load_failure(model, version)
    logger.error(
        "model version failed to load; the version served before it (if any) keeps serving",
        extra={"model": model, "version": version, "error": str(error)},
    )
