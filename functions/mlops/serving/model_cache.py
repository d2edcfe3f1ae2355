"""Loaded models, cached by (model, version, sha256), and alias targets re-read at most every T s.

A promotion therefore takes effect within `refresh_seconds` without a redeploy. When the new
target fails to load (missing or tampered artifact, corrupt ONNX) the previous version keeps
serving and the failure is reported; the load is retried at the next refresh.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from mlops.artifacts import ArtifactError, ArtifactStore
from mlops.domain.onnx_model import OnnxModel, OnnxModelError
from mlops.registry import errors as registry_errors
from mlops.registry.entities import (
    MODEL_NAME_PATTERN,
    AliasName,
    AliasState,
    FeatureSchema,
    FeatureType,
    ModelVersion,
    VersionStatus,
)
from mlops.registry.store import RegistryStore
from mlops.serving.errors import (
    ModelNotFoundError,
    ModelUnavailableError,
    VersionNotServableError,
)
from mlops.serving.validation import RecordValidator

Clock = Callable[[], float]
LoadFailureHook = Callable[[str, int, Exception], None]
"""Called with (model, version, error) when a version fails to load."""

MAX_SESSIONS = 16
MAX_ALIAS_ENTRIES = 1_024
_NAME = re.compile(MODEL_NAME_PATTERN)
_LOAD_ERRORS = (
    ArtifactError,
    OnnxModelError,
    VersionNotServableError,
    registry_errors.RegistryError,
    ValueError,
)


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A version ready to score: its registry record, session and record validator."""

    record: ModelVersion
    model: OnnxModel
    validator: RecordValidator

    @property
    def name(self) -> str:
        return self.record.model

    @property
    def version(self) -> int:
        return self.record.version


@dataclass(frozen=True, slots=True)
class AliasEntry:
    """What an alias pointed at when last read, and the version actually serving for it."""

    state: AliasState | None
    serving: LoadedModel | None
    checked_at: float
    model_exists: bool = True
    load_error: str | None = None


class ModelCache:
    def __init__(
        self,
        store: RegistryStore,
        artifacts: ArtifactStore,
        *,
        refresh_seconds: float,
        clock: Clock = time.monotonic,
        on_load_failure: LoadFailureHook | None = None,
    ) -> None:
        self._store = store
        self._artifacts = artifacts
        self._refresh = refresh_seconds
        self._clock = clock
        self._on_load_failure = on_load_failure
        self._sessions: OrderedDict[tuple[str, int, str], LoadedModel] = OrderedDict()
        self._aliases: dict[tuple[str, AliasName], AliasEntry] = {}
        self._pinned: dict[tuple[str, int], tuple[ModelVersion, float]] = {}
        self._known_models: set[str] = set()
        self._lock = threading.RLock()

    # ---- aliases ------------------------------------------------------------------------
    def alias(self, name: str, alias: AliasName) -> AliasEntry:
        """The alias' entry, re-read from the registry when older than refresh_seconds."""
        key = (name, alias)
        entry = self._aliases.get(key)
        if entry is None or self._clock() - entry.checked_at >= self._refresh:
            if not _NAME.fullmatch(name):  # cached entries have valid names: checked on a miss
                raise ModelNotFoundError(f"model {name[:64]!r} not found")
            with self._lock:
                entry = self._aliases.get(key)
                if entry is None or self._clock() - entry.checked_at >= self._refresh:
                    entry = self._read_alias(name, alias, entry)
                    if len(self._aliases) >= MAX_ALIAS_ENTRIES:
                        self._aliases.clear()
                    self._aliases[key] = entry
        if not entry.model_exists:
            raise ModelNotFoundError(f"model {name!r} not found")
        return entry

    def production(self, name: str) -> LoadedModel:
        """The serving production version; 404 for an unknown model, 503 if none serves."""
        entry = self.alias(name, AliasName.PRODUCTION)
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

    def _read_alias(self, name: str, alias: AliasName, previous: AliasEntry | None) -> AliasEntry:
        now = self._clock()
        state = self._store.get_alias(name, alias)
        serving = previous.serving if previous is not None else None
        if state is None:
            return AliasEntry(None, None, now, model_exists=self._model_exists(name))
        self._remember_model(name)
        if serving is not None and serving.version == state.version:
            return AliasEntry(state, serving, now)
        try:
            loaded = self.load(self._store.get_version(name, state.version))
        except Exception as error:  # noqa: BLE001 - whatever fails, the previous version serves
            failed = error
        else:
            return AliasEntry(state, loaded, now)
        if self._on_load_failure is not None:
            self._on_load_failure(name, state.version, failed)
        # keep serving what served before (None if nothing ever loaded)
        return AliasEntry(state, serving, now, load_error=str(failed))

    def is_known(self, name: str) -> bool:
        """Whether the registry has confirmed this model exists (no registry read)."""
        return name in self._known_models

    def _model_exists(self, name: str) -> bool:
        """Asks the registry only about models not yet seen (models are never deleted): an
        unset candidate alias costs no read after the production alias was found."""
        if name in self._known_models:
            return True
        try:
            self._store.get_model(name)
        except registry_errors.ModelNotFoundError:
            return False
        self._remember_model(name)
        return True

    def _remember_model(self, name: str) -> None:
        if len(self._known_models) >= MAX_ALIAS_ENTRIES:
            self._known_models.clear()
        self._known_models.add(name)

    # ---- pinned versions ----------------------------------------------------------------
    def pinned(self, name: str, version: int) -> LoadedModel:
        """A version asked for by number: 404 if absent, 409 if it may not serve."""
        if not _NAME.fullmatch(name):
            raise ModelNotFoundError(f"model {name[:64]!r} not found")
        key = (name, version)
        cached = self._pinned.get(key)
        if cached is None or self._clock() - cached[1] >= self._refresh:
            try:
                record = self._store.get_version(name, version)
            except (
                registry_errors.ModelNotFoundError,
                registry_errors.VersionNotFoundError,
            ) as error:
                raise ModelNotFoundError(str(error)) from error
            with self._lock:
                if len(self._pinned) >= MAX_ALIAS_ENTRIES:
                    self._pinned.clear()
                self._pinned[key] = (record, self._clock())
            cached = self._pinned[key]
        record = cached[0]
        if record.status in (VersionStatus.REJECTED, VersionStatus.FAILED):
            msg = f"model {name!r} version {version} is {record.status.value} and cannot serve"
            raise VersionNotServableError(msg)
        try:
            return self.load(record)
        except _LOAD_ERRORS as error:
            if self._on_load_failure is not None:
                self._on_load_failure(name, version, error)
            msg = f"model {name!r} version {version} cannot be loaded: {error}"
            raise VersionNotServableError(msg) from error

    # ---- sessions -----------------------------------------------------------------------
    def load(self, record: ModelVersion) -> LoadedModel:
        """The cached session for this exact artifact, loading (and verifying) it if needed."""
        if record.artifact is None:
            msg = f"model {record.model!r} version {record.version} has no artifact"
            raise VersionNotServableError(msg)
        key = (record.model, record.version, record.artifact.sha256)
        with self._lock:
            loaded = self._sessions.get(key)
            if loaded is not None:
                self._sessions.move_to_end(key)
                return loaded
            data = self._artifacts.load_ref(record.artifact)
            model = OnnxModel(data)
            schema = record.feature_schema or _schema_from_inputs(model)
            _check_inputs_match(model, schema)
            spec = self._store.get_model(record.model).spec
            loaded = LoadedModel(record, model, RecordValidator(schema, spec))
            self._sessions[key] = loaded
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
            return loaded


def _schema_from_inputs(model: OnnxModel) -> list[FeatureSchema]:
    """A version registered without a schema is validated against the graph's own inputs."""
    strings = model.string_inputs
    return [
        FeatureSchema(
            name=name,
            type=FeatureType.CATEGORICAL if name in strings else FeatureType.NUMERIC,
        )
        for name in model.input_names
    ]


def _check_inputs_match(model: OnnxModel, schema: list[FeatureSchema]) -> None:
    declared = {feature.name: feature.type is FeatureType.CATEGORICAL for feature in schema}
    actual = {name: name in model.string_inputs for name in model.input_names}
    if declared != actual:
        msg = (
            f"the feature schema {sorted(declared)} does not match the artifact's inputs "
            f"{sorted(actual)} (names or numeric/categorical types differ)"
        )
        raise OnnxModelError(msg)
