"""Drift of live inputs from a version's training baseline (numpy + stdlib).

Per feature, the population stability index (PSI) over shared bins:

    PSI = sum over bins of (live_share - training_share) * ln(live_share / training_share)

Numeric features use the baseline's bins (cut at the training deciles, mlops.domain.baseline);
categorical features one bin per training category plus one "other" bin pooling every category
the training data never had. Missing values are a bin of their own in both. A share of 0 is
raised to EPSILON (1e-4, i.e. 0.01%) before the division and the logarithm, so an empty bin on
one side adds a large but finite term, and a bin empty on both sides adds nothing.

Numeric features also get the two-sample Kolmogorov-Smirnov statistic, max |F_live - F_train|
over the non-missing values. The baseline keeps 101 training percentiles, not the rows, so
F_train is interpolated linearly between them (0 below the minimum, 1 above the maximum, a jump
where percentiles tie). Between two percentiles the true training CDF moves by at most 0.01, so
the approximation differs from the exact statistic by at most about 0.01. Baselines without
percentiles (format 1) give no KS.

Default thresholds follow common practice for PSI: below 0.1 stable, 0.1 to 0.2 warn, 0.2 and
more drifted. The largest feature PSI is what the drift alarm watches; KS is reported only.
Fewer live rows than `min_rows` (default 200) give no verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from mlops.domain.baseline import bin_counts

EPSILON = 1e-4
WARN_PSI = 0.1
ALARM_PSI = 0.2
MIN_ROWS = 200
STABLE, WARN, DRIFTED, NO_VERDICT = "stable", "warn", "drifted", "no verdict"
OTHER_BIN, MISSING_BIN = "other", "missing"
NUMERIC, CATEGORICAL = "numeric", "categorical"


@dataclass(frozen=True)
class DriftThresholds:
    """PSI below `warn_psi`: stable; below `alarm_psi`: warn; else drifted. `min_rows` live
    rows are needed for a verdict."""

    warn_psi: float = WARN_PSI
    alarm_psi: float = ALARM_PSI
    min_rows: int = MIN_ROWS

    def __post_init__(self) -> None:
        if not 0 < self.warn_psi <= self.alarm_psi:
            msg = f"need 0 < warn_psi <= alarm_psi, got {self.warn_psi} and {self.alarm_psi}"
            raise ValueError(msg)
        if self.min_rows < 1:
            msg = f"min_rows must be at least 1, got {self.min_rows}"
            raise ValueError(msg)

    def status(self, psi: float) -> str:
        if psi >= self.alarm_psi:
            return DRIFTED
        return WARN if psi >= self.warn_psi else STABLE


@dataclass(frozen=True)
class FeatureDrift:
    """One feature: its statistics and the bin shares they came from (missing bin last)."""

    name: str
    type: str
    psi: float
    ks: float | None
    status: str
    bins: list[str]
    training_shares: list[float]
    live_shares: list[float]
    training_missing_rate: float
    live_missing_rate: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "psi": self.psi,
            "ks": self.ks,
            "status": self.status,
            "bins": self.bins,
            "training_shares": self.training_shares,
            "live_shares": self.live_shares,
            "training_missing_rate": self.training_missing_rate,
            "live_missing_rate": self.live_missing_rate,
        }


@dataclass(frozen=True)
class DriftResult:
    """The comparison of `rows` live records with one baseline."""

    rows: int
    verdict: str
    reason: str
    thresholds: DriftThresholds
    features: list[FeatureDrift] = field(default_factory=list)

    @property
    def has_verdict(self) -> bool:
        return self.verdict != NO_VERDICT

    @property
    def max_psi(self) -> float | None:
        return max((f.psi for f in self.features), default=None)

    @property
    def drifted_share(self) -> float | None:
        if not self.features:
            return None
        return sum(f.status == DRIFTED for f in self.features) / len(self.features)

    def ranked(self) -> list[FeatureDrift]:
        """Features by PSI, largest first."""
        return sorted(self.features, key=lambda f: (-f.psi, f.name))

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "verdict": self.verdict,
            "reason": self.reason,
            "max_psi": self.max_psi,
            "drifted_share": self.drifted_share,
            "thresholds": {
                "warn_psi": self.thresholds.warn_psi,
                "alarm_psi": self.thresholds.alarm_psi,
                "min_rows": self.thresholds.min_rows,
            },
            "features": [f.as_dict() for f in self.ranked()],
        }


def population_stability_index(
    training_shares: Sequence[float], live_shares: Sequence[float], epsilon: float = EPSILON
) -> float:
    """PSI of two distributions over the same bins (shares; zeros raised to epsilon)."""
    expected = np.maximum(np.asarray(training_shares, dtype=np.float64), epsilon)
    actual = np.maximum(np.asarray(live_shares, dtype=np.float64), epsilon)
    if expected.shape != actual.shape:
        msg = f"{actual.size} live bins for {expected.size} training bins"
        raise ValueError(msg)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def training_cdf(
    quantiles: Sequence[float], values: np.ndarray, *, left: bool = False
) -> np.ndarray:
    """F_train at `values` (or its left limit), interpolated between evenly spaced quantiles
    (quantiles[k] is the k/(n-1) quantile)."""
    q = np.asarray(quantiles, dtype=np.float64)
    steps = q.size - 1
    below = np.searchsorted(q, values, side="left" if left else "right")  # quantiles below x
    inside = (below > 0) & (below <= steps)
    low = np.clip(below - 1, 0, steps)
    high = np.clip(below, 0, steps)
    span = q[high] - q[low]
    fraction = np.divide(values - q[low], span, out=np.zeros_like(values), where=span > 0)
    cdf = np.where(below > steps, 1.0, 0.0)
    return np.where(inside, (low + fraction) / steps, cdf)


def ks_statistic(values: np.ndarray | Sequence[float], quantiles: Sequence[float]) -> float | None:
    """max |F_live - F_train| over the non-missing live values; None without values or
    quantiles. F_live is a step function, so the supremum is reached at a live value: its own
    step top against F_train there, or the step bottom against F_train's left limit."""
    live = np.sort(np.asarray(values, dtype=np.float64))
    live = live[~np.isnan(live)]
    if live.size == 0 or len(quantiles) < 2:
        return None
    n = live.size
    top = np.arange(1, n + 1) / n
    above = top - training_cdf(quantiles, live)
    below = training_cdf(quantiles, live, left=True) - (top - 1 / n)
    return float(max(above.max(), below.max(), 0.0))


def compare_to_baseline(
    baseline: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    thresholds: DriftThresholds | None = None,
) -> DriftResult:
    """Each baseline feature's drift over the live records (feature name -> value, as the API
    received them: null or absent is missing, "" is a missing category)."""
    limits = thresholds or DriftThresholds()
    rows = len(records)
    if rows == 0:
        return DriftResult(0, NO_VERDICT, _too_few(0, limits), limits)
    features = [
        _feature_drift(name, stats, [record.get(name) for record in records], limits)
        for name, stats in baseline.get("features", {}).items()
    ]
    if rows < limits.min_rows:
        return DriftResult(rows, NO_VERDICT, _too_few(rows, limits), limits, features)
    worst = max((f.psi for f in features), default=0.0)
    verdict = limits.status(worst)
    drifted = [f.name for f in features if f.status == DRIFTED]
    if drifted:
        reason = f"{len(drifted)} of {len(features)} features drifted: {', '.join(drifted)}"
    else:
        reason = f"largest PSI {worst:.3f} is below the alarm threshold {limits.alarm_psi}"
    return DriftResult(rows, verdict, reason, limits, features)


def _too_few(rows: int, limits: DriftThresholds) -> str:
    return f"too few rows for a verdict: {rows}, at least {limits.min_rows} are needed"


def _feature_drift(
    name: str, stats: Mapping[str, Any], values: list[Any], limits: DriftThresholds
) -> FeatureDrift:
    if stats.get("type") == NUMERIC:
        bins, training, live, ks = _numeric(stats, values)
        kind = NUMERIC
    else:
        bins, training, live = _categorical(stats, values)
        ks, kind = None, CATEGORICAL
    psi = population_stability_index(training, live)
    return FeatureDrift(
        name=name,
        type=kind,
        psi=psi,
        ks=ks,
        status=limits.status(psi),
        bins=[*bins, MISSING_BIN],
        training_shares=training,
        live_shares=live,
        training_missing_rate=training[-1],
        live_missing_rate=live[-1],
    )


def _numeric(
    stats: Mapping[str, Any], values: list[Any]
) -> tuple[list[str], list[float], list[float], float | None]:
    edges = [float(edge) for edge in stats.get("edges") or []]
    array = np.array([_number(value) for value in values], dtype=np.float64)
    live_counts = [*bin_counts(array, edges), int(np.isnan(array).sum())]
    training = _shares_with_missing(stats.get("counts") or [0], float(stats["missing_rate"]))
    quantiles = stats.get("quantiles") or []
    return _edge_labels(edges), training, _shares(live_counts), ks_statistic(array, quantiles)


def _categorical(
    stats: Mapping[str, Any], values: list[Any]
) -> tuple[list[str], list[float], list[float]]:
    counts: dict[str, int] = dict(stats.get("counts") or {})
    categories = sorted(counts)
    index = {category: position for position, category in enumerate(categories)}
    live_counts = [0] * (len(categories) + 2)  # categories, other, missing
    for value in values:
        if value is None or value == "":
            live_counts[-1] += 1
        else:
            live_counts[index.get(str(value), len(categories))] += 1
    training = _shares_with_missing(
        [counts[c] for c in categories] + [0], float(stats["missing_rate"])
    )
    return [*categories, OTHER_BIN], training, _shares(live_counts)


def _number(value: Any) -> float:
    """A live value as a float; anything but a finite JSON number counts as missing."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return math.nan


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [count / total if total else 0.0 for count in counts]


def _shares_with_missing(present_counts: Sequence[int], missing_rate: float) -> list[float]:
    """Training shares of the present bins (scaled to the present share) plus the missing bin."""
    present = sum(present_counts)
    scale = (1.0 - missing_rate) / present if present else 0.0
    return [count * scale for count in present_counts] + [missing_rate]


def _edge_labels(edges: Sequence[float]) -> list[str]:
    if not edges:
        return ["all values"]
    labels = [f"<= {edges[0]:.4g}"]
    labels.extend(f"({low:.4g}, {high:.4g}]" for low, high in pairwise(edges))
    labels.append(f"> {edges[-1]:.4g}")
    return labels
