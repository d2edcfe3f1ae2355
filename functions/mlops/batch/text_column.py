"""A column of text cells as one matrix of UTF-8 bytes, and CSV rows joined from such columns
by numpy: the batch output is written without a Python string per cell."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

_COMMA, _NEWLINE = 44, 10
_SPECIAL = frozenset(',"\r\n')
_SPECIAL_BYTES = np.frombuffer(b',"\r\n', dtype=np.uint8)


def csv_cell(cell: str) -> str:
    """The cell as CSV writes it: quoted when it holds a comma, quote or line break."""
    if _SPECIAL.intersection(cell):
        return '"' + cell.replace('"', '""') + '"'
    return cell


class TextColumn(NamedTuple):
    """Cell i is `chars[i, :lengths[i]]` (UTF-8); the bytes after it are undefined. One row
    of chars and lengths stands for the same cell in every row (see `constant`)."""

    chars: np.ndarray
    """(rows, width) uint8."""
    lengths: np.ndarray
    """(rows,) int64."""

    @classmethod
    def of(cls, cells: list[str]) -> TextColumn:
        encoded = [cell.encode("utf-8") for cell in cells]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        width = max(1, int(lengths.max(initial=0)))
        chars = np.array(encoded, dtype=f"S{width}").view(np.uint8).reshape(-1, width)
        return cls(chars, lengths)

    @classmethod
    def constant(cls, cell: str) -> TextColumn:
        """The same cell in every row."""
        return cls.of([cell])

    @classmethod
    def merged(cls, rows: int, parts: list[tuple[np.ndarray, TextColumn]]) -> TextColumn:
        """One column from parts, each (its row numbers, its cells)."""
        width = max(part.chars.shape[1] for _, part in parts)
        chars = np.zeros((rows, width), dtype=np.uint8)
        lengths = np.zeros(rows, dtype=np.int64)
        for where, part in parts:
            chars[where, : part.chars.shape[1]] = part.chars
            lengths[where] = part.lengths
        return cls(chars, lengths)

    def take(self, rows: np.ndarray) -> TextColumn:
        return TextColumn(self.chars[rows], self.lengths[rows])

    def holds(self, characters: np.ndarray) -> bool:
        """Whether a cell holds one of these bytes."""
        inside = np.arange(self.chars.shape[1]) < self.lengths[:, None]
        return bool((np.isin(self.chars, characters) & inside).any())

    def csv_escaped(self) -> TextColumn:
        """The cells as CSV writes them (see csv_cell)."""
        if not self.holds(_SPECIAL_BYTES):
            return self
        return TextColumn.of([csv_cell(text) for text in self.texts()])

    def texts(self) -> list[str]:
        data = self.chars.tobytes()
        width = self.chars.shape[1]
        return [
            data[row * width : row * width + length].decode("utf-8")
            for row, length in enumerate(self.lengths.tolist())
        ]


def csv_lines(columns: list[TextColumn]) -> bytes:
    """The rows: each column's cell, separated by commas, each row ending with a newline. The
    cells are laid side by side in one byte matrix; a mask of the bytes that belong to a cell
    (and the separators) picks them out in row order."""
    rows = max(len(column.lengths) for column in columns)
    total = sum(column.chars.shape[1] + 1 for column in columns)
    matrix = np.empty((rows, total), dtype=np.uint8)
    keep = np.empty((rows, total), dtype=bool)
    offset = 0
    for index, column in enumerate(columns):
        width = column.chars.shape[1]
        matrix[:, offset : offset + width] = column.chars
        keep[:, offset : offset + width] = np.arange(width) < column.lengths[:, None]
        offset += width
        matrix[:, offset] = _NEWLINE if index == len(columns) - 1 else _COMMA
        keep[:, offset] = True
        offset += 1
    lines: bytes = matrix[keep].tobytes()
    return lines
