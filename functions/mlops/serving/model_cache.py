"""Loaded models, cached by (model, version, sha256); each model's aliases re-read at most every
T seconds, in one registry query.

A promotion therefore takes effect within `refresh_seconds` without a redeploy. When the new
target fails to load (missing or tampered artifact, corrupt ONNX) the previous version keeps
serving and the failure is reported; the load is retried at the next refresh. When the
registry cannot be read, what was read before keeps serving until the next refresh.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

from mlops.artifacts import ArtifactError, ArtifactStore
from mlops.domain.onnx_model import OnnxModel, OnnxModelError
from mlops.registry.enums import MODEL_NAME_PATTERN, AliasName, FeatureType, VersionStatus
from mlops.serving.errors import (
    ModelNotFoundError,
    ModelUnavailableError,
    VersionNotServableError,
)
from mlops.serving.registry_view import AliasTarget, ServedVersion, ServingRegistry
from mlops.serving.validation import RecordValidator

Clock = Callable[[], float]
FailureHook = Callable[[str, int | None, Exception], None]
"""Called with (model, version, error) when a version fails to load (version None: the
registry could not be read)."""

MAX_SESSIONS = 16
MAX_ENTRIES = 1_024
_NAME = re.compile(MODEL_NAME_PATTERN)
_LOAD_ERRORS = (ArtifactError, OnnxModelError, VersionNotServableError, ValueError)


class ServedFeature(NamedTuple):
    """One input as the artifact expects it (the fields of the registry's FeatureSchema that
    validation needs)."""

    name: str
    type: FeatureType
    categories: list[str] | None = None


class LoadedModel(NamedTuple):
    """A version ready to score: its registry record, session and record validator."""

    record: ServedVersion
    model: OnnxModel
    validator: RecordValidator

    @property
    def name(self) -> str:
        return self.record.model

    @property
    def version(self) -> int:
        return self.record.version


class AliasEntry(NamedTuple):
    """What an alias pointed at when last read, and the version actually serving for it."""

    state: AliasTarget | None
    serving: LoadedModel | None
    load_error: str | None = None


_UNSET = AliasEntry(None, None)


class ModelEntry(NamedTuple):
    exists: bool
    spec: dict[str, Any] | None
    production: AliasEntry
    candidate: AliasEntry
    checked_at: float


class ModelCache:
    def __init__(
        self,
        registry: ServingRegistry,
        artifacts: ArtifactStore,
        *,
        refresh_seconds: float,
        clock: Clock = time.monotonic,
        on_failure: FailureHook | None = None,
    ) -> None:
        self._registry = registry
        self._artifacts = artifacts
        self._refresh = refresh_seconds
        self._clock = clock
        self._on_failure = on_failure
        self._sessions: OrderedDict[tuple[str, int, str], LoadedModel] = OrderedDict()
        self._models: dict[str, ModelEntry] = {}
        self._pinned: dict[tuple[str, int], tuple[ServedVersion | None, float]] = {}
        self._lock = threading.RLock()

    # ---- aliases ------------------------------------------------------------------------
    def alias(self, name: str, alias: AliasName) -> AliasEntry:
        """The alias' entry; 404 for an unknown model."""
        entry = self._entry(name)
        return entry.production if alias is AliasName.PRODUCTION else entry.candidate

    def production(self, name: str) -> LoadedModel:
        """The serving production version; 404 for an unknown model, 503 if none serves."""
        entry = self._entry(name).production
        if entry.serving is not None:
            return entry.serving
        if entry.state is None:
            msg = f"model {name!r} has no production version yet; promote one first"
        else:
            msg = (
                f"model {name!r} production version {entry.state.version} cannot be loaded: "
                f"{entry.load_error}"
            )
        raise ModelUnavailableError(msg)

    def is_known(self, name: str) -> bool:
        """Whether the registry has confirmed this model exists (no registry read)."""
        entry = self._models.get(name)
        return entry is not None and entry.exists

    def _entry(self, name: str) -> ModelEntry:
        """The model's entry, re-read from the registry when older than refresh_seconds."""
        entry = self._models.get(name)
        if entry is None or self._clock() - entry.checked_at >= self._refresh:
            if not _NAME.fullmatch(name):  # cached entries have valid names: checked on a miss
                raise ModelNotFoundError(f"model {name[:64]!r} not found")
            with self._lock:
                entry = self._models.get(name)
                if entry is None or self._clock() - entry.checked_at >= self._refresh:
                    entry = self._read(name, entry)
                    if len(self._models) >= MAX_ENTRIES:
                        self._models.clear()
                    self._models[name] = entry
        if not entry.exists:
            raise ModelNotFoundError(f"model {name!r} not found")
        return entry

    def _read(self, name: str, previous: ModelEntry | None) -> ModelEntry:
        now = self._clock()
        try:
            state = self._registry.model_state(name)
        except Exception as error:
            self._report(name, None, error)
            if previous is None:
                msg = f"the model registry cannot be read ({error}); retry later"
                raise ModelUnavailableError(msg) from error
            return previous._replace(checked_at=now)
        if state is None:
            return ModelEntry(False, None, _UNSET, _UNSET, now)
        before = previous or ModelEntry(True, None, _UNSET, _UNSET, now)
        return ModelEntry(
            True,
            state.spec,
            self._follow(name, state.production, before.production.serving, state.spec),
            self._follow(name, state.candidate, before.candidate.serving, state.spec),
            now,
        )

    def _follow(
        self,
        name: str,
        target: AliasTarget | None,
        serving: LoadedModel | None,
        spec: dict[str, Any] | None,
    ) -> AliasEntry:
        """The alias' new entry: its target loaded, else what served before and the error."""
        if target is None:
            return _UNSET
        if serving is not None and serving.version == target.version:
            return AliasEntry(target, serving)
        try:
            record = self._registry.version(name, target.version)
            if record is None:
                msg = f"model {name!r} has no version {target.version}"
                raise VersionNotServableError(msg)
            loaded = self.load(record, spec)
        except Exception as error:  # noqa: BLE001 - whatever fails, the previous version serves
            self._report(name, target.version, error)
            return AliasEntry(target, serving, str(error))
        return AliasEntry(target, loaded)

    def _report(self, name: str, version: int | None, error: Exception) -> None:
        if self._on_failure is not None:
            self._on_failure(name, version, error)

    # ---- pinned versions ----------------------------------------------------------------
    def pinned(self, name: str, version: int) -> LoadedModel:
        """A version asked for by number: 404 if absent, 409 if it may not serve."""
        entry = self._entry(name)
        key = (name, version)
        cached = self._pinned.get(key)
        if cached is None or self._clock() - cached[1] >= self._refresh:
            try:
                found = self._registry.version(name, version)
            except Exception as error:
                self._report(name, version, error)
                msg = f"the model registry cannot be read ({error}); retry later"
                raise ModelUnavailableError(msg) from error
            with self._lock:
                if len(self._pinned) >= MAX_ENTRIES:
                    self._pinned.clear()
                self._pinned[key] = (found, self._clock())
            cached = self._pinned[key]
        record = cached[0]
        if record is None:
            raise ModelNotFoundError(f"model {name!r} has no version {version}")
        if record.status in (VersionStatus.REJECTED, VersionStatus.FAILED):
            msg = f"model {name!r} version {version} is {record.status.value} and cannot serve"
            raise VersionNotServableError(msg)
        try:
            return self.load(record, entry.spec)
        except _LOAD_ERRORS as error:
            self._report(name, version, error)
            msg = f"model {name!r} version {version} cannot be loaded: {error}"
            raise VersionNotServableError(msg) from error

    # ---- sessions -----------------------------------------------------------------------
    def load(self, record: ServedVersion, spec: dict[str, Any] | None) -> LoadedModel:
        """The cached session for this exact artifact, loading (and verifying) it if needed."""
        if record.artifact_uri is None or record.artifact_sha256 is None:
            msg = f"model {record.model!r} version {record.version} has no artifact"
            raise VersionNotServableError(msg)
        key = (record.model, record.version, record.artifact_sha256)
        with self._lock:
            loaded = self._sessions.get(key)
            if loaded is not None:
                self._sessions.move_to_end(key)
                return loaded
            model = OnnxModel(self._artifacts.load(record.artifact_uri, record.artifact_sha256))
            features = _declared_features(record) or _features_from_inputs(model)
            _check_inputs_match(model, features)
            loaded = LoadedModel(record, model, RecordValidator(features, spec))
            self._sessions[key] = loaded
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
            return loaded


def _declared_features(record: ServedVersion) -> list[ServedFeature]:
    return [
        ServedFeature(feature["name"], FeatureType(feature["type"]), feature.get("categories"))
        for feature in record.feature_schema
    ]


def _features_from_inputs(model: OnnxModel) -> list[ServedFeature]:
    """A version registered without a schema is validated against the graph's own inputs."""
    strings = model.string_inputs
    return [
        ServedFeature(name, FeatureType.CATEGORICAL if name in strings else FeatureType.NUMERIC)
        for name in model.input_names
    ]


def _check_inputs_match(model: OnnxModel, features: list[ServedFeature]) -> None:
    declared = {feature.name: feature.type is FeatureType.CATEGORICAL for feature in features}
    actual = {name: name in model.string_inputs for name in model.input_names}
    if declared != actual:
        msg = (
            f"the feature schema {sorted(declared)} does not match the artifact's inputs "
            f"{sorted(actual)} (names or numeric/categorical types differ)"
        )
        raise OnnxModelError(msg)
