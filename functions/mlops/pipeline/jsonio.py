"""Strict JSON for reports and payloads: NaN and infinities become null (Step Functions and
browsers reject bare NaN), everything else as json.dumps would write it."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(document: Any) -> Any:
    """A copy of the document with non-finite floats replaced by None."""
    if isinstance(document, float):
        return document if math.isfinite(document) else None
    if isinstance(document, dict):
        return {key: finite(value) for key, value in document.items()}
    if isinstance(document, list | tuple):
        return [finite(value) for value in document]
    return document


def finite_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Only the metrics with a finite numeric value (e.g. ROC AUC is undefined on one class)."""
    return {
        name: float(value)
        for name, value in metrics.items()
        if isinstance(value, int | float) and math.isfinite(float(value))
    }


def json_bytes(document: Any) -> bytes:
    return json.dumps(finite(document), sort_keys=True, default=str, allow_nan=False).encode()
