"""Tabular data without pandas: CSV or JSON Lines (optionally gzipped) -> numpy columns.

Numeric columns are float64 with NaN for missing values; categorical columns (and
classification targets) are object arrays of str with "" for missing. Rows in error messages
are counted from 1 over data rows (the CSV header is not a data row).
"""

from __future__ import annotations

import csv
import gc
import gzip
import io
import json
import math
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from mlops.registry.entities import FeatureType

if TYPE_CHECKING:
    from mlops.domain.spec import ModelSpec

GZIP_MAGIC = b"\x1f\x8b"
CSV_SUFFIXES = frozenset({".csv"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
MISSING_NUMERIC = frozenset({"", "na", "nan", "null", "none", "n/a"})


class DataFormatError(ValueError):
    """A data file that cannot be read as the spec's table. `field` and `row` locate it."""

    def __init__(self, reason: str, *, field: str | None = None, row: int | None = None) -> None:
        where = []
        if field is not None:
            where.append(f"column {field!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {reason}" if where else reason)
        self.reason = reason
        self.field = field
        self.row = row


@dataclass(frozen=True)
class Table:
    """Named numpy columns of equal length, in a fixed order."""

    columns: dict[str, np.ndarray]
    n_rows: int
    _codes: dict[str, tuple[np.ndarray, list[str]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name, values in self.columns.items():
            if len(values) != self.n_rows:
                msg = f"column {name!r} has {len(values)} values, expected {self.n_rows}"
                raise ValueError(msg)

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def take(self, indices: np.ndarray | Sequence[int]) -> Table:
        """The rows at `indices`, in that order."""
        index = np.asarray(indices, dtype=np.intp)
        return Table({name: values[index] for name, values in self.columns.items()}, len(index))

    def select(self, names: Iterable[str]) -> Table:
        return Table({name: self.columns[name] for name in names}, self.n_rows)

    def text_codes(self, name: str) -> tuple[np.ndarray, list[str]]:
        """A text column as int32 codes into its distinct values (in order of appearance),
        computed once per table: validation and the snapshot both need them."""
        cached = self._codes.get(name)
        if cached is None:
            distinct: dict[str, int] = {}
            codes = np.fromiter(
                (
                    distinct.setdefault(value, len(distinct))
                    for value in self.columns[name].tolist()
                ),
                dtype=np.int32,
                count=self.n_rows,
            )
            cached = self._codes[name] = (codes, list(distinct))
        return cached


def missing_mask(values: np.ndarray) -> np.ndarray:
    """True where a column's value is missing: "" (categorical) or NaN (numeric)."""
    if values.dtype == object:
        return np.asarray(values == "", dtype=bool)
    return np.isnan(values.astype(np.float64))


def column_types(spec: ModelSpec) -> dict[str, FeatureType]:
    """Every column the spec reads, with its type: features in spec order, then the target."""
    types = {feature.name: feature.type for feature in spec.features}
    types[spec.target] = FeatureType.CATEGORICAL if spec.is_classification else FeatureType.NUMERIC
    return types


def read_table(data: bytes, key: str, spec: ModelSpec) -> Table:
    """Parse a CSV or JSON Lines file (gzipped by suffix or magic bytes) into the spec's columns.

    Extra columns are ignored. Raises DataFormatError naming the column and row at fault.
    """
    path = PurePosixPath(key)
    suffix = path.suffix.lower()
    if suffix == ".gz" or data[:2] == GZIP_MAGIC:
        data = _gunzip(data)
        if suffix == ".gz":
            suffix = path.with_suffix("").suffix.lower()
    text = _decode(data)
    if not text.strip():
        raise DataFormatError("the file is empty")
    types = column_types(spec)
    if suffix in CSV_SUFFIXES:
        with _gc_paused():
            return _read_csv(text, types)
    if suffix in JSONL_SUFFIXES:
        with _gc_paused():
            return _read_jsonl(text, types)
    supported = ", ".join(sorted(CSV_SUFFIXES | JSONL_SUFFIXES))
    msg = f"unsupported format {suffix or '(no suffix)'!r} for {key!r}: use {supported} (or .gz)"
    raise DataFormatError(msg)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a table is built or serialized.

    That allocates about one object per cell, none of them in a reference cycle; each burst
    would otherwise set off full collections whose cost grows with everything else the process
    holds (scikit-learn, moto): 0.1-0.4 s per 50,000-row parse in the training step.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _gunzip(data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        msg = f"not a valid gzip file ({error})"
        raise DataFormatError(msg) from None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        msg = f"not UTF-8 text (byte {error.start})"
        raise DataFormatError(msg) from None


def _read_csv(text: str, types: dict[str, FeatureType]) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(row for row in reader if row)
        rows = list(filter(None, reader))
    except csv.Error as error:
        msg = f"not valid CSV ({error})"
        raise DataFormatError(msg) from None
    positions = {name.strip(): index for index, name in enumerate(header)}
    missing = [name for name in types if name not in positions]
    if missing:
        msg = f"the header lacks {', '.join(repr(n) for n in missing)} (found: {', '.join(header)})"
        raise DataFormatError(msg)
    if set(map(len, rows)) - {len(header)}:
        for number, row in enumerate(rows, start=1):
            if len(row) != len(header):
                msg = f"has {len(row)} fields, the header has {len(header)}"
                raise DataFormatError(msg, row=number)
    columns = {}
    for name, kind in types.items():
        position = positions[name]
        cells = [row[position] for row in rows]
        if kind is FeatureType.NUMERIC:
            columns[name] = _numeric_from_text(name, cells)
        else:
            columns[name] = _object_column(cells)
    return Table(columns, len(rows))


def _read_jsonl(text: str, types: dict[str, FeatureType]) -> Table:
    lines = [line for line in text.splitlines() if line.strip()]
    try:  # one document for the whole file: far fewer decoder calls than a line at a time
        records: list[Any] = json.loads("[" + ",".join(lines) + "]")
    except json.JSONDecodeError:
        records = []  # located below, line by line
    if len(records) != len(lines) or not all(type(record) is dict for record in records):
        records = [_json_record(line, number) for number, line in enumerate(lines, start=1)]
    missing = [name for name in types if not any(name in record for record in records)]
    if missing:
        msg = f"no record has {', '.join(repr(n) for n in missing)}"
        raise DataFormatError(msg)
    columns = {
        name: _parse_column(name, kind, [record.get(name) for record in records])
        for name, kind in types.items()
    }
    return Table(columns, len(records))


def _json_record(line: str, row: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        msg = f"not valid JSON ({error.msg} at character {error.colno})"
        raise DataFormatError(msg, row=row) from None
    if not isinstance(record, dict):
        msg = f"expected a JSON object, got {type(record).__name__}"
        raise DataFormatError(msg, row=row)
    return record


def _parse_column(name: str, kind: FeatureType, cells: list[Any]) -> np.ndarray:
    """A column of JSON values: vectorised when its cells share a simple type."""
    cell_types = set(map(type, cells))
    if kind is FeatureType.NUMERIC:
        if cell_types <= {int, float, type(None)}:
            return _numeric_from_json(name, cells)
        if cell_types == {str}:
            return _numeric_from_text(name, cells)
        return _parse_numeric(name, cells)
    if cell_types <= {str}:
        return _object_column(cells)
    return _parse_categorical(name, cells)


def _numeric_from_text(name: str, cells: list[str]) -> np.ndarray:
    """Text cells -> float64, converted by numpy in C; the per-cell scan only locates errors."""
    if "" in cells:  # the usual spelling of a missing value: no doomed first conversion
        cells = [cell or "nan" for cell in cells]
    values = _floats(cells)
    if values is None:  # other missing values ("NA", ...) or a bad cell
        values = _floats(
            ["nan" if cell.strip().lower() in MISSING_NUMERIC else cell for cell in cells]
        )
    if values is None or np.isinf(values).any():
        return _parse_numeric(name, cells)
    return values


def _floats(cells: list[Any]) -> np.ndarray | None:
    """float64 values of numbers, None or numeric text as Python's float() reads it (None ->
    NaN); None if a cell has no such value."""
    try:
        return np.array(cells, dtype=np.float64)
    except (OverflowError, ValueError, TypeError):
        return None


def _numeric_from_json(name: str, cells: list[Any]) -> np.ndarray:
    """JSON numbers and nulls -> float64 (null -> NaN) in one conversion."""
    values = _floats(cells)
    if values is None or np.isinf(values).any():
        return _parse_numeric(name, cells)
    return values


def _object_column(cells: list[str]) -> np.ndarray:
    values = np.empty(len(cells), dtype=object)
    values[:] = cells
    return values


def _parse_numeric(name: str, cells: list[Any]) -> np.ndarray:
    """Cell by cell: raises DataFormatError at the first bad cell, naming its row."""
    values = np.empty(len(cells), dtype=np.float64)
    for index, cell in enumerate(cells):
        values[index] = _to_float(name, cell, index + 1)
    return values


def _to_float(name: str, cell: Any, row: int) -> float:
    if cell is None:
        return math.nan
    if isinstance(cell, bool):
        raise DataFormatError(f"{cell!r} is not a number", field=name, row=row)
    if isinstance(cell, str):
        text = cell.strip()
        if text.lower() in MISSING_NUMERIC:
            return math.nan
        try:
            value = float(text)
        except ValueError:
            raise DataFormatError(f"{cell!r} is not a number", field=name, row=row) from None
    elif isinstance(cell, int | float):
        try:
            value = float(cell)
        except OverflowError:
            value = math.inf
    else:
        raise DataFormatError(f"{cell!r} is not a number", field=name, row=row)
    if math.isinf(value):
        raise DataFormatError(f"{cell!r} is not a finite number", field=name, row=row)
    return value


def _parse_categorical(name: str, cells: list[Any]) -> np.ndarray:
    values = np.empty(len(cells), dtype=object)
    for index, cell in enumerate(cells):
        values[index] = _category_text(cell, name, index + 1)
    return values


def _category_text(cell: Any, name: str, row: int) -> str:
    """A categorical value as text: None -> "", JSON numbers and booleans as JSON spells them
    (an integral float as an integer, so 1.0 and 1 are one category)."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, int | float):
        return json.dumps(cell)
    raise DataFormatError(f"{cell!r} is not a category (use a string)", field=name, row=row)


def split_table(
    table: Table, fraction: float, seed: int, stratify_by: np.ndarray | None = None
) -> tuple[Table, Table]:
    """Deterministic (train, holdout) split; each side keeps at least one row.

    With `stratify_by`, each class is split in the same proportion and keeps at least one
    training row (a class seen once stays in training), so the holdout never holds a class
    the model was not trained on.
    """
    if table.n_rows < 2:
        msg = f"cannot split {table.n_rows} row(s) into training and holdout sets"
        raise ValueError(msg)
    if not 0.0 < fraction < 1.0:
        msg = f"holdout fraction must be between 0 and 1, got {fraction}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    groups = [np.arange(table.n_rows)] if stratify_by is None else _strata(stratify_by)
    holdout_parts = []
    for group in groups:
        shuffled = rng.permutation(group)
        count = min(len(group) - 1, max(1, round(len(group) * fraction)))
        holdout_parts.append(shuffled[:count])
    holdout_index = np.sort(np.concatenate(holdout_parts))
    if holdout_index.size == 0:  # every class seen once: nothing to stratify
        return split_table(table, fraction, seed)
    train_mask = np.ones(table.n_rows, dtype=bool)
    train_mask[holdout_index] = False
    return table.take(np.flatnonzero(train_mask)), table.take(holdout_index)


def _strata(labels: np.ndarray) -> list[np.ndarray]:
    _, inverse = np.unique(labels.astype(str), return_inverse=True)
    return [np.flatnonzero(inverse == index) for index in range(int(inverse.max(initial=-1)) + 1)]
