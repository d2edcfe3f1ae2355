"""The cells of an unquoted ASCII CSV block, located by numpy on its bytes (no Python loop per
row): every separator in one pass, then cells as (start, end) offsets into one buffer. Number
cells go to `decimal_cells`; text cells are gathered into numpy string arrays."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mlops.batch.decimal_cells import PADDING, parse_float32

_COMMA, _NEWLINE = 44, 10


class CellGrid:
    """Cell offsets of a block whose every line has `width` cells."""

    def __init__(self, buffer: np.ndarray, separators: np.ndarray, width: int) -> None:
        self.buffer = buffer
        self.ends = separators.reshape(-1, width)

    @classmethod
    def of(cls, data: bytes, width: int) -> CellGrid | None:
        """The grid, or None: not ASCII, a NUL byte, or a line (empty ones too) without exactly
        `width` cells. The block's lines end with a newline (the last may lack it)."""
        if width < 2 or not data.isascii() or b"\0" in data:
            return None
        tail = b"" if data.endswith(b"\n") else b"\n"
        buffer = np.frombuffer(b"\0" * PADDING + data + tail + b"\0" * 8, dtype=np.uint8)
        newlines = buffer == _NEWLINE
        separators = np.flatnonzero(newlines | (buffer == _COMMA))
        rows = int(np.count_nonzero(newlines))
        # as many separators as cells, and each row's last one a newline: the others are commas
        if len(separators) != rows * width:
            return None
        if not (buffer[separators[width - 1 :: width]] == _NEWLINE).all():
            return None
        return cls(buffer, separators, width)

    def starts(self, column: int) -> np.ndarray:
        if column:
            return self.ends[:, column - 1] + 1
        line_starts = np.empty(self.rows, dtype=np.int64)
        line_starts[0] = PADDING
        line_starts[1:] = self.ends[:-1, -1] + 1
        return line_starts

    @property
    def rows(self) -> int:
        return len(self.ends)

    def numbers(self, columns: list[int]) -> np.ndarray | None:
        """(rows, len(columns)) float32, or None when a cell is not a plain decimal number
        (see decimal_cells)."""
        starts = np.stack([self.starts(column) for column in columns], axis=1).ravel()
        values = parse_float32(self.buffer, starts, self.ends[:, columns].ravel() - starts)
        return None if values is None else values.reshape(self.rows, len(columns))

    def texts(self, column: int) -> np.ndarray:
        """The column's cells as a numpy "U" array."""
        starts = self.starts(column)
        lengths = self.ends[:, column] - starts
        longest = int(lengths.max())
        if longest == 0:
            return np.full(self.rows, "", dtype="<U1")
        cells = sliding_window_view(self.buffer, longest)[starts].astype(np.uint32)
        cells[np.arange(longest) >= lengths[:, None]] = 0  # "U" drops trailing NULs
        texts: np.ndarray = cells.view(f"<U{longest}").ravel()  # ASCII: bytes are code points
        return texts

    def line(self, row: int) -> str:
        """The row's text (for an error record)."""
        start = self.ends[row - 1, -1] + 1 if row else PADDING
        return self.buffer[start : self.ends[row, -1]].tobytes().decode("ascii")
