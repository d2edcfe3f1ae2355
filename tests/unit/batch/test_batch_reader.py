"""Streaming input: blocks stay bounded, lines keep their physical numbers, gzip inflates
incrementally (several members too), and CSV blocks never split a quoted field."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest

from mlops.batch.csv_format import CsvLayout, parse_csv, split_header
from mlops.batch.reader import ReadError, body_chunks, decompressed, line_blocks
from mlops.registry.enums import FeatureType
from mlops.serving.validation import RecordValidator


class _Feature:
    def __init__(self, name: str, kind: FeatureType, categories: list[str] | None = None) -> None:
        self.name, self.type, self.categories = name, kind, categories


RULES = RecordValidator(
    [_Feature("x", FeatureType.NUMERIC), _Feature("c", FeatureType.CATEGORICAL, ["a", "b"])],
    {"features": [{"name": "c", "unknown_category": "reject"}]},
).rules


def _pieces(data: bytes, size: int = 7) -> list[bytes]:
    return list(body_chunks(io.BytesIO(data), size))


def test_blocks_are_bounded_and_numbered_by_physical_line() -> None:
    text = "".join(f"{i}\n" for i in range(1, 101)).encode()
    blocks = list(line_blocks(_pieces(text), quoted=False, max_rows=30))
    assert [b.first_line for b in blocks] == [1, 31, 61, 91]
    assert all(b.text.count("\n") <= 30 for b in blocks)
    assert "".join(b.text for b in blocks) == text.decode()


def test_a_quoted_line_break_never_splits_a_record() -> None:
    text = ('h\n"a\nb"\n' * 20).encode()
    blocks = list(line_blocks(_pieces(text, 3), quoted=True, max_rows=2))
    assert all(b.text.count('"') % 2 == 0 for b in blocks)
    assert "".join(b.text for b in blocks) == text.decode()


def test_a_piece_of_many_lines_is_cut_into_several_blocks() -> None:
    # Given one piece holding more than three blocks' worth of lines, then small pieces
    text = "".join(f"{i}\n" for i in range(1, 101)).encode()
    pieces = [text[:250], *_pieces(text[250:], 5)]
    # When it is cut into blocks of at most 20 lines
    blocks = list(line_blocks(pieces, quoted=True, max_rows=20))
    # Then every block is whole lines, numbered by the line it starts on
    assert all(b.text.count("\n") <= 20 for b in blocks)
    assert [b.first_line for b in blocks] == [1 + sum(x.text.count("\n") for x in blocks[:i])
                                              for i in range(len(blocks))]  # fmt: skip
    assert "".join(b.text for b in blocks) == text.decode()


def test_a_quote_in_a_later_piece_still_keeps_its_record_whole() -> None:
    text = ("a\n" * 9 + 'x,"multi\nline"\n' + "b\n" * 9).encode()
    blocks = list(line_blocks(_pieces(text, 4), quoted=True, max_rows=10))
    assert all(b.text.count('"') % 2 == 0 for b in blocks)
    assert "".join(b.text for b in blocks) == text.decode()


def test_gzip_members_inflate_one_after_another_and_truncation_fails() -> None:
    data = gzip.compress(b"a\nb\n") + gzip.compress(b"c\n")
    gzipped, out = decompressed(_pieces(data, 5), named_gzip=True)
    assert gzipped
    assert b"".join(out) == b"a\nb\nc\n"
    _, broken = decompressed(_pieces(data[:-12]), named_gzip=False)
    with pytest.raises(ReadError, match="truncated"):
        b"".join(broken)


def test_named_gzip_that_is_not_gzip_and_bad_utf8_are_read_errors() -> None:
    with pytest.raises(ReadError, match="not gzip"):
        decompressed([b"plain"], named_gzip=True)
    with pytest.raises(ReadError, match="line 2: not UTF-8"):
        list(line_blocks([b"ok\n\xff\n"], quoted=False))


def test_fast_and_exact_csv_paths_agree() -> None:
    # Given the same rows without and with a quoted id
    plain = "id,x,c\n1,1.5,a\n2,-3,b\n3,7e-3,a\n"
    quoted = plain.replace("1,1.5", '"1",1.5')
    results = []
    for text in (plain, quoted):
        header, rest = split_header(next(line_blocks([text.encode()], quoted=True)))
        results.append(parse_csv(rest, CsvLayout(header, RULES)))
    fast, exact = results
    # (the fast path parses to float32, the exact one to float64: the model sees the same)
    assert np.array_equal(fast.features["x"], exact.features["x"].astype(np.float32))
    assert fast.features["c"].tolist() == exact.features["c"].tolist() == ["a", "b", "a"]
    assert [c.texts() for c in fast.passthrough] == [["1", "2", "3"]]
    assert [c.texts() for c in exact.passthrough] == [["1", "2", "3"]]


def test_unknown_categories_are_rejected_when_the_spec_says_so() -> None:
    header, rest = split_header(next(line_blocks([b"id,x,c\n1,1,a\n2,2,zz\n3,,\n"], quoted=True)))
    chunk = parse_csv(rest, CsvLayout(header, RULES))
    assert chunk.rows_in == 3
    assert [(r.line, r.field, r.reason) for r in chunk.rejected] == [
        (3, "c", "unknown category 'zz'")
    ]
    assert np.isnan(chunk.features["x"][1])
    assert chunk.features["c"].tolist() == ["a", ""]


def test_the_fast_path_reports_float32_limits_and_unknown_categories_as_online() -> None:
    # Given complete, unquoted rows (the numpy path) with values at float32's limits
    text = b"id,x,c\n1,1e39,a\n2,inf,a\n3,3.4028235e38,b\n4,-3.4028234e38,b\n5,2,zz\n6,2,a\n"
    header, rest = split_header(next(line_blocks([text], quoted=True)))
    # When the block is parsed
    chunk = parse_csv(rest, CsvLayout(header, RULES))
    # Then each bad row has the online API's reason, and the rest are kept
    assert [(r.line, r.field, r.reason) for r in chunk.rejected] == [
        (2, "x", "is out of the float32 range"),
        (3, "x", "must be a finite number"),
        (4, "x", "is out of the float32 range"),
        (6, "c", "unknown category 'zz'"),
    ]
    assert [c.texts() for c in chunk.passthrough] == [["4", "6"]]
    kept = np.array([-3.4028234e38, 2.0], dtype=np.float32)
    assert np.array_equal(chunk.features["x"].astype(np.float32), kept)
    assert chunk.features["c"].tolist() == ["b", "a"]


def test_a_header_without_the_features_is_a_read_error() -> None:
    with pytest.raises(ReadError, match="lacks 'c'"):
        CsvLayout(["id", "x"], RULES)
