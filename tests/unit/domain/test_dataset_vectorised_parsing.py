"""The vectorised numeric parse reads every cell exactly as the cell-by-cell rules say.

Numeric cells are converted by numpy in one go; the per-cell scan only runs to locate a bad
value. These tests compare whole columns against the per-cell rules written out here:
whitespace is ignored, "", "NA", "N/A", "NaN", "null" and "none" (any case) are missing,
anything Python's float() reads is a number, and infinities are refused.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlops.domain.dataset import DataFormatError, read_table
from mlops.domain.spec import ModelSpec

SpecFactory = Callable[..., ModelSpec]

MISSING = {"", "na", "nan", "null", "none", "n/a"}
TRICKY_CELLS = [
    "", " ", "NA", "n/a", "None", "NULL", " NaN ", "-nan", "+nan", "inf", "-Infinity", "1e400",
    "-1e400", "1_000", "0x10", "1,5", "1 2", "\u0663", "\u3000", " 7 ", "\t8\t", "1e-400", "abc",
    ".5", "5.", "+3", "-0", "1E3",
]  # fmt: skip


def expected_cell(cell: str) -> float | str:
    """The per-cell rule: a float (NaN when missing), or the error message for the cell."""
    text = cell.strip()
    if text.lower() in MISSING:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        return f"{cell!r} is not a number"
    return f"{cell!r} is not a finite number" if math.isinf(value) else value


def csv_with_age(cells: list[str]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["age", "income", "plan", "label"])
    writer.writerows([cell, "1", "a", "yes"] for cell in cells)
    return out.getvalue().encode()


def assert_parsed_like_the_cell_rules(cells: list[str], spec: ModelSpec) -> None:
    expected = [expected_cell(cell) for cell in cells]
    errors = [(row, text) for row, text in enumerate(expected, start=1) if isinstance(text, str)]
    if errors:
        with pytest.raises(DataFormatError) as raised:
            read_table(csv_with_age(cells), "d.csv", spec)
        row, message = errors[0]
        assert (raised.value.field, raised.value.row, raised.value.reason) == ("age", row, message)
    else:
        table = read_table(csv_with_age(cells), "d.csv", spec)
        np.testing.assert_array_equal(table["age"], np.array(expected, dtype=np.float64))


cell_text = st.one_of(
    st.sampled_from(TRICKY_CELLS),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cells=st.lists(cell_text, min_size=1, max_size=30))
@example(cells=["1", "", "2.5", "NA"])
@example(cells=["1", "2", "inf", "x"])
@example(cells=["1", "x", "inf"])
@example(cells=["\u3000", "\u0663", "1_0"])
def test_csv_numeric_columns_follow_the_cell_rules(
    make_spec: SpecFactory, cells: list[str]
) -> None:
    assert_parsed_like_the_cell_rules(cells, make_spec())


def test_a_large_clean_column_is_parsed_whole(make_spec: SpecFactory) -> None:
    # Given 5,000 rows, a few of them missing in every spelling
    rng = np.random.default_rng(3)
    values = rng.normal(0, 1e6, 5_000)
    cells = [repr(value) for value in values.tolist()]
    spellings = [*sorted(MISSING), "  ", "NA", "N/A", "NaN"]
    for index, spelling in zip(range(0, 5_000, 500), spellings, strict=True):
        cells[index] = spelling
        values[index] = np.nan

    # When it is read, then every value round-trips exactly
    table = read_table(csv_with_age(cells), "d.csv", make_spec())
    np.testing.assert_array_equal(table["age"], values)


def test_the_first_bad_cell_is_reported_even_after_missing_values(
    make_spec: SpecFactory,
) -> None:
    cells = ["1"] * 2_000 + [""] * 10 + ["2"] * 2_000 + ["1e999"] + ["oops"] * 3

    with pytest.raises(DataFormatError) as raised:
        read_table(csv_with_age(cells), "d.csv", make_spec())

    assert str(raised.value) == "column 'age', row 4011: '1e999' is not a finite number"


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        ([1, None, 2.5, 7], [1.0, math.nan, 2.5, 7.0]),
        ([1, "2.5", None, " NA "], [1.0, 2.5, math.nan, math.nan]),
        (["3", "", "4e2"], [3.0, math.nan, 400.0]),
        ([float("nan"), 1], [math.nan, 1.0]),
    ],
)
def test_json_numbers_strings_and_nulls_follow_the_cell_rules(
    make_spec: SpecFactory, age: list[object], expected: list[float]
) -> None:
    data = "\n".join(
        json.dumps({"age": value, "income": 1, "plan": "a", "label": "y"}) for value in age
    ).encode()

    table = read_table(data, "d.jsonl", make_spec())

    np.testing.assert_array_equal(table["age"], expected)


@pytest.mark.parametrize(
    ("age", "message"),
    [
        ("10" + "0" * 400, "column 'age', row 2: 1" + "0" * 401 + " is not a finite number"),
        ("Infinity", "column 'age', row 2: inf is not a finite number"),
        ("false", "column 'age', row 2: False is not a number"),
        ("[1]", "column 'age', row 2: [1] is not a number"),
    ],
)
def test_json_values_that_are_not_finite_numbers_are_refused(
    make_spec: SpecFactory, age: str, message: str
) -> None:
    data = (
        b'{"age": 1, "income": 1, "plan": "a", "label": "y"}\n'
        + f'{{"age": {age}, "income": 1, "plan": "a", "label": "y"}}\n'.encode()
    )

    with pytest.raises(DataFormatError) as raised:
        read_table(data, "d.jsonl", make_spec())

    assert str(raised.value) == message


def test_json_lines_with_two_objects_on_one_line_are_refused(make_spec: SpecFactory) -> None:
    record = '{"age": 1, "income": 1, "plan": "a", "label": "y"}'
    data = f"{record}\n{record},{record}\n".encode()

    with pytest.raises(DataFormatError, match="row 2: not valid JSON"):
        read_table(data, "d.jsonl", make_spec())


def test_parsing_leaves_the_garbage_collector_as_it_found_it(make_spec: SpecFactory) -> None:
    assert gc.isenabled()
    read_table(csv_with_age(["1", "2"]), "d.csv", make_spec())
    assert gc.isenabled()
    with pytest.raises(DataFormatError):
        read_table(csv_with_age(["1", "x"]), "d.csv", make_spec())
    assert gc.isenabled()

    gc.disable()
    try:
        read_table(csv_with_age(["1", "2"]), "d.csv", make_spec())
        assert not gc.isenabled()
    finally:
        gc.enable()
