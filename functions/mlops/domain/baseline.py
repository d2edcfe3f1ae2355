"""The training baseline that drift monitoring compares live inputs to (numpy + stdlib).

Numeric features are binned by the training deciles: `edges` are the distinct interior cut
points, bin i holds values in (edges[i-1], edges[i]] with open ends, so there are
len(edges) + 1 bins. `bin_counts` applies the same binning to new data; missing values are
counted apart (as the missing rate). Categorical features keep their category frequencies.

Format 2 adds `quantiles` to numeric features: the 0th..100th percentiles (101 values) of the
non-missing training values, from which the monitor interpolates the training CDF for the
Kolmogorov-Smirnov statistic (mlops.domain.drift). Format 1 baselines (no `quantiles`) stay
readable: the monitor computes PSI from them and reports KS as unavailable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlops.domain.dataset import Table
from mlops.registry.entities import FeatureSchema, FeatureType

DECILES = tuple(q / 10 for q in range(1, 10))
PERCENTILES = tuple(q / 100 for q in range(101))
BASELINE_FORMAT = 2


def compute_baseline(table: Table, feature_schema: Sequence[FeatureSchema]) -> dict[str, Any]:
    """Per-feature statistics of the training data, JSON-able."""
    features: dict[str, Any] = {}
    for feature in feature_schema:
        values = table[feature.name]
        if feature.type is FeatureType.NUMERIC:
            features[feature.name] = _numeric(values.astype(np.float64))
        else:
            features[feature.name] = _categorical(values)
    return {"format": BASELINE_FORMAT, "rows": table.n_rows, "features": features}


def bin_counts(values: np.ndarray | Sequence[float], edges: Sequence[float]) -> list[int]:
    """Counts of the non-missing values in the baseline's bins (len(edges) + 1 of them)."""
    array = np.asarray(values, dtype=np.float64)
    present = array[~np.isnan(array)]
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), present, side="left")
    return [int(count) for count in np.bincount(index, minlength=len(edges) + 1)]


def category_counts(values: np.ndarray | Sequence[str]) -> dict[str, int]:
    """Counts per non-missing category, in category order."""
    return _text_counts(values)[0]


def _text_counts(values: np.ndarray | Sequence[str]) -> tuple[dict[str, int], int]:
    """(counts per non-missing category in category order, number of missing values)."""
    counts = Counter(map(str, np.asarray(values, dtype=object).tolist()))
    missing = counts.pop("", 0)
    return dict(sorted(counts.items())), missing


def _numeric(values: np.ndarray) -> dict[str, Any]:
    missing = np.isnan(values)
    present = values[~missing]
    stats: dict[str, Any] = {
        "type": FeatureType.NUMERIC.value,
        "count": int(present.size),
        "missing_rate": float(missing.mean()) if values.size else 0.0,
    }
    if not present.size:
        stats.update(
            mean=None, std=None, minimum=None, maximum=None, deciles=[], edges=[], quantiles=[]
        )
        stats["counts"] = [0]
        return stats
    deciles = [float(q) for q in np.quantile(present, DECILES)]
    edges = sorted(set(deciles))
    stats.update(
        mean=float(present.mean()),
        std=float(present.std()),
        minimum=float(present.min()),
        maximum=float(present.max()),
        deciles=deciles,
        edges=edges,
        counts=bin_counts(present, edges),
        quantiles=[float(q) for q in np.quantile(present, PERCENTILES)],
    )
    return stats


def _categorical(values: np.ndarray) -> dict[str, Any]:
    counts, missing = _text_counts(values)
    present = sum(counts.values())
    return {
        "type": FeatureType.CATEGORICAL.value,
        "count": present,
        "missing_rate": missing / len(values) if len(values) else 0.0,
        "counts": counts,
        "frequencies": {k: c / present for k, c in counts.items()} if present else {},
    }
