"""The vectorised decimal parser gives, bit for bit, what numpy's loadtxt gives (the correctly
rounded double, rounded to float32), and refuses whatever is not a plain decimal number."""

from __future__ import annotations

import numpy as np
import pytest

from mlops.batch.decimal_cells import MAX_WIDTH, PADDING, parse_float32


def _parse(cells: list[str]) -> np.ndarray | None:
    data = ",".join(cells).encode()
    buffer = np.frombuffer(b"\0" * PADDING + data + b"\n" + b"\0" * 8, dtype=np.uint8)
    lengths = np.array([len(cell) for cell in cells], dtype=np.int64)
    ends = PADDING + np.cumsum(lengths + 1).astype(np.int64) - 1
    return parse_float32(buffer, ends, lengths)


def _expected(cells: list[str]) -> np.ndarray:
    return np.loadtxt([",".join(cells)], delimiter=",", dtype=np.float32, ndmin=1)


def _bits(values: np.ndarray) -> list[int]:
    return values.view(np.uint32).tolist()


def _cells(kind: str, count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=count) * 10.0 ** rng.integers(-12, 12, size=count)
    if kind == "shortest":
        return [repr(float(value)) for value in values]
    if kind == "integers":
        return [str(int(value * 1e3) % 10**15) for value in values]
    return [kind % value for value in values]


@pytest.mark.parametrize("kind", ["%.6g", "%.17g", "%.3f", "%.9e", "%.2E", "shortest", "integers"])
def test_matches_loadtxt_bit_for_bit(kind: str) -> None:
    # Given 20,000 cells written one way (more than one pass of the parser)
    cells = _cells(kind, 20_000, seed=len(kind))
    # When they are parsed, then every float32 equals loadtxt's, to the bit
    parsed = _parse(cells)
    assert parsed is not None
    assert _bits(parsed) == _bits(_expected(cells))


def test_every_spelling_of_the_grammar() -> None:
    cells = ["1", "-1", "+1", "1.5", "-0.0", "0", ".5", "5.", "-.5", "1e5", "1E-5", "1e+05",
             "-1.25e+10", "007.50", "0.000000000000000000001", "123456789012345678",
             "9007199254740993", "3.4028234e38", "1.1754944e-38", "1.5e-07"]  # fmt: skip
    parsed = _parse(cells)
    assert parsed is not None
    assert _bits(parsed) == _bits(_expected(cells))


def test_decimals_next_to_a_float32_midpoint_round_as_loadtxt() -> None:
    # Given decimals within a few units (of a double) of the midpoints between float32 values:
    # the inexact cases, which are parsed again one by one
    rng = np.random.default_rng(7)
    low = rng.random(2_000).astype(np.float32) + np.float32(1)
    high = np.nextafter(low, np.float32(2))
    middle = (low.astype(np.float64) + high.astype(np.float64)) / 2
    nudged = [np.nextafter(middle, 0), middle, np.nextafter(middle, 4)]
    cells = [f"{value:.17g}" for values in nudged for value in values] + [
        f"{value:.25f}"[:20] for value in middle
    ]
    # When they are parsed, then each rounds as the correctly rounded double does
    parsed = _parse(cells)
    assert parsed is not None
    assert _bits(parsed) == _bits(_expected(cells))


@pytest.mark.parametrize(
    "cell",
    ["", "abc", "1e", "--1", "+-1", "1.2.3", "1e1e1", "1e5.5", ".", "-", "e5", "inf", "nan",
     " 1", "1 ", "1_0", "0x1f", "1,5", "1e1234", "12345678901234567890",
     "1" * (MAX_WIDTH + 1), "3.5e38", "-1e39", "1e-40"],
)  # fmt: skip
def test_anything_else_is_refused(cell: str) -> None:
    # Not a plain decimal, too many digits, or at float32's limits: the caller's general path
    assert _parse(["1.5", cell, "2"]) is None


def test_no_cells() -> None:
    parsed = parse_float32(np.zeros(PADDING, dtype=np.uint8), np.empty(0, np.int64),
                           np.empty(0, np.int64))  # fmt: skip
    assert parsed is not None
    assert parsed.shape == (0,)
