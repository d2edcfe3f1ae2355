"""Vectorised checks of a chunk's feature columns: the online API's rules, applied per column.

Numbers must be finite and within float32 range (NaN is a missing value: the artifact imputes
it); categories must be known when the spec rejects unknown ones ("" is the missing category).
A row's first fault (in schema order) is its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from mlops.serving.validation import FLOAT32_MAX, FeatureRule


class Fault(NamedTuple):
    row: int
    field: str | None
    reason: str


def column_faults(
    rules: tuple[FeatureRule, ...], columns: Mapping[str, np.ndarray], bad: np.ndarray
) -> list[Fault]:
    """Faults of rows not yet bad (`bad` is updated in place), one per row."""
    faults: list[Fault] = []
    for rule in rules:
        values = columns[rule.name]
        if rule.numeric:
            with np.errstate(invalid="ignore"):
                infinite = np.isinf(values)
                too_large = ~infinite & (np.abs(values) > FLOAT32_MAX)
            faults += _mark(bad, infinite, rule.name, lambda _: "must be a finite number")
            faults += _mark(bad, too_large, rule.name, lambda _: "is out of the float32 range")
        elif rule.accepted is not None:
            unknown = _unknown(values, rule.accepted)
            faults += _mark(bad, unknown, rule.name, _unknown_category(values))
    return faults


def _unknown(values: np.ndarray, accepted: frozenset[str]) -> np.ndarray:
    """Which values are not accepted: vectorised for numpy text, per value for objects."""
    if values.dtype.kind == "U":
        return ~np.isin(values, np.array(sorted(accepted), dtype=str))
    return np.fromiter(
        (value not in accepted for value in values.tolist()), dtype=bool, count=len(values)
    )


def _unknown_category(values: np.ndarray) -> object:
    return lambda i: f"unknown category {str(values[i])[:64]!r}"


def _mark(bad: np.ndarray, mask: np.ndarray, field: str, reason: object) -> list[Fault]:
    fresh = np.flatnonzero(mask & ~bad)
    if fresh.size == 0:
        return []
    bad[fresh] = True
    describe = reason if callable(reason) else (lambda _: str(reason))
    return [Fault(int(i), field, describe(int(i))) for i in fresh.tolist()]
