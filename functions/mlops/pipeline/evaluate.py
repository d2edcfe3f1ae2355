"""The Evaluate step: score the holdout with the new ONNX artifact and with production's, compute
the task's metrics in numpy and write the report (JSON + HTML).

Runs with the scoring layer only (onnxruntime, numpy): the artifact judged is the one that
will serve. Never imports scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mlops.artifacts import ArtifactStore
from mlops.domain.dataset import Table
from mlops.domain.gate import decide
from mlops.domain.metrics import compute_metrics, confusion_matrix, residuals, roc_curve
from mlops.domain.onnx_model import ModelOutput, OnnxModel
from mlops.domain.report import build_report_json, render_report_html
from mlops.domain.snapshot import SnapshotError, table_from_npz
from mlops.domain.spec import ModelSpec
from mlops.pipeline.errors import PipelineInputError
from mlops.pipeline.jsonio import finite_metrics, json_bytes
from mlops.pipeline.payloads import EvaluateInput, EvaluationResult
from mlops.pipeline.recording import recorded_step
from mlops.pipeline.specs import run_spec
from mlops.registry.entities import AliasName, ModelVersion
from mlops.registry.store import RegistryStore

REPORT_JSON = "evaluation.json"
REPORT_HTML = "evaluation.html"


@dataclass(frozen=True)
class Scored:
    """One model's predictions on the holdout, aligned to the candidate's classes."""

    output: ModelOutput
    metrics: dict[str, float]


def run_evaluation(
    payload: EvaluateInput, *, store: RegistryStore, artifacts: ArtifactStore
) -> EvaluationResult:
    """Judge the new version on the holdout, next to production (if any)."""
    with recorded_step(store, payload.run_id, "evaluate") as step:
        spec = run_spec(payload, store)
        version = store.get_version(payload.model, payload.training.version)
        holdout = _read_holdout(payload.training.holdout_uri, spec, artifacts)
        classes = version.classes
        candidate = _score(_load_model(version, artifacts), holdout, spec, classes, classes)
        production = _production(store, payload.model, version.version)
        production_metrics: dict[str, float] | None = None
        compared: int | None = None
        if production is not None:
            production_model = _load_model(production, artifacts)
            missing = set(production_model.input_names) - set(holdout.columns)
            if missing:
                step.detail["production_not_compared"] = (
                    f"production v{production.version} needs features {sorted(missing)} "
                    "that the spec no longer has"
                )
            else:
                production_metrics = _score(
                    production_model, holdout, spec, production.classes, classes
                ).metrics
                compared = production.version
        preview = decide(spec, candidate.metrics, production_metrics)
        report = _report_data(
            payload, spec, version, holdout=holdout, candidate=candidate, compared=compared,
            production_metrics=production_metrics, decision_reason=preview.reason,
        )  # fmt: skip
        json_ref = artifacts.put(
            payload.model, version.version, REPORT_JSON,
            json_bytes(build_report_json(**report)), "application/json",
        )  # fmt: skip
        html_ref = artifacts.put(
            payload.model, version.version, REPORT_HTML,
            render_report_html(**report).encode(), "text/html; charset=utf-8",
        )  # fmt: skip
        store.update_version(
            payload.model,
            version.version,
            actor=f"pipeline:{payload.run_id}",
            metrics=candidate.metrics,
            reports={"evaluation": json_ref.uri, "evaluation_html": html_ref.uri},
        )
        step.detail.update(
            {"version": version.version, "metrics": candidate.metrics,
             "production_version": production.version if production else None}
        )  # fmt: skip
        return EvaluationResult(
            metrics=candidate.metrics,
            production_version=compared,
            production_metrics=production_metrics,
            report_uri=json_ref.uri,
            report_html_uri=html_ref.uri,
        )


def _read_holdout(uri: str, spec: ModelSpec, artifacts: ArtifactStore) -> Table:
    try:
        holdout = table_from_npz(artifacts.load(uri))
    except SnapshotError as error:
        raise PipelineInputError(f"the holdout {uri} is unusable: {error}") from None
    missing = {*spec.ordered_features, spec.target} - set(holdout.columns)
    if missing:
        msg = f"the holdout {uri} lacks the spec's columns {sorted(missing)}"
        raise PipelineInputError(msg)
    return holdout


def _production(store: RegistryStore, model: str, candidate: int) -> ModelVersion | None:
    alias = store.get_alias(model, AliasName.PRODUCTION)
    if alias is None or alias.version == candidate:
        return None
    return store.get_version(model, alias.version)


def _load_model(version: ModelVersion, artifacts: ArtifactStore) -> OnnxModel:
    if version.artifact is None:
        msg = f"{version.model} v{version.version} has no artifact"
        raise PipelineInputError(msg)
    return OnnxModel(artifacts.load_ref(version.artifact))


def _score(
    model: OnnxModel,
    holdout: Table,
    spec: ModelSpec,
    model_classes: list[str] | None,
    candidate_classes: list[str] | None,
) -> Scored:
    columns = {name: holdout[name] for name in model.input_names}
    truth = holdout[spec.target]
    if not spec.is_classification:
        output = model.predict_columns(columns)
        metrics = compute_metrics(spec.task, truth, values=output.values)
        return Scored(output, finite_metrics(metrics))
    if not model_classes or not candidate_classes:
        msg = "a classifier version without its classes"
        raise PipelineInputError(msg)
    output = model.predict_columns(columns)
    probabilities = align_probabilities(output.probabilities, model_classes, candidate_classes)
    metrics = compute_metrics(
        spec.task, truth, labels=output.labels, probabilities=probabilities,
        classes=candidate_classes,
    )  # fmt: skip
    aligned = ModelOutput(labels=output.labels, probabilities=probabilities)
    return Scored(aligned, finite_metrics(metrics))


def align_probabilities(
    probabilities: np.ndarray | None, model_classes: list[str], classes: list[str]
) -> np.ndarray | None:
    """Reorder a model's probability columns to `classes`; a class the model does not know
    gets probability 0 (production never predicts a label added since it was trained)."""
    if probabilities is None:
        return None
    positions = {label: index for index, label in enumerate(model_classes)}
    aligned = np.zeros((probabilities.shape[0], len(classes)), dtype=np.float64)
    for column, label in enumerate(classes):
        if label in positions:
            aligned[:, column] = probabilities[:, positions[label]]
    return aligned


def _report_data(
    payload: EvaluateInput,
    spec: ModelSpec,
    version: ModelVersion,
    *,
    holdout: Table,
    candidate: Scored,
    compared: int | None,
    production_metrics: dict[str, float] | None,
    decision_reason: str,
) -> dict[str, Any]:
    truth = holdout[spec.target]
    output = candidate.output
    data: dict[str, Any] = {
        "model": payload.model,
        "version": version.version,
        "task": spec.task,
        "metrics": candidate.metrics,
        "production_version": compared,
        "production_metrics": production_metrics,
        "decision_reason": f"preview: {decision_reason}",
    }
    classes = version.classes
    if classes and output.labels is not None:
        data["confusion"] = {
            "classes": classes,
            "matrix": confusion_matrix(truth, output.labels, classes),
        }
        if spec.task == "binary" and output.probabilities is not None:
            data["roc"] = roc_curve(truth.astype(str) == classes[1], output.probabilities[:, 1])
    elif output.values is not None:
        data["residuals"] = residuals(truth, output.values)
    return data
