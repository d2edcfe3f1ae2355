"""Streaming input: S3 body -> decompressed bytes -> blocks of whole lines, bounded in size.

Nothing holds the whole object: the body is read in 1 MiB pieces, gzip is inflated
incrementally (several members allowed), and lines are cut into blocks of at most `max_rows`
lines or about `max_bytes` bytes. With `quoted=True` (CSV) a block never ends inside a quoted
field, so a record with a quoted newline stays whole.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
READ_SIZE = 1 << 20
MAX_BLOCK_ROWS = 50_000
MAX_BLOCK_BYTES = 16 << 20
MAX_RECORD_BYTES = 64 << 20
_INFLATE_STEP = 8 << 20
_NEWLINE = 10


class ReadError(ValueError):
    """The bytes cannot be read as text lines (bad gzip, not UTF-8, a runaway record)."""


class Block(NamedTuple):
    text: str
    first_line: int
    """Physical line number of the block's first line (1-based, in the decompressed file)."""


def body_chunks(body: Any, size: int = READ_SIZE) -> Iterator[bytes]:
    """Pieces of a botocore StreamingBody (or any object with read(n))."""
    iter_chunks = getattr(body, "iter_chunks", None)
    if callable(iter_chunks):
        yield from iter_chunks(size)
        return
    while piece := body.read(size):
        yield piece


def decompressed(chunks: Iterable[bytes], *, named_gzip: bool) -> tuple[bool, Iterator[bytes]]:
    """(whether the data is gzip, its inflated bytes); gzip is told by its magic bytes, and an
    object named .gz that is not gzip fails."""
    iterator = iter(chunks)
    first = b""
    for piece in iterator:
        first += piece
        if len(first) >= 2:
            break
    if first[:2] == GZIP_MAGIC:
        return True, _inflate(first, iterator)
    if named_gzip and first:
        raise ReadError("named .gz but not gzip data")
    return False, _chain(first, iterator)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _inflate(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """Inflate gzip members one after another, at most _INFLATE_STEP bytes at a time."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending: bytes | None = first
    try:
        while pending is not None:
            while pending:
                out = inflater.decompress(pending, _INFLATE_STEP)
                pending = inflater.unconsumed_tail
                if out:
                    yield out
                if inflater.eof:  # another gzip member may follow
                    pending = inflater.unused_data + pending
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    if not pending:
                        pending = next(rest, None)
                        if pending is None:
                            return
            pending = next(rest, None)
    except zlib.error as error:
        msg = f"not valid gzip data ({error})"
        raise ReadError(msg) from None
    if not inflater.eof:
        raise ReadError("the gzip data is truncated")


def line_blocks(
    data: Iterable[bytes],
    *,
    quoted: bool,
    max_rows: int = MAX_BLOCK_ROWS,
    max_bytes: int = MAX_BLOCK_BYTES,
) -> Iterator[Block]:
    """Decoded blocks of whole lines; a UTF-8 BOM at the start is dropped."""
    buffer = bytearray()
    newlines = 0  # in the buffer, counted once per piece
    line = 1
    first = True
    for piece in data:
        buffer += piece
        newlines += piece.count(b"\n")
        if first and len(buffer) >= 3:
            if buffer.startswith(b"\xef\xbb\xbf"):
                del buffer[:3]
            first = False
        if newlines < max_rows and len(buffer) < max_bytes:
            continue
        cut = _cut(buffer, quoted, max_rows, newlines)
        if cut < 0:
            if len(buffer) > MAX_RECORD_BYTES:
                msg = f"line {line}: a record longer than {MAX_RECORD_BYTES} bytes"
                raise ReadError(msg)
            continue
        chunk = bytes(buffer[: cut + 1])
        del buffer[: cut + 1]
        yield Block(_decode(chunk, line), line)
        consumed = chunk.count(b"\n")
        line += consumed
        newlines -= consumed
    if first and buffer.startswith(b"\xef\xbb\xbf"):
        del buffer[:3]
    if buffer:
        yield Block(_decode(bytes(buffer), line), line)


def _cut(buffer: bytearray, quoted: bool, max_rows: int, newlines: int) -> int:
    """Index of the newline that ends the block: the max_rows-th, or the last one, moved back
    while it sits inside a quoted field (`newlines`: how many the buffer holds)."""
    if newlines > max_rows:
        cut = int(np.flatnonzero(np.frombuffer(buffer, dtype=np.uint8) == _NEWLINE)[max_rows - 1])
    else:
        cut = buffer.rfind(b"\n")
    while quoted and cut >= 0 and buffer.count(b'"', 0, cut) % 2:
        cut = buffer.rfind(b"\n", 0, cut)
    return cut


def _decode(chunk: bytes, first_line: int) -> str:
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError as error:
        line = first_line + chunk.count(b"\n", 0, error.start)
        msg = f"line {line}: not UTF-8 text (byte {error.start} of the block)"
        raise ReadError(msg) from None
