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
    first = _head(iterator, len(GZIP_MAGIC))
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
    """Decoded blocks of whole lines; a UTF-8 BOM at the start is dropped.

    The pieces are joined once per block; each byte is counted for newlines once, and for
    quotes only when the block holds one."""
    pending = _Pending(quoted)
    line = 1
    for piece in _without_bom(data):
        pending.add(piece)
        if pending.newlines < max_rows and pending.size < max_bytes:
            continue
        buffer = pending.joined()
        cut, consumed = _cut(buffer, pending, max_rows)
        if cut < 0:
            if len(buffer) > MAX_RECORD_BYTES:
                msg = f"line {line}: a record longer than {MAX_RECORD_BYTES} bytes"
                raise ReadError(msg)
            continue
        with memoryview(buffer) as view:
            text = _decode(view[: cut + 1], line)
            pending.restart(bytes(view[cut + 1 :]), pending.newlines - consumed)
        yield Block(text, line)
        line += consumed
    if pending.size:
        with memoryview(pending.joined()) as view:
            yield Block(_decode(view, line), line)


class _Pending:
    """Bytes read but not yet in a block: the pieces, their size, newlines and quotes."""

    def __init__(self, quoted: bool) -> None:
        self.quoted = quoted  # whether quotes matter (CSV)
        self.restart(b"", 0)

    def restart(self, rest: bytes, newlines: int) -> None:
        self.pieces = [rest] if rest else []
        self.size = len(rest)
        self.newlines = newlines
        self.quotes = self.quoted and b'"' in rest
        self.last_start, self.newlines_before_last = 0, 0

    def add(self, piece: bytes) -> None:
        self.last_start, self.newlines_before_last = self.size, self.newlines
        self.pieces.append(piece)
        self.size += len(piece)
        self.newlines += piece.count(b"\n")
        self.quotes = self.quotes or (self.quoted and b'"' in piece)

    def joined(self) -> bytes:
        buffer = b"".join(self.pieces)
        self.pieces = [buffer]
        return buffer


def _without_bom(data: Iterable[bytes]) -> Iterator[bytes]:
    iterator = iter(data)
    yield _head(iterator, 3).removeprefix(b"\xef\xbb\xbf")
    yield from iterator


def _head(pieces: Iterator[bytes], size: int) -> bytes:
    """The first pieces, joined, until they hold `size` bytes (or the data ends)."""
    head = b""
    for piece in pieces:
        head += piece
        if len(head) >= size:
            break
    return head


def _cut(buffer: bytes, pending: _Pending, max_rows: int) -> tuple[int, int]:
    """(index of the newline that ends the block, newlines up to it): the max_rows-th, or the
    last one, moved back while it sits inside a quoted field. Only the last piece is searched
    for the max_rows-th when the newlines before it are fewer."""
    if pending.newlines > max_rows:
        start, preceding = pending.last_start, pending.newlines_before_last
        if preceding >= max_rows:
            start, preceding = 0, 0
        with memoryview(buffer) as view:
            found = np.flatnonzero(np.frombuffer(view[start:], dtype=np.uint8) == _NEWLINE)
        cut, consumed = start + int(found[max_rows - 1 - preceding]), max_rows
    else:
        cut, consumed = buffer.rfind(b"\n"), pending.newlines
    if pending.quotes and cut >= 0 and buffer.count(b'"', 0, cut) % 2:
        while cut >= 0 and buffer.count(b'"', 0, cut) % 2:
            cut = buffer.rfind(b"\n", 0, cut)
        consumed = buffer.count(b"\n", 0, cut + 1)
    return cut, consumed


def _decode(chunk: memoryview, first_line: int) -> str:
    try:
        return str(chunk, "utf-8")
    except UnicodeDecodeError as error:
        line = first_line + chunk[: error.start].tobytes().count(b"\n")
        msg = f"line {line}: not UTF-8 text (byte {error.start} of the block)"
        raise ReadError(msg) from None
