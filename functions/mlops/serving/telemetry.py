"""Serving metrics in CloudWatch Embedded Metric Format, per model and version, plus the logger.

Per request (dimensions service, model, version): Requests, Records, Latency (ms) and the
prediction summary: Score (mean probability of the second class, binary), Class_<label>
(predicted count per class, multiclass) or Prediction (mean value, regression). Shadow scoring
adds ShadowRequests / ShadowDisagreements on the candidate's version. Errors (dimensions
service, model, kind), ModelLoadFailures (service, model, version) and RegistryReadFailures
(service, model) when they happen.

Per predict request, also per model (dimensions service, model; what the alarms watch):
Latency, Fault (1 when the answer is a 5xx, else 0: its Average is the error rate) and, when
the canary split sent the request to the candidate, CanaryFailed (1 when the candidate could
not answer and production did, else 0). These ride in the same line as a second EMF directive.

The documents have the shape Powertools Metrics writes (namespace "MLOps", service "mlops"),
but are rendered here from a template made once per metric set: Powertools' add_metric + flush
costs ~50 us per request, several times the model's own run time on the hot path.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.logging import Logger

NAMESPACE = "MLOps"
SERVICE = "mlops"
UNKNOWN_MODEL = "unknown"
COUNT, MILLISECONDS, NONE = "Count", "Milliseconds", "None"

logger = Logger(service=SERVICE)
"""The shared "mlops" service logger. Imported here rather than from mlops.observability,
whose Tracer loads the X-Ray SDK (~0.25 s of cold start the score function does not use)."""

Metric = tuple[str, str, float]
MAX_TEMPLATES = 256
Template = tuple[str, str, list[str], tuple[int, ...]]
"""Text before the timestamp, after it, `,"<name>":` per written value, and the indices of the
per-model metrics whose values are written (those not already among the metrics)."""
NO_METRICS: tuple[Metric, ...] = ()


def emf_document(
    dimensions: dict[str, str],
    metrics: list[Metric],
    timestamp_ms: int,
    per_model: Sequence[Metric] = (),
) -> dict[str, Any]:
    """One EMF document: `metrics` share the document's dimension set; `per_model` metrics
    (which may repeat a name of `metrics`, with the same value) are also published with the
    dimensions {model, service} only, as a second directive."""
    names = [*dimensions, "service"]
    directives = [
        {
            "Namespace": NAMESPACE,
            "Dimensions": [names],
            "Metrics": [{"Name": name, "Unit": unit} for name, unit, _ in metrics],
        }
    ]
    if per_model:
        directives.append(
            {
                "Namespace": NAMESPACE,
                "Dimensions": [["model", "service"]],
                "Metrics": [{"Name": name, "Unit": unit} for name, unit, _ in per_model],
            }
        )
    document: dict[str, Any] = {
        "_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": directives},
        **dimensions,
        "service": SERVICE,
    }
    for name, _, value in [*metrics, *per_model]:
        document.setdefault(name, value)
    return document


class Telemetry:
    """Writes one EMF line per event to stdout (the Lambda log stream)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._templates: dict[Any, Template] = {}

    def prediction(
        self,
        model: str,
        version: int,
        *,
        latency_ms: float,
        predictions: list[dict[str, Any]],
        classes: list[str] | None,
        canary_failed: bool | None = None,
    ) -> None:
        """A request answered by `version`; canary_failed is None unless the canary split
        sent it to the candidate (True: the candidate failed and production answered)."""
        latency = ("Latency", MILLISECONDS, latency_ms)
        metrics: list[Metric] = [
            ("Requests", COUNT, 1.0),
            ("Records", COUNT, float(len(predictions))),
            latency,
        ]
        metrics.extend(prediction_summary(predictions, classes))
        per_model = [latency, ("Fault", COUNT, 0.0)]
        if canary_failed is not None:
            per_model.append(("CanaryFailed", COUNT, 1.0 if canary_failed else 0.0))
        self._emit({"model": model, "version": str(version)}, metrics, per_model)

    def shadow(self, model: str, version: int, *, disagreements: int) -> None:
        self._emit(
            {"model": model, "version": str(version)},
            [("ShadowRequests", COUNT, 1.0), ("ShadowDisagreements", COUNT, float(disagreements))],
        )

    def error(self, kind: str, model: str | None, *, fault: bool | None = None) -> None:
        """A refused or failed request; `fault` (predict requests: whether the answer is a
        5xx) also publishes the model's Fault datapoint."""
        dimensions = {"model": model or UNKNOWN_MODEL, "kind": kind}
        per_model = NO_METRICS if fault is None else [("Fault", COUNT, 1.0 if fault else 0.0)]
        self._emit(dimensions, [("Errors", COUNT, 1.0)], per_model)

    def load_failure(self, model: str, version: int) -> None:
        dimensions = {"model": model, "version": str(version)}
        self._emit(dimensions, [("ModelLoadFailures", COUNT, 1.0)])

    def registry_failure(self, model: str) -> None:
        self._emit({"model": model}, [("RegistryReadFailures", COUNT, 1.0)])

    def _emit(
        self,
        dimensions: dict[str, str],
        metrics: list[Metric],
        per_model: Sequence[Metric] = NO_METRICS,
    ) -> None:
        finite = [metric for metric in metrics if math.isfinite(metric[2])]
        key = (
            tuple(dimensions.items()),
            tuple([metric[:2] for metric in finite]),
            tuple([metric[:2] for metric in per_model]),
        )
        template = self._templates.get(key)
        if template is None:
            template = _line_template(dimensions, finite, per_model)
            if len(self._templates) < MAX_TEMPLATES:
                self._templates[key] = template
        head, tail, names, written = template
        if written:
            finite.extend([per_model[index] for index in written])
        values = "".join(
            [name + repr(metric[2]) for name, metric in zip(names, finite, strict=True)]
        )
        line = f"{head}{int(time.time() * 1000)}{tail}{values}}}\n"
        with self._lock:
            sys.stdout.write(line)


def _line_template(
    dimensions: dict[str, str], metrics: list[Metric], per_model: Sequence[Metric]
) -> Template:
    """emf_document's JSON line in pieces: the text before the timestamp, after it (up to the
    values), `,"<name>":` per written value, and which per-model values are written."""
    present = {name for name, _, _ in metrics}
    written = tuple(i for i, metric in enumerate(per_model) if metric[0] not in present)
    document = emf_document(
        dimensions,
        [(name, unit, 0.0) for name, unit, _ in metrics],
        0,
        [(name, unit, 0.0) for name, unit, _ in per_model],
    )
    valued = [*metrics, *[per_model[index] for index in written]]
    for name, _, _ in valued:
        del document[name]
    head, tail = json.dumps(document, separators=(",", ":")).split('"Timestamp":0', 1)
    names = [f",{json.dumps(name)}:" for name, _, _ in valued]
    return head + '"Timestamp":', tail[:-1], names, written


def prediction_summary(
    predictions: list[dict[str, Any]], classes: list[str] | None
) -> list[Metric]:
    """Mean score (binary), predicted class counts (multiclass) or mean value (regression)."""
    if not predictions:
        return []
    first = predictions[0]
    if "value" in first:
        values = [p["value"] for p in predictions if p["value"] is not None]
        return [("Prediction", NONE, sum(values) / len(values))] if values else []
    if classes and len(classes) == 2 and "probabilities" in first:
        positive = classes[1]
        mean = sum(p["probabilities"][positive] for p in predictions) / len(predictions)
        return [("Score", NONE, mean)]
    counts = Counter(p.get("label") for p in predictions)
    known = set(classes) if classes else set(counts)
    return [(f"Class_{label}", COUNT, float(n)) for label, n in counts.items() if label in known]
