"""float32 -> text, vectorised: numpy's own strings (the shortest digits that read back to the
same float32) from array arithmetic instead of one Dragon4 call per value, as a TextColumn
(bytes: no Python string per value).

For each value, the fewest significant digits (1 to 9) whose correctly rounded decimal reads
back to the value are found by a binary search (reading back is monotone in the number of
digits: a shorter decimal is also a longer one); a read-back is one exact multiply or divide
by a power of ten, as a parser's fast path does. The digits are then laid out as numpy writes
float32 values: positionally from 1e-4 to 1e6 ("0.5", "1.0", "0.00012345", "123456.0"), in
scientific notation from 1e-13 to 1e-4 and from 1e6 to 1e13 ("1e-05", "-2.5e-07", "1.5e+06").
Zero, values beyond those, infinities and NaN are left to numpy (`astype(str)`), so every
string is numpy's.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mlops.batch.decimal_cells import POWERS_OF_TEN
from mlops.batch.text_column import TextColumn

_LOW, _HIGH = 1e-4, 1e6  # numpy writes a float32 positionally from 1e-4 up to 1e6
_SMALLEST, _LARGEST = 1e-13, 1e13  # outside: powers of ten beyond 10**22 in the read-back
_DIGITS = 9  # enough for any float32
_INTEGER_POWERS = 10 ** np.arange(_DIGITS + 1, dtype=np.int64)
_PAD_LEFT = 5  # zeros before the 9 digits: "0.0001"; those after them go up to 999999.0
_WIDEST = len("-0.000123456789")
_ZERO, _DOT, _MINUS, _PLUS, _E = (ord(c) for c in "0.-+e")


def float32_column(values: np.ndarray) -> TextColumn:
    """The text of each value as numpy's `str` of a float32 gives it."""
    values = np.asarray(values, dtype=np.float32)
    if len(values) == 0:
        return TextColumn.of([])
    with np.errstate(invalid="ignore"):  # a signalling NaN: left to numpy
        size = np.abs(values).astype(np.float64)
    positional = (size >= _LOW) & (size < _HIGH)
    if positional.all():
        return _layout(*_shortest(values), np.signbit(values))
    scientific = ~positional & (size >= _SMALLEST) & (size < _LARGEST)
    parts = []
    for rows, layout in ((positional, _layout), (scientific, _scientific_layout)):
        if rows.any():
            where = np.flatnonzero(rows)
            parts.append((where, layout(*_shortest(values[where]), np.signbit(values[where]))))
    others = np.flatnonzero(~(positional | scientific))
    if len(others):
        parts.append((others, TextColumn.of(values[others].astype(str).tolist())))
    return TextColumn.merged(len(values), parts)


def _shortest(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per value (1e-13 <= |value| < 1e13), the fewest significant digits that read back to it,
    as an integer without trailing zeros, and the power of ten of its last digit."""
    target = np.abs(values)
    size = target.astype(np.float64)
    leading = np.floor(np.log10(size)).astype(np.int64)  # the leading digit's power of ten
    leading += size >= _power(leading + 1)
    leading -= size < _power(leading)
    low = np.ones(len(values), dtype=np.int64)
    high = np.full(len(values), _DIGITS, dtype=np.int64)
    while (low < high).any():
        middle = (low + high) >> 1
        fits = _reads_back(size, leading - middle + 1, target)
        high = np.where(fits, middle, high)
        low = np.where(fits, low, middle + 1)
    last = leading - high + 1  # the power of ten of the last significant digit
    mantissa = _rounded(size, last)
    while (round_ten := mantissa % 10 == 0).any():  # rounded up to a power of ten
        mantissa = np.where(round_ten, mantissa // 10, mantissa)
        last = last + round_ten
    return mantissa, last


def _power(exponent: np.ndarray) -> np.ndarray:
    """10.0**exponent, correctly rounded (|exponent| <= 22)."""
    scale = POWERS_OF_TEN[np.abs(exponent)]
    power: np.ndarray = np.where(exponent >= 0, scale, 1.0 / scale)
    return power


def _rounded(size: np.ndarray, last: np.ndarray) -> np.ndarray:
    """`size` rounded to a multiple of 10**last, in units of 10**last."""
    scale = POWERS_OF_TEN[np.abs(last)]
    units: np.ndarray = np.rint(np.where(last >= 0, size / scale, size * scale))
    return units.astype(np.int64)


def _reads_back(size: np.ndarray, last: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Whether `size` rounded at 10**last reads back (a double, then float32) as `target`."""
    scale = POWERS_OF_TEN[np.abs(last)]
    mantissa = np.rint(np.where(last >= 0, size / scale, size * scale))
    value = np.where(last >= 0, mantissa * scale, mantissa / scale)
    same: np.ndarray = value.astype(np.float32) == target
    return same


def _layout(mantissa: np.ndarray, last: np.ndarray, negative: np.ndarray) -> TextColumn:
    """`[-]integer.fraction`: each a window of its digits padded with zeros
    ("000001234500000..."), cut at the units digit for the dot."""
    count = len(mantissa)
    digits_end = _PAD_LEFT + _DIGITS  # the row: zeros, 9 digits, zeros
    padded = np.full((count, digits_end + _WIDEST), _ZERO, dtype=np.uint8)
    rest = mantissa
    for position in range(digits_end - 1, digits_end - 1 - _DIGITS, -1):
        rest, digit = np.divmod(rest, 10)
        padded[:, position] = _ZERO + digit
    significant = np.searchsorted(_INTEGER_POWERS, mantissa, side="right")
    units = digits_end - 1 + last  # column of the units digit
    first = np.minimum(digits_end - significant, units) - negative  # "0" first when below 1
    signed = np.flatnonzero(negative)
    padded[signed, first[signed]] = _MINUS  # just before the first digit (there is room)
    dot = units + 1 - first  # the dot's column in the text
    length = dot + 1 + np.maximum(digits_end - 1 - units, 1)
    width = int(length.max())
    windows = sliding_window_view(padded.ravel(), width)
    text = windows[np.arange(count) * padded.shape[1] + first]  # the digits, no dot yet
    after_dot = np.empty_like(text)
    after_dot[:, 1:] = text[:, :-1]
    column = np.arange(width, dtype=np.int8)[None, :]
    dot_column = dot.astype(np.int8)[:, None]
    chars = np.where(column > dot_column, after_dot, text)
    chars[column == dot_column] = _DOT
    return TextColumn(chars, length)


def _scientific_layout(mantissa: np.ndarray, last: np.ndarray, negative: np.ndarray) -> TextColumn:
    """`[-]d[.ddd]e(+|-)XX`: the digits left-aligned after an optional minus, a dot after the
    first one when there are more, then the exponent."""
    count = len(mantissa)
    significant = np.searchsorted(_INTEGER_POWERS, mantissa, side="right")
    exponent = last + significant - 1
    row = 2 + _DIGITS  # a minus, the first digit, the dot, the other digits
    chars = np.empty((count, row + 5), dtype=np.uint8)  # room for a window from column 1
    chars[:, 0] = _MINUS
    rest = mantissa * _INTEGER_POWERS[_DIGITS - significant]  # the digits left-aligned
    for position in range(row - 1, 2, -1):
        rest, digit = np.divmod(rest, 10)
        chars[:, position] = _ZERO + digit
    chars[:, 1] = _ZERO + rest
    chars[:, 2] = _DOT
    end = np.where(significant > 1, significant + 2, 2)  # the dot is dropped with one digit
    size = np.abs(exponent)
    tail = np.stack([np.full(count, _E), np.where(exponent < 0, _MINUS, _PLUS),
                     _ZERO + size // 10, _ZERO + size % 10], axis=1)  # fmt: skip
    rows = np.arange(count)
    for offset in range(4):
        chars[rows, end + offset] = tail[:, offset]
    first = 1 - negative.astype(np.int64)
    text = sliding_window_view(chars.ravel(), row + 4)[rows * chars.shape[1] + first]
    return TextColumn(text, end + 4 - first)
