"""CSV blocks -> chunks. Header required; quoting per RFC 4180 (the csv module's rules).

Three paths, each taking what the one before steps aside for:
- vectorised (the common case): an ASCII block without quotes whose rows all have the header's
  field count and whose numbers are plain decimals - cells located and numbers parsed by
  array arithmetic (`csv_cells`, `decimal_cells`), ~3.5x faster than `np.loadtxt`;
- `np.loadtxt`: the same shape with non-ASCII text or numbers numpy takes and the vectorised
  parser does not ("inf", values at float32's limits);
- exact: anything else - a quote, a missing value, a bad number, a short row - rows through the
  csv module, cells checked one by one, so each bad row is found and reported with its line.
All three give the model the same float32 values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from itertools import repeat
from typing import Any

import numpy as np

from mlops.batch.chunks import Chunk, Rejected, raw_text
from mlops.batch.csv_cells import CellGrid
from mlops.batch.reader import Block, ReadError
from mlops.batch.text_column import TextColumn
from mlops.batch.validation import Fault, column_faults
from mlops.domain.dataset import MISSING_NUMERIC
from mlops.serving.validation import FLOAT32_MAX, FeatureRule


class CsvLayout:
    """The header's columns: feature positions and pass-through columns (in input order)."""

    def __init__(self, header: Sequence[str], rules: tuple[FeatureRule, ...]) -> None:
        names = [name.strip() for name in header]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ReadError(f"the header repeats {', '.join(map(repr, duplicates))}")
        positions = {name: index for index, name in enumerate(names)}
        missing = [rule.name for rule in rules if rule.name not in positions]
        if missing:
            msg = f"the header lacks {', '.join(map(repr, missing))} (found: {', '.join(names)})"
            raise ReadError(msg)
        self.rules = rules
        self.width = len(names)
        self.numeric = [(rule.name, positions[rule.name]) for rule in rules if rule.numeric]
        self.text = [(rule.name, positions[rule.name]) for rule in rules if not rule.numeric]
        features = {rule.name for rule in rules}
        self.passthrough = [(n, i) for i, n in enumerate(names) if n not in features]

    @property
    def passthrough_names(self) -> list[str]:
        return [name for name, _ in self.passthrough]


def split_header(block: Block) -> tuple[list[str], Block]:
    """The header row (the first non-empty record) and the rest of the block."""
    reader = csv.reader(_lines(block.text))
    try:
        header = next((row for row in reader if row), None)
    except csv.Error as error:
        raise ReadError(f"line {block.first_line}: not valid CSV ({error})") from None
    if header is None:
        return [], Block("", block.first_line)
    consumed = reader.line_num
    offset = 0
    for _ in range(consumed):
        offset = block.text.find("\n", offset) + 1
        if offset == 0:
            offset = len(block.text)
            break
    return header, Block(block.text[offset:], block.first_line + consumed)


def _lines(text: str) -> Iterator[str]:
    """The text's lines with their line ends, one at a time (the header needs only the first)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start) + 1 or len(text)
        yield text[start:end]
        start = end


def parse_csv(block: Block, layout: CsvLayout) -> Chunk:
    text = block.text.replace("\r\n", "\n") if "\r" in block.text else block.text
    if '"' not in text:
        grid = CellGrid.of(text.encode(), layout.width) if "\r" not in text else None
        chunk = _from_grid(grid, block.first_line, layout) if grid else None
        if chunk is not None:
            return chunk
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        numbers = np.arange(block.first_line, block.first_line + len(lines))
        if "" in lines:  # empty lines are not rows
            keep = [index for index, line in enumerate(lines) if line]
            lines = [lines[index] for index in keep]
            numbers = numbers[keep]
        counts = set(map(str.count, lines, repeat(",")))
        if counts <= {layout.width - 1}:
            return _unquoted(lines, numbers, layout)
    return _quoted(text, block.first_line, layout)


def _from_grid(grid: CellGrid, first_line: int, layout: CsvLayout) -> Chunk | None:
    """The common case, all in numpy: every line has the header's field count and every
    number is plain (None: take the general path, which finds and reports what is not)."""
    numeric: dict[str, np.ndarray] = {}
    if layout.numeric:
        matrix = grid.numbers([position for _, position in layout.numeric])
        if matrix is None:
            return None
        numeric = {name: matrix[:, i] for i, (name, _) in enumerate(layout.numeric)}
    columns = numeric | {name: grid.texts(position) for name, position in layout.text}
    passthrough = [grid.column(position) for _, position in layout.passthrough]
    numbers = list(range(first_line, first_line + grid.rows))
    return _checked(columns, passthrough, numbers, grid.line, layout, [])


def _unquoted(lines: list[str], numbers: np.ndarray, layout: CsvLayout) -> Chunk:
    """Rows with the header's field count and no quotes: numpy parses them."""
    if not lines:
        return _empty(layout)
    numeric: dict[str, np.ndarray] = {}
    if layout.numeric:
        try:
            matrix = _numeric_matrix(lines, [pos for _, pos in layout.numeric])
        except ValueError:  # a missing value or a bad number: the cells one by one
            cells = _loadtxt(lines, list(range(layout.width)), str)
            return _from_cells(cells.T.tolist(), numbers.tolist(), lines, layout, [])
        numeric = {name: matrix[:, i] for i, (name, _) in enumerate(layout.numeric)}
    text_positions = [pos for _, pos in layout.text] + [pos for _, pos in layout.passthrough]
    texts = _loadtxt(lines, text_positions, str) if text_positions else None
    columns: dict[str, np.ndarray] = dict(numeric)
    for i, (name, _) in enumerate(layout.text):
        assert texts is not None
        columns[name] = texts[:, i]  # numpy text ('U'): the model casts it in one call
    passthrough = []
    if texts is not None:
        passthrough = [
            TextColumn.of(texts[:, len(layout.text) + i].tolist())
            for i in range(len(layout.passthrough))
        ]
    return _checked(columns, passthrough, numbers.tolist(), lines.__getitem__, layout, [])


def _numeric_matrix(lines: list[str], usecols: list[int]) -> np.ndarray:
    """Numbers parsed straight to float32 (what the model takes; numpy parses a double and
    rounds it, so the values are the same), ~20% faster than float64. Only when a value is at
    or beyond float32's limits (an overflow, or an infinity in the text) is the block read
    again as float64, so that the float32 range check reports exactly as online."""
    matrix = _loadtxt(lines, usecols, np.float32)
    if np.isinf(matrix).any() or (np.abs(matrix) == FLOAT32_MAX).any():
        return _loadtxt(lines, usecols, np.float64)
    return matrix


def _loadtxt(lines: list[str], usecols: list[int], dtype: Any) -> np.ndarray:
    return np.loadtxt(lines, delimiter=",", dtype=dtype, usecols=usecols, comments=None, ndmin=2)


def _quoted(text: str, first_line: int, layout: CsvLayout) -> Chunk:
    """The exact path: the csv module's rows, each with the line it starts on."""
    physical = text.split("\n")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str]] = []
    numbers: list[int] = []
    raws: list[str] = []
    rejected: list[Rejected] = []
    previous = 0
    try:
        for row in reader:
            start, previous = previous, reader.line_num
            if not row:
                continue
            raw = "\n".join(physical[start:previous])
            if len(row) != layout.width:
                reason = f"has {len(row)} fields, the header has {layout.width}"
                rejected.append(Rejected(first_line + start, reason, None, raw_text(raw)))
                continue
            rows.append(row)
            numbers.append(first_line + start)
            raws.append(raw)
    except csv.Error as error:
        line = first_line + reader.line_num
        raise ReadError(f"line {line}: not valid CSV ({error})") from None
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else []
    rows_in = len(rows) + len(rejected)
    if not rows:
        empty = _empty(layout)
        return empty._replace(rows_in=rows_in, rejected=rejected)
    return _from_cells(columns, numbers, raws, layout, rejected)


def _from_cells(
    columns: list[list[str]],
    numbers: list[int],
    raws: list[str],
    layout: CsvLayout,
    rejected: list[Rejected],
) -> Chunk:
    """Columns of text cells -> checked feature columns; bad cells reject their rows."""
    faults: list[Fault] = []
    features: dict[str, np.ndarray] = {}
    for name, position in layout.numeric:
        values, bad_cells = _numbers(columns[position])
        features[name] = values
        faults += [Fault(row, name, reason) for row, reason in bad_cells]
    for name, position in layout.text:
        features[name] = np.array(columns[position], dtype=object)
    passthrough = [
        TextColumn.of(columns[position]).csv_escaped() for _, position in layout.passthrough
    ]
    return _checked(features, passthrough, numbers, raws.__getitem__, layout, rejected, faults)


def _numbers(cells: list[str]) -> tuple[np.ndarray, list[tuple[int, str]]]:
    try:
        return np.array([cell or "nan" for cell in cells], dtype=np.float64), []
    except ValueError:
        pass
    values = np.empty(len(cells), dtype=np.float64)
    faults: list[tuple[int, str]] = []
    for index, cell in enumerate(cells):
        text = cell.strip()
        if text.lower() in MISSING_NUMERIC:
            values[index] = np.nan
            continue
        try:
            values[index] = float(text)
        except ValueError:
            values[index] = np.nan
            faults.append((index, f"must be a number, not {cell[:64]!r}"))
    return values, faults


def _checked(  # noqa: PLR0917 - private, called in two places
    features: dict[str, np.ndarray],
    passthrough: list[TextColumn],
    numbers: list[int],
    raw: Callable[[int], str],
    layout: CsvLayout,
    rejected: list[Rejected],
    faults: list[Fault] | None = None,
) -> Chunk:
    """Apply the feature rules; drop the bad rows from every column."""
    count = len(numbers)
    bad = np.zeros(count, dtype=bool)
    found = list(faults or [])
    for fault in found:
        bad[fault.row] = True
    found = _first_per_row(found) + column_faults(layout.rules, features, bad)
    rejected = rejected + [
        Rejected(numbers[f.row], f.reason, f.field, raw_text(raw(f.row))) for f in found
    ]
    rejected.sort(key=lambda item: item.line)
    if found:
        keep = np.flatnonzero(~bad)
        features = {name: values[keep] for name, values in features.items()}
        passthrough = [column.take(keep) for column in passthrough]
    return Chunk(features, passthrough, count + len(rejected) - len(found), rejected)


def _first_per_row(faults: list[Fault]) -> list[Fault]:
    seen: dict[int, Fault] = {}
    for fault in faults:
        seen.setdefault(fault.row, fault)
    return list(seen.values())


def _empty(layout: CsvLayout) -> Chunk:
    return Chunk({}, [TextColumn.of([]) for _ in layout.passthrough], 0, [])
