"""What a parsed block holds: the model-ready feature columns of its good rows, their pass-through
values, and the rows rejected with their physical line numbers."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class Rejected(NamedTuple):
    line: int
    reason: str
    field: str | None
    raw: str


class Chunk(NamedTuple):
    features: dict[str, np.ndarray]
    """Per feature, one value per good row: float32/64 (NaN missing) or text
    (numpy "U" or str objects; "" missing)."""
    passthrough: Any
    """CSV: one TextColumn of CSV-ready cells per pass-through column; JSON Lines: one dict
    per row."""
    rows_in: int
    rejected: list[Rejected]

    @property
    def rows(self) -> int:
        return self.rows_in - len(self.rejected)


MAX_RAW_CHARS = 1_000


def raw_text(line: str) -> str:
    return line[:MAX_RAW_CHARS]
