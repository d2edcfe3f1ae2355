"""JSON Lines blocks -> chunks: one object per line, feature names as keys, empty lines skipped.

Records are checked by the online API's own RecordValidator (numbers are JSON numbers, finite,
within float32; null is a missing value; categories are strings, known when the spec rejects
unknown ones; every feature present). Keys that are not features pass through.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from mlops.batch.chunks import Chunk, Rejected, raw_text
from mlops.batch.reader import Block
from mlops.serving.errors import RequestValidationError
from mlops.serving.validation import RecordValidator


def parse_jsonl(block: Block, validator: RecordValidator) -> Chunk:
    lines: list[str] = []
    numbers: list[int] = []
    for offset, line in enumerate(block.text.split("\n")):
        if line.strip():
            lines.append(line)
            numbers.append(block.first_line + offset)
    rejected: list[Rejected] = []
    records = _decode(lines)
    candidates: list[int] = []
    for index, record in enumerate(records):
        if type(record) is dict:
            candidates.append(index)
            continue
        reason = (
            record.reason
            if isinstance(record, _Bad)
            else f"expected a JSON object, got {type(record).__name__}"
        )
        rejected.append(Rejected(numbers[index], reason, None, raw_text(lines[index])))
    names = [rule.name for rule in validator.rules]
    wanted = frozenset(names)
    projected = [{k: v for k, v in records[i].items() if k in wanted} for i in candidates]
    clean, faults = _validate(validator, projected)
    for position, (field, problem) in faults.items():
        index = candidates[position]
        rejected.append(Rejected(numbers[index], problem, field, raw_text(lines[index])))
    good = [position for position in range(len(candidates)) if position not in faults]
    features = {name: _column(name, [clean[p][name] for p in good], validator) for name in names}
    passthrough = [
        {k: v for k, v in records[candidates[p]].items() if k not in wanted} for p in good
    ]
    rejected.sort(key=lambda item: item.line)
    return Chunk(features, passthrough, len(lines), rejected)


class _Bad:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _decode(lines: list[str]) -> list[Any]:
    try:  # one document for the block: far fewer decoder calls than a line at a time
        records: list[Any] = json.loads("[" + ",".join(lines) + "]")
        if len(records) == len(lines):
            return records
    except (json.JSONDecodeError, RecursionError):
        pass
    return [_one(line) for line in lines]


def _one(line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        return _Bad(f"not valid JSON ({error.msg} at character {error.colno})")
    except RecursionError:
        return _Bad("not valid JSON (nested too deeply)")


def _validate(
    validator: RecordValidator, records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[int, tuple[str | None, str]]]:
    """Model-ready records and the first fault of each bad one (by position)."""
    try:
        return validator.validate(records), {}
    except RequestValidationError as error:
        faults: dict[int, tuple[str | None, str]] = {}
        for fault in error.errors:
            faults.setdefault(int(fault["record"]), (fault.get("field"), str(fault["problem"])))
        rest = [record for position, record in enumerate(records) if position not in faults]
        clean = iter(validator.validate(rest))
        return [
            next(clean) if position not in faults else {} for position in range(len(records))
        ], faults


def _column(name: str, values: list[Any], validator: RecordValidator) -> np.ndarray:
    numeric = next(rule.numeric for rule in validator.rules if rule.name == name)
    if numeric:
        return np.array(values, dtype=np.float64)
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column
