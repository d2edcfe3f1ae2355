"""Data validation: is this file fit to train the spec's model on? One report, every check."""

from __future__ import annotations

from operator import itemgetter

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from mlops.domain.dataset import DataFormatError, Table, missing_mask, read_table
from mlops.domain.spec import ModelSpec


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    passed: bool
    detail: str


class ValidationReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid: bool
    reason: str | None = Field(default=None, description="the first failing check's detail")
    checks: list[Check]
    rows: int
    missing_rates: dict[str, float] = Field(default_factory=dict)
    duplicate_rate: float = 0.0
    label_counts: dict[str, int] | None = None


def validate_bytes(data: bytes, key: str, spec: ModelSpec) -> tuple[ValidationReport, Table | None]:
    """Parse then validate: the report, and the parsed table (None when the file could not be
    read; then the report is invalid and names the field or row at fault)."""
    try:
        table = read_table(data, key, spec)
    except DataFormatError as error:
        check = Check(name="format", passed=False, detail=str(error))
        return ValidationReport(valid=False, reason=check.detail, checks=[check], rows=0), None
    report = validate_table(table, spec)
    fmt = Check(name="format", passed=True, detail=f"read {table.n_rows} rows from {key}")
    return report.model_copy(update={"checks": [fmt, *report.checks]}), table


def validate_table(table: Table, spec: ModelSpec) -> ValidationReport:
    """Run every check on a parsed table."""
    rules = spec.validation
    target = table[spec.target]
    label_missing = missing_mask(target)
    checks = [
        Check(
            name="min_rows",
            passed=table.n_rows >= rules.min_rows,
            detail=f"{table.n_rows} rows (minimum {rules.min_rows})",
        )
    ]
    label_missing_rate = float(label_missing.mean()) if table.n_rows else 1.0
    checks.append(
        Check(
            name="label_present",
            passed=label_missing_rate <= rules.max_missing_rate and not label_missing.all(),
            detail=(
                f"target {spec.target!r} is missing in {label_missing_rate:.1%} of rows "
                f"(maximum {rules.max_missing_rate:.1%})"
            ),
        )
    )
    label_counts = None
    if spec.is_classification:
        label_counts = _label_counts(table, spec.target, label_missing)
        checks.extend(_class_checks(spec, label_counts))
    else:
        distinct = int(np.unique(target[~label_missing]).size)
        checks.append(
            Check(
                name="label_not_constant",
                passed=distinct >= 2,
                detail=f"target {spec.target!r} has {distinct} distinct value(s)",
            )
        )
    missing_rates = {
        name: float(missing_mask(table[name]).mean()) if table.n_rows else 0.0
        for name in (feature.name for feature in spec.features)
    }
    checks.append(_missing_check(missing_rates, rules.max_missing_rate))
    duplicate_rate = _duplicate_rate(table, [*spec.ordered_features, spec.target])
    checks.append(
        Check(
            name="duplicate_rate",
            passed=duplicate_rate <= rules.max_duplicate_rate,
            detail=(
                f"{duplicate_rate:.1%} of rows duplicate an earlier row "
                f"(maximum {rules.max_duplicate_rate:.1%})"
            ),
        )
    )
    failed = next((check for check in checks if not check.passed), None)
    return ValidationReport(
        valid=failed is None,
        reason=None if failed is None else f"{failed.name}: {failed.detail}",
        checks=checks,
        rows=table.n_rows,
        missing_rates=missing_rates,
        duplicate_rate=duplicate_rate,
        label_counts=label_counts,
    )


def _label_counts(table: Table, target: str, missing: np.ndarray) -> dict[str, int]:
    """Rows per class, in class order (missing labels left out)."""
    codes, classes = table.text_codes(target)
    counts = np.bincount(codes[~missing], minlength=len(classes)).tolist()
    ordered = sorted(enumerate(classes), key=itemgetter(1))
    return {label: counts[code] for code, label in ordered if counts[code]}


def _class_checks(spec: ModelSpec, counts: dict[str, int]) -> list[Check]:
    checks = [
        Check(
            name="label_not_constant",
            passed=len(counts) >= 2,
            detail=f"target {spec.target!r} has {len(counts)} class(es): {_listing(counts)}",
        )
    ]
    if spec.task == "binary":
        checks.append(
            Check(
                name="binary_classes",
                passed=len(counts) == 2,
                detail=f"a binary task needs exactly 2 classes, found {len(counts)}",
            )
        )
    minimum = spec.validation.min_class_count
    small = {label: count for label, count in counts.items() if count < minimum}
    checks.append(
        Check(
            name="min_class_count",
            passed=not small,
            detail=(
                f"classes below {minimum} rows: {_listing(small)}"
                if small
                else f"every class has at least {minimum} rows"
            ),
        )
    )
    return checks


def _listing(counts: dict[str, int], limit: int = 10) -> str:
    shown = [f"{label!r}={count}" for label, count in list(counts.items())[:limit]]
    more = len(counts) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "") if shown else "none"


def _missing_check(missing_rates: dict[str, float], maximum: float) -> Check:
    over = {name: rate for name, rate in missing_rates.items() if rate > maximum}
    detail = (
        "features missing too often: "
        + ", ".join(f"{name!r} {rate:.1%}" for name, rate in over.items())
        + f" (maximum {maximum:.1%})"
        if over
        else f"every feature is missing in at most {maximum:.1%} of rows"
    )
    return Check(name="missing_rate", passed=not over, detail=detail)


def _duplicate_rate(table: Table, names: list[str]) -> float:
    """Share of rows that repeat an earlier row, compared on every named column."""
    if table.n_rows == 0 or not names:
        return 0.0
    rows = np.column_stack([_comparable(table, name) for name in names])
    # Only rows whose hash another row shares can repeat one; sorting just those compares them
    # exactly (a hash collision costs time, never a wrong count).
    hashes = _row_hashes(rows)
    order = np.argsort(hashes)
    shared = hashes[order[1:]] == hashes[order[:-1]]
    candidates = np.zeros(table.n_rows, dtype=bool)
    candidates[order[1:][shared]] = True
    candidates[order[:-1][shared]] = True
    subset = rows[candidates]
    ordered = subset[np.lexsort(subset.T)]  # equal rows end up next to each other
    repeats = np.count_nonzero((ordered[1:] == ordered[:-1]).all(axis=1))
    return repeats / table.n_rows


def _comparable(table: Table, name: str) -> np.ndarray:
    """float64 values that are equal exactly when the cells are: categories become their codes,
    missing numbers +inf (files never hold infinities), -0.0 becomes 0.0."""
    values = table[name]
    if values.dtype == object:
        return table.text_codes(name)[0].astype(np.float64)
    return np.where(np.isnan(values), np.inf, values) + 0.0


def _row_hashes(rows: np.ndarray) -> np.ndarray:
    """FNV-1a over each row's 64-bit words (wrapping uint64 arithmetic)."""
    words = np.ascontiguousarray(rows).view(np.uint64)
    hashes = np.full(len(rows), 0xCBF29CE484222325, dtype=np.uint64)
    for column in words.T:
        hashes = (hashes ^ column) * np.uint64(0x100000001B3)
    return hashes
