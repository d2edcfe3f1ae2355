"""Wire batch scoring to AWS: the S3 client, the registry view and the per-container model cache."""

from __future__ import annotations

from mlops.artifacts import ArtifactStore
from mlops.aws import client
from mlops.batch.errors import BatchInputError
from mlops.batch.score_object import Loader, ScoreRequest
from mlops.batch.scoring import BatchModel
from mlops.serving.model_cache import ModelCache
from mlops.serving.registry_view import DynamoDBServingRegistry
from mlops.serving.validation import RecordValidator
from mlops.settings import Settings

_loaded: dict[tuple[str, str, int, str], tuple[BatchModel, RecordValidator]] = {}
MAX_MODELS = 8


def pinned_loader(settings: Settings) -> Loader:
    """Loads exactly (model, version, sha256) - never an alias - once per container."""

    def load(request: ScoreRequest) -> tuple[BatchModel, RecordValidator]:
        key = (settings.registry_table, request.model, request.version, request.sha256)
        hit = _loaded.get(key)
        if hit is not None:
            return hit
        registry = DynamoDBServingRegistry(settings.registry_table, client("dynamodb"))
        record = registry.version(request.model, request.version)
        if record is None:
            msg = f"model {request.model!r} has no version {request.version}"
            raise BatchInputError(msg)
        if record.artifact_sha256 != request.sha256:
            msg = (
                f"model {request.model!r} version {request.version} has artifact sha256 "
                f"{record.artifact_sha256}, not the pinned {request.sha256}"
            )
            raise BatchInputError(msg)
        state = registry.model_state(request.model)
        cache = ModelCache(
            registry, ArtifactStore(client("s3"), settings.artifact_bucket), refresh_seconds=0
        )
        loaded = cache.load(
            record._replace(artifact_uri=request.artifact_uri), state and state.spec
        )
        result = (BatchModel(loaded.model, record.classes, record.version), loaded.validator)
        if len(_loaded) >= MAX_MODELS:
            _loaded.clear()
        _loaded[key] = result
        return result

    return load
