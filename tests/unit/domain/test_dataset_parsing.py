"""Reading training files into tables, and splitting them."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable

import numpy as np
import pytest

from mlops.domain.dataset import (
    DataFormatError,
    Table,
    read_table,
    split_table,
)
from mlops.domain.spec import ModelSpec

SpecFactory = Callable[..., ModelSpec]
TableFactory = Callable[..., Table]

CSV = b"""id,age,plan,income,label,comment
1,34,basic,51.5,yes,first
2,,pro,48,no,
3,NaN,,60.25,yes,x
4,51.0,team,NA,no,y
"""


def test_csv_columns_are_parsed_by_their_spec_type(make_spec: SpecFactory) -> None:
    table = read_table(CSV, "training/churn/2024.csv", make_spec())

    assert table.n_rows == 4
    assert table.names == ["age", "income", "plan", "label"]
    assert table["age"].dtype == np.float64
    np.testing.assert_array_equal(table["age"], [34.0, np.nan, np.nan, 51.0])
    np.testing.assert_array_equal(table["income"], [51.5, 48.0, 60.25, np.nan])
    assert table["plan"].dtype == object
    assert table["plan"].tolist() == ["basic", "pro", "", "team"]
    assert table["label"].tolist() == ["yes", "no", "yes", "no"]


def test_regression_targets_are_numeric(make_spec: SpecFactory) -> None:
    spec = make_spec("regression", "linear_regression")

    table = read_table(CSV.replace(b"yes", b"1.5").replace(b"no", b"2"), "d.csv", spec)

    np.testing.assert_array_equal(table["label"], [1.5, 2.0, 1.5, 2.0])


def test_json_lines_with_nulls_absent_keys_and_numbers_as_categories(
    make_spec: SpecFactory,
) -> None:
    lines = [
        {"age": 30, "income": 40.5, "plan": "pro", "label": "yes", "extra": [1, 2]},
        {"age": None, "income": 41, "plan": 3, "label": "no"},
        {"income": "42.5", "plan": 3.0, "label": True},
        {"age": 1e3, "income": 0, "label": "no"},
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode() + b"\n\n"

    table = read_table(data, "training/churn/part.jsonl", make_spec())

    np.testing.assert_array_equal(table["age"], [30.0, np.nan, np.nan, 1000.0])
    np.testing.assert_array_equal(table["income"], [40.5, 41.0, 42.5, 0.0])
    assert table["plan"].tolist() == ["pro", "3", "3", ""]
    assert table["label"].tolist() == ["yes", "no", "true", "no"]


@pytest.mark.parametrize("key", ["training/churn/data.csv.gz", "training/churn/data.csv"])
def test_gzipped_files_are_read_by_suffix_or_magic_bytes(make_spec: SpecFactory, key: str) -> None:
    data = gzip.compress(CSV)

    table = read_table(data, key, make_spec())

    assert table.n_rows == 4
    assert table["plan"].tolist() == ["basic", "pro", "", "team"]


@pytest.mark.parametrize(
    ("data", "key", "expected"),
    [
        (b"", "d.csv", "the file is empty"),
        (b"  \n\n", "d.jsonl", "the file is empty"),
        (gzip.compress(b""), "d.csv.gz", "the file is empty"),
        (b"age,plan,label\n1,a,yes\n", "d.csv", "the header lacks 'income'"),
        (b"age,income,plan,label\n1,2,a,yes\n7,seven,b,no\n", "d.csv", "column 'income', row 2"),
        (b"age,income,plan,label\n1,2,a,yes\n1,2,b\n", "d.csv", "row 2: has 3 fields"),
        (b"age,income,plan,label\ninf,2,a,yes\n", "d.csv", "'inf' is not a finite number"),
        (b'{"age":1,"income":2,"plan":"a","label":"y"}\n{"age":\n', "d.jsonl", "row 2: not valid"),
        (b'{"age":1,"income":2,"plan":"a","label":"y"}\n[1]\n', "d.jsonl", "row 2: expected"),
        (b'{"age":1,"income":2,"plan":"a"}\n', "d.jsonl", "no record has 'label'"),
        (b'{"age":"x","income":2,"plan":"a","label":"y"}\n', "d.jsonl", "column 'age', row 1"),
        (b'{"age":true,"income":2,"plan":"a","label":"y"}\n', "d.jsonl", "True is not a number"),
        (b'{"age":1,"income":2,"plan":{"a":1},"label":"y"}\n', "d.jsonl", "is not a category"),
        (b"age,income\n1,2\n", "d.parquet", "unsupported format '.parquet'"),
        (b"\x1f\x8bnot really gzip", "d.csv.gz", "not a valid gzip file"),
        (b"\xff\xfe\x00a", "d.csv", "not UTF-8 text"),
    ],
)
def test_unreadable_files_raise_a_precise_error(
    make_spec: SpecFactory, data: bytes, key: str, expected: str
) -> None:
    with pytest.raises(DataFormatError) as raised:
        read_table(data, key, make_spec())

    assert expected in str(raised.value)


def test_a_format_error_carries_the_field_and_row(make_spec: SpecFactory) -> None:
    data = b"age,income,plan,label\n1,2,a,yes\n3,4,b,no\n5,lots,c,no\n"

    with pytest.raises(DataFormatError) as raised:
        read_table(data, "d.csv", make_spec())

    assert (raised.value.field, raised.value.row) == ("income", 3)
    assert str(raised.value) == "column 'income', row 3: 'lots' is not a number"


def test_split_is_deterministic_disjoint_and_complete(make_table: TableFactory) -> None:
    table = make_table("regression", n=101)
    table = Table({**table.columns, "row": np.arange(101, dtype=np.float64)}, 101)

    train, holdout = split_table(table, 0.2, seed=7)
    again_train, again_holdout = split_table(table, 0.2, seed=7)
    _, other_holdout = split_table(table, 0.2, seed=8)

    assert holdout.n_rows == 20
    assert train.n_rows == 81
    assert sorted(train["row"].tolist() + holdout["row"].tolist()) == list(range(101))
    assert holdout["row"].tolist() == again_holdout["row"].tolist()
    assert train["row"].tolist() == again_train["row"].tolist()
    assert holdout["row"].tolist() != other_holdout["row"].tolist()


def test_split_is_stratified_for_classes(make_table: TableFactory) -> None:
    labels = np.array(["a"] * 80 + ["b"] * 20, dtype=object)
    table = Table({"label": labels, "x": np.arange(100, dtype=np.float64)}, 100)

    train, holdout = split_table(table, 0.25, seed=1, stratify_by=labels)

    assert sorted(holdout["label"].tolist()) == ["a"] * 20 + ["b"] * 5
    assert sorted(train["label"].tolist()) == ["a"] * 60 + ["b"] * 15


def test_a_class_seen_once_stays_in_the_training_set() -> None:
    labels = np.array(["a"] * 9 + ["b"], dtype=object)
    table = Table({"label": labels}, 10)

    train, holdout = split_table(table, 0.2, seed=3, stratify_by=labels)

    assert holdout["label"].tolist() == ["a", "a"]
    assert sorted(train["label"].tolist()) == ["a"] * 7 + ["b"]


def test_all_singleton_classes_fall_back_to_a_random_split() -> None:
    labels = np.array(list("abcde"), dtype=object)

    train, holdout = split_table(Table({"label": labels}, 5), 0.2, seed=3, stratify_by=labels)

    assert (train.n_rows, holdout.n_rows) == (4, 1)


def test_split_refuses_a_single_row() -> None:
    with pytest.raises(ValueError, match="cannot split 1 row"):
        split_table(Table({"x": np.array([1.0])}, 1), 0.2, seed=1)


def test_a_header_without_rows_is_an_empty_table(make_spec: SpecFactory) -> None:
    table = read_table(b"label,plan,income,age\n", "d.csv", make_spec())

    assert table.n_rows == 0
    assert table["age"].dtype == np.float64


def test_text_codes_follow_first_appearance_and_are_computed_once() -> None:
    table = Table({"plan": np.array(["pro", "basic", "pro", ""], dtype=object)}, 4)

    codes, distinct = table.text_codes("plan")

    assert distinct == ["pro", "basic", ""]
    assert codes.tolist() == [0, 1, 0, 2]
    assert table.text_codes("plan") is table.text_codes("plan")
