"""Plain-text output for CLI commands: aligned tables, key/value blocks, JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any


def write(text: str) -> None:
    sys.stdout.write(text + "\n")


def write_json(document: Any) -> None:
    write(json.dumps(document, indent=2, sort_keys=True))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; `(none)` for no rows."""
    if not rows:
        return "(none)"
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


def fields(pairs: Sequence[tuple[str, str]]) -> str:
    """`key:  value` lines, values aligned."""
    width = max(len(key) for key, _ in pairs) + 2
    return "\n".join(f"{key + ':':<{width}}{value}" for key, value in pairs)


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def number(value: float) -> str:
    return f"{value:.4g}"
