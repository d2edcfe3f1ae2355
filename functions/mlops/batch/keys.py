"""Where a run's files go: output, errors and part-record keys (deterministic per run)."""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from typing import Literal

Format = Literal["csv", "jsonl"]
CSV_SUFFIXES = frozenset({".csv"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
GZIP_SUFFIX = ".gz"
PARTS_FOLDER = "_parts/"
ERRORS_FOLDER = "errors/"
MANIFEST_NAME = "_manifest.json"


def relative_key(key: str, input_prefix: str | None) -> str:
    """The key below the run's input prefix (the whole key when it is not under it)."""
    if input_prefix and key.startswith(input_prefix) and len(key) > len(input_prefix):
        return key[len(input_prefix) :]
    return key


def format_of(key: str) -> tuple[Format | None, bool]:
    """(format from the suffix, whether the name says gzip); format None when unknown."""
    path = PurePosixPath(key)
    suffix = path.suffix.lower()
    gzipped = suffix == GZIP_SUFFIX
    if gzipped:
        suffix = path.with_suffix("").suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv", gzipped
    if suffix in JSONL_SUFFIXES:
        return "jsonl", gzipped
    return None, gzipped


def output_key(output_prefix: str, relative: str, fmt: Format, gzipped: bool) -> str:
    """`<prefix><relative key without .gz and its format suffix>.<csv|jsonl>[.gz]`."""
    name = relative[: -len(GZIP_SUFFIX)] if relative.lower().endswith(GZIP_SUFFIX) else relative
    path = PurePosixPath(name)
    if path.suffix.lower() in CSV_SUFFIXES | JSONL_SUFFIXES:
        name = name[: -len(path.suffix)]
    return f"{output_prefix}{name}.{fmt}{GZIP_SUFFIX if gzipped else ''}"


def errors_key(output_prefix: str, relative: str) -> str:
    return f"{output_prefix}{ERRORS_FOLDER}{relative}.errors.jsonl"


def part_key(output_prefix: str, key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"{output_prefix}{PARTS_FOLDER}{digest}.json"


def manifest_key(output_prefix: str) -> str:
    return f"{output_prefix}{MANIFEST_NAME}"
