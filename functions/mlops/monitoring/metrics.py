"""The monitor's metrics as EMF documents (namespace "MLOps", dimension service="mlops"),
timestamped with the schedule event's time (the end of the window they describe).

Drift (the production version's rows, only with a verdict): DriftMaxPSI, DriftedFeatureShare,
DriftRows by {model}; PSI and KS by {model, feature}. Live quality: LiveAccuracy and LiveF1
(classification) or LiveMAE (regression) and LiveQualityRows, by {model} and by {model, alias}.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from mlops.domain.drift import DriftResult
from mlops.serving.telemetry import COUNT, NONE, Metric, emf_document

QUALITY_METRICS = {"accuracy": "LiveAccuracy", "f1": "LiveF1", "mae": "LiveMAE"}


def drift_documents(model: str, result: DriftResult, timestamp_ms: int) -> list[dict[str, Any]]:
    """Nothing without a verdict: the drift alarm then sees missing data."""
    if not result.has_verdict:
        return []
    documents = [
        emf_document(
            {"model": model},
            [
                ("DriftMaxPSI", NONE, result.max_psi or 0.0),
                ("DriftedFeatureShare", NONE, result.drifted_share or 0.0),
                ("DriftRows", COUNT, float(result.rows)),
            ],
            timestamp_ms,
        )
    ]
    for feature in result.features:
        metrics: list[Metric] = [("PSI", NONE, feature.psi)]
        if feature.ks is not None:
            metrics.append(("KS", NONE, feature.ks))
        documents.append(
            emf_document({"model": model, "feature": feature.name}, metrics, timestamp_ms)
        )
    return documents


def quality_documents(
    model: str, quality: Mapping[str, Any], timestamp_ms: int
) -> list[dict[str, Any]]:
    """LiveQualityRows always (0 included); the quality figures only for rows scored."""
    overall: tuple[dict[str, str], Mapping[str, Any]] = ({"model": model}, quality["overall"])
    groups = [overall]
    groups.extend(
        ({"model": model, "alias": alias}, figures)
        for alias, figures in quality["by_alias"].items()
    )
    documents = []
    for dimensions, figures in groups:
        metrics: list[Metric] = [("LiveQualityRows", COUNT, float(figures.get("rows", 0)))]
        metrics.extend(
            (name, NONE, float(figures[key]))
            for key, name in QUALITY_METRICS.items()
            if figures.get(key) is not None
        )
        documents.append(emf_document(dimensions, metrics, timestamp_ms))
    return documents


def print_document(document: dict[str, Any]) -> None:
    """One EMF line on stdout (the Lambda log stream)."""
    sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
