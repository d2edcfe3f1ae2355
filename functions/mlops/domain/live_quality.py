"""Live quality: feedback (ground truth) joined with the captured predictions by request id.

Feedback items are `{"request_id", ["record",] "label" | "value", "model", "received_at"}`; a
capture holds one line per record of a request (`request_id`, `record` - its 0-based position
in the request -, `version`, `served_by`, `features`, `prediction`). An item with `record`
joins that record's line; one without joins a capture of exactly one record. Anything else (no
capture found, no such record, several records and none named, a label for a regression
prediction or the reverse) is counted as unmatched, with the reason. When a record got
feedback more than once, the latest item (by `received_at`) counts.

Quality per group of joined rows: accuracy and F1 for classification (binary: the positive
class is the version's second class; multiclass: macro F1), MAE for regression
(mlops.domain.metrics). Figures cover the model's live traffic, i.e. rows served by the
production or the candidate alias, overall and per alias; rows of requests pinned to a version
are counted but not scored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops.domain.metrics import compute_metrics

ALIASES = ("production", "candidate")
NO_CAPTURE, NO_RECORD, KIND_MISMATCH = "no capture", "no such record", "label/value mismatch"
MULTI_RECORD = "several records"  # and the feedback names none


@dataclass(frozen=True)
class JoinedRow:
    request_id: str
    version: int
    served_by: str
    truth: str | float
    predicted: str | float | None


@dataclass(frozen=True)
class Join:
    rows: list[JoinedRow] = field(default_factory=list)
    feedback: int = 0
    unmatched: Counter[str] = field(default_factory=Counter)

    @property
    def matched(self) -> int:
        return len(self.rows)


def latest_feedback(items: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One item per (request id, record): the latest received (ties: the later in the input)."""
    chosen: dict[tuple[str, Any], Mapping[str, Any]] = {}
    for item in items:
        target = (str(item.get("request_id")), item.get("record"))
        previous = chosen.get(target)
        if previous is None or str(item.get("received_at", "")) >= str(
            previous.get("received_at", "")
        ):
            chosen[target] = item
    return list(chosen.values())


def join_feedback(
    items: Sequence[Mapping[str, Any]], captures: Mapping[str, Sequence[Mapping[str, Any]]]
) -> Join:
    """Feedback items joined with their capture lines (request id -> the capture's lines)."""
    latest = latest_feedback(items)
    rows: list[JoinedRow] = []
    unmatched: Counter[str] = Counter()
    for item in latest:
        lines = captures.get(str(item.get("request_id")))
        if not lines:
            unmatched[NO_CAPTURE] += 1
            continue
        line, reason = _line_of(item, lines)
        if line is None:
            unmatched[reason] += 1
            continue
        row = _joined(item, line)
        if row is None:
            unmatched[KIND_MISMATCH] += 1
        else:
            rows.append(row)
    return Join(rows, len(latest), unmatched)


def _line_of(
    item: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> tuple[Mapping[str, Any] | None, str]:
    """The capture line the item names (or why there is none)."""
    record = item.get("record")
    if record is None:
        return (lines[0], "") if len(lines) == 1 else (None, MULTI_RECORD)
    named = [line for line in lines if line.get("record") == record]
    return (named[0], "") if named else (None, NO_RECORD)


def _joined(item: Mapping[str, Any], line: Mapping[str, Any]) -> JoinedRow | None:
    prediction = line.get("prediction") or {}
    if "label" in item and "label" in prediction:
        truth: str | float = str(item["label"])
        predicted: str | float | None = str(prediction["label"])
    elif "value" in item and "value" in prediction:
        truth = float(item["value"])
        value = prediction["value"]
        predicted = None if value is None else float(value)
    else:
        return None
    return JoinedRow(
        request_id=str(item["request_id"]),
        version=int(line.get("version", 0)),
        served_by=str(line.get("served_by", "")),
        truth=truth,
        predicted=predicted,
    )


def quality(task: str, classes: Sequence[str] | None, rows: Sequence[JoinedRow]) -> dict[str, Any]:
    """`{"rows", "accuracy", "f1"}` (classification: binary with two classes, else multiclass)
    or `{"rows", "mae"}` (regression; a row without a prediction is left out) over the rows;
    `{"rows": 0}` if none."""
    if task == "regression":
        pairs = [
            (float(row.truth), float(row.predicted)) for row in rows if row.predicted is not None
        ]
        if not pairs:
            return {"rows": 0}
        truth, values = zip(*pairs, strict=True)
        metrics = compute_metrics(task, list(truth), values=list(values))
        return {"rows": len(pairs), "mae": metrics["mae"]}
    if not rows:
        return {"rows": 0}
    kind = "binary" if classes is not None and len(classes) == 2 else "multiclass"
    metrics = compute_metrics(
        kind,
        [row.truth for row in rows],
        labels=[row.predicted for row in rows],
        classes=classes,
    )
    f1 = metrics["f1"] if kind == "binary" else metrics["f1_macro"]
    return {"rows": len(rows), "accuracy": metrics["accuracy"], "f1": f1}


def live_quality(
    task: str,
    join: Join,
    classes_by_alias: Mapping[str, Sequence[str] | None],
) -> dict[str, Any]:
    """The window's quality: overall (production and candidate rows; the production version's
    classes) and per alias (each alias' version's classes), with the join's counts."""
    live = [row for row in join.rows if row.served_by in ALIASES]
    by_alias = {
        alias: quality(task, classes_by_alias.get(alias), [r for r in live if r.served_by == alias])
        for alias in ALIASES
        if any(row.served_by == alias for row in live)
    }
    return {
        "task": task,
        "feedback": join.feedback,
        "matched": join.matched,
        "unmatched": sum(join.unmatched.values()),
        "unmatched_reasons": dict(sorted(join.unmatched.items())),
        "unscored_pinned": join.matched - len(live),
        "overall": quality(task, classes_by_alias.get("production"), live),
        "by_alias": by_alias,
    }
