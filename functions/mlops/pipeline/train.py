"""The Train step: fit the spec's recipe, convert to ONNX, register, write the artifacts.

Runs with the training layer (scikit-learn, skl2onnx); never imported by scoring code.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops.artifacts import ArtifactIntegrityError, ArtifactMissingError, ArtifactStore
from mlops.domain.baseline import compute_baseline
from mlops.domain.dataset import Table
from mlops.domain.snapshot import SNAPSHOT_SUFFIX, SnapshotError, table_from_npz, table_to_npz
from mlops.domain.spec import ModelSpec
from mlops.domain.training import TrainedModel, train_model
from mlops.observability import logger
from mlops.pipeline.errors import PipelineInputError
from mlops.pipeline.jsonio import json_bytes
from mlops.pipeline.payloads import TrainingResult, TrainInput
from mlops.pipeline.recording import describe_error, recorded_step
from mlops.pipeline.specs import run_spec
from mlops.registry.entities import ArtifactRef, NewVersion, VersionStatus
from mlops.registry.store import RegistryStore

MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
BASELINE_FILE = "baseline.json"
HOLDOUT_FILE = f"holdout{SNAPSHOT_SUFFIX}"
REPORT_FILES = (("metadata", METADATA_FILE), ("baseline", BASELINE_FILE), ("holdout", HOLDOUT_FILE))


@dataclass(frozen=True)
class _Trained:
    """A fitted model with the run and data it came from."""

    payload: TrainInput
    spec: ModelSpec
    table: Table
    model: TrainedModel

    @property
    def actor(self) -> str:
        return f"pipeline:{self.payload.run_id}"


def run_training(
    payload: TrainInput,
    *,
    store: RegistryStore,
    artifacts: ArtifactStore,
    code_version: str,
) -> TrainingResult:
    """Train on the validated data and register the version with everything that made it."""
    with recorded_step(store, payload.run_id, "train") as step:
        if not payload.validation.valid:
            msg = f"the data did not pass validation: {payload.validation.reason}"
            raise PipelineInputError(msg)
        spec = run_spec(payload, store)
        table = _read_validated_table(payload, artifacts)
        trained = _Trained(payload, spec, table, train_model(table, spec))
        step.detail = {
            "estimator": trained.model.estimator,
            "train_rows": trained.model.train_rows,
            "holdout_rows": trained.model.holdout_rows,
        }
        result = _register_and_write(trained, store, artifacts, code_version)
        step.detail["version"] = result.version
        return result


def _read_validated_table(payload: TrainInput, artifacts: ArtifactStore) -> Table:
    """The rows Validate checked (its snapshot, sha256 verified), whatever became of the file."""
    snapshot = payload.validation.table
    if snapshot is None:
        msg = "the validation step left no validated table to train on"
        raise PipelineInputError(msg)
    try:
        return table_from_npz(artifacts.load_ref(snapshot))
    except (ArtifactMissingError, ArtifactIntegrityError, SnapshotError) as error:
        raise PipelineInputError(f"the validated table is unusable: {error}") from None


def _register_and_write(
    trained: _Trained, store: RegistryStore, artifacts: ArtifactStore, code_version: str
) -> TrainingResult:
    """Register the version first (the registry allocates its number atomically), write the
    artifacts under that number, then attach them: concurrent runs of one model never share a
    folder, and the version cannot serve until its artifact is attached."""
    payload, model = trained.payload, trained.payload.model
    registered = store.register_version(
        model,
        NewVersion(
            task=trained.spec.task,
            estimator=trained.model.estimator,
            params=trained.model.params,
            feature_schema=trained.model.feature_schema,
            classes=trained.model.classes,
            data=payload.validation.data,
            code_version=code_version,
            trigger=payload.trigger,
            run_id=payload.run_id,
            reports={"validation": payload.validation.report_uri},
        ),
        actor=trained.actor,
    )
    version = registered.version
    uris = {name: artifacts.uri(model, version, filename) for name, filename in REPORT_FILES}
    try:
        model_ref = _write_artifacts(trained, version, artifacts)
        store.update_version(model, version, actor=trained.actor, artifact=model_ref, reports=uris)
    except Exception as error:
        _fail(store, trained, version, describe_error(error))
        raise
    return TrainingResult(
        version=version,
        artifact=model_ref,
        holdout_uri=uris["holdout"],
        baseline_uri=uris["baseline"],
    )


def _write_artifacts(trained: _Trained, version: int, artifacts: ArtifactStore) -> ArtifactRef:
    payload, model, fitted = trained.payload, trained.payload.model, trained.model
    model_ref = artifacts.put(model, version, MODEL_FILE, fitted.onnx_bytes)
    metadata = {
        "model": model,
        "version": version,
        "run_id": payload.run_id,
        "task": trained.spec.task,
        "target": trained.spec.target,
        "estimator": fitted.estimator,
        "params": fitted.params,
        "feature_schema": [feature.model_dump(mode="json") for feature in fitted.feature_schema],
        "classes": fitted.classes,
        "split": {
            "seed": fitted.seed,
            "holdout_fraction": trained.spec.split.holdout_fraction,
            "train_rows": fitted.train_rows,
            "holdout_rows": fitted.holdout_rows,
        },
        "data": payload.validation.data.model_dump(mode="json"),
        "trigger": payload.trigger.model_dump(mode="json"),
        "artifact": model_ref.model_dump(mode="json"),
        "spec": trained.spec.model_dump(mode="json"),
    }
    artifacts.put(model, version, METADATA_FILE, json_bytes(metadata), "application/json")
    baseline = compute_baseline(trained.table, fitted.feature_schema)
    artifacts.put(model, version, BASELINE_FILE, json_bytes(baseline), "application/json")
    holdout = table_to_npz(fitted.holdout)
    artifacts.put(model, version, HOLDOUT_FILE, holdout)
    return model_ref


def _fail(store: RegistryStore, trained: _Trained, version: int, reason: str) -> None:
    """Mark a version this run registered as failed; never masks the error being handled."""
    try:
        store.update_version(
            trained.payload.model,
            version,
            actor=trained.actor,
            status=VersionStatus.FAILED,
            reason=reason,
            expected_statuses=frozenset({VersionStatus.REGISTERED}),
        )
    except Exception:  # noqa: BLE001 - Finalize fails the version too if this write is lost
        logger.exception("could not mark the version failed", extra={"version": version})
