"""The cells of an unquoted ASCII CSV block, located by numpy on its bytes (no Python loop per
row): every separator in one pass, then cells as (start, end) offsets into one buffer. Number
cells go to `decimal_cells`; feature text cells are gathered into numpy string arrays, and
pass-through cells into TextColumns (their bytes, for the output)."""

from __future__ import annotations

from functools import cached_property

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mlops.batch.decimal_cells import PADDING, parse_float32
from mlops.batch.text_column import TextColumn

_COMMA, _NEWLINE = 44, 10
_SLAB_CELLS = 1 << 16


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

    @cached_property
    def previous(self) -> np.ndarray:
        """Per cell, the separator before it (PADDING - 1 for the first cell)."""
        separators = self.ends.ravel()
        previous = np.empty_like(separators)
        previous[0] = PADDING - 1
        previous[1:] = separators[:-1]
        return previous.reshape(self.ends.shape)

    @property
    def rows(self) -> int:
        return len(self.ends)

    def numbers(self, columns: list[int]) -> np.ndarray | None:
        """(rows, len(columns)) float32, or None when a cell is not a plain decimal number
        (see decimal_cells)."""
        span = range(columns[0], columns[0] + len(columns))
        picked = slice(span.start, span.stop) if columns == list(span) else columns  # no copy
        ends, previous = self.ends[:, picked], self.previous[:, picked]
        values = np.empty((self.rows, len(columns)), dtype=np.float32)
        step = max(1, _SLAB_CELLS // len(columns))
        for low in range(0, self.rows, step):  # slabs of rows: each one's offsets stay in cache
            slab_ends = ends[low : low + step].ravel()
            lengths = slab_ends - previous[low : low + step].ravel() - 1
            slab = parse_float32(self.buffer, slab_ends, lengths)
            if slab is None:
                return None
            values[low : low + step] = slab.reshape(-1, len(columns))
        return values

    def _bounds(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """The column's cell starts and lengths."""
        starts = self.previous[:, column] + 1
        return starts, self.ends[:, column] - starts

    def texts(self, column: int) -> np.ndarray:
        """The column's cells as a numpy "U" array."""
        starts, lengths = self._bounds(column)
        longest = int(lengths.max())
        if longest == 0:
            return np.full(self.rows, "", dtype="<U1")
        cells = sliding_window_view(self.buffer, longest)[starts].astype(np.uint32)
        cells[np.arange(longest) >= lengths[:, None]] = 0  # "U" drops trailing NULs
        texts: np.ndarray = cells.view(f"<U{longest}").ravel()  # ASCII: bytes are code points
        return texts

    def column(self, column: int) -> TextColumn:
        """The column's cells as bytes."""
        starts, lengths = self._bounds(column)
        width = max(1, int(lengths.max()))
        return TextColumn(sliding_window_view(self.buffer, width)[starts], lengths)

    def line(self, row: int) -> str:
        """The row's text (for an error record)."""
        start = self.ends[row - 1, -1] + 1 if row else PADDING
        return self.buffer[start : self.ends[row, -1]].tobytes().decode("ascii")
