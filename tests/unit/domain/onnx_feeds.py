"""Feed a table straight to an ONNX session, by the artifact conventions (docs/architecture.md):
one [N, 1] tensor per feature, float32 for numeric features, str for categorical ones."""

from __future__ import annotations

import numpy as np

from mlops.domain.dataset import Table
from mlops.domain.spec import ModelSpec


def onnx_feeds(table: Table, spec: ModelSpec) -> dict[str, np.ndarray]:
    """The ONNX model's inputs for a table, numeric features first, in spec order."""
    feeds: dict[str, np.ndarray] = {}
    for name in spec.numeric_features:
        feeds[name] = table[name].astype(np.float32).reshape(-1, 1)
    for name in spec.categorical_features:
        feeds[name] = table[name].astype(str).astype(object).reshape(-1, 1)
    return feeds
