"""Data validation: each check catches what it should, and the report says why."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mlops.domain.dataset import Table
from mlops.domain.spec import ModelSpec
from mlops.domain.validation import ValidationReport, validate_bytes, validate_table

SpecFactory = Callable[..., ModelSpec]
TableFactory = Callable[..., Table]


def check(report: ValidationReport, name: str) -> bool:
    return next(item.passed for item in report.checks if item.name == name)


def replace(table: Table, **columns: np.ndarray) -> Table:
    return Table({**table.columns, **columns}, table.n_rows)


def test_good_data_passes_every_check(make_spec: SpecFactory, make_table: TableFactory) -> None:
    report = validate_table(make_table("binary", n=200), make_spec())

    assert report.valid
    assert report.reason is None
    assert report.rows == 200
    assert {item.name for item in report.checks} == {
        "min_rows",
        "label_present",
        "label_not_constant",
        "binary_classes",
        "min_class_count",
        "missing_rate",
        "duplicate_rate",
    }
    assert all(item.passed for item in report.checks)
    assert set(report.label_counts or {}) == {"yes", "no"}
    assert sum((report.label_counts or {}).values()) == 200
    assert 0.03 < report.missing_rates["age"] < 0.2
    assert report.missing_rates["income"] == 0.0


def test_too_few_rows(make_spec: SpecFactory, make_table: TableFactory) -> None:
    report = validate_table(make_table("binary", n=10), make_spec())

    assert not report.valid
    assert report.reason == "min_rows: 10 rows (minimum 20)"


def test_a_constant_label_is_refused(make_spec: SpecFactory, make_table: TableFactory) -> None:
    table = make_table("binary", n=100)
    table = replace(table, label=np.full(100, "yes", dtype=object))

    report = validate_table(table, make_spec())

    assert not report.valid
    assert not check(report, "label_not_constant")
    assert report.reason == "label_not_constant: target 'label' has 1 class(es): 'yes'=100"


def test_a_constant_regression_target_is_refused(
    make_spec: SpecFactory, make_table: TableFactory
) -> None:
    table = replace(make_table("regression", n=100), label=np.full(100, 3.5))

    report = validate_table(table, make_spec("regression", "linear_regression"))

    assert not check(report, "label_not_constant")
    assert report.label_counts is None


def test_missing_labels_above_the_threshold(
    make_spec: SpecFactory, make_table: TableFactory
) -> None:
    table = make_table("binary", n=100)
    labels = table["label"].copy()
    labels[:40] = ""

    report = validate_table(replace(table, label=labels), make_spec())

    assert not report.valid
    assert (
        report.reason == "label_present: target 'label' is missing in 40.0% of rows (maximum 30.0%)"
    )


def test_a_binary_task_needs_exactly_two_classes(
    make_spec: SpecFactory, make_table: TableFactory
) -> None:
    table = make_table("multiclass", n=150)

    report = validate_table(table, make_spec("binary"))

    assert not check(report, "binary_classes")
    assert check(report, "label_not_constant")


def test_rare_classes_fail_the_minimum_class_count(
    make_spec: SpecFactory, make_table: TableFactory
) -> None:
    table = make_table("multiclass", n=100)
    labels = table["label"].copy()
    labels[:2] = "rare"

    report = validate_table(
        replace(table, label=labels), make_spec("multiclass", validation={"min_class_count": 3})
    )

    assert not report.valid
    assert report.reason == "min_class_count: classes below 3 rows: 'rare'=2"
    assert (report.label_counts or {})["rare"] == 2


def test_features_missing_too_often(make_spec: SpecFactory, make_table: TableFactory) -> None:
    table = make_table("binary", n=100)
    income = table["income"].copy()
    income[:45] = np.nan
    plan = table["plan"].copy()
    plan[:] = ""

    report = validate_table(replace(table, income=income, plan=plan), make_spec())

    assert not report.valid
    assert report.missing_rates["income"] == 0.45
    assert report.missing_rates["plan"] == 1.0
    assert report.reason == (
        "missing_rate: features missing too often: 'income' 45.0%, 'plan' 100.0% (maximum 30.0%)"
    )


def test_duplicate_rows(make_spec: SpecFactory, make_table: TableFactory) -> None:
    table = make_table("binary", n=40)
    repeated = table.take(np.r_[np.arange(40), np.zeros(60, dtype=int)])

    report = validate_table(repeated, make_spec())

    assert report.duplicate_rate == 0.6
    assert not check(report, "duplicate_rate")
    assert report.reason == "duplicate_rate: 60.0% of rows duplicate an earlier row (maximum 50.0%)"


def test_rows_differing_only_in_missing_values_count_as_duplicates(
    make_spec: SpecFactory,
) -> None:
    table = Table(
        {
            "age": np.array([np.nan, np.nan, 1.0, 2.0]),
            "income": np.array([5.0, 5.0, 5.0, 5.0]),
            "plan": np.array(["", "", "a", "a"], dtype=object),
            "label": np.array(["no", "no", "yes", "no"], dtype=object),
        },
        4,
    )

    report = validate_table(table, make_spec())

    assert report.duplicate_rate == 0.25


def test_validate_bytes_turns_a_format_error_into_an_invalid_report(
    make_spec: SpecFactory,
) -> None:
    data = b"age,income,plan,label\n1,2,a,yes\n1,two,a,yes\n"

    report, table = validate_bytes(data, "training/churn/bad.csv", make_spec())

    assert table is None
    assert not report.valid
    assert report.reason == "column 'income', row 2: 'two' is not a number"
    assert [(item.name, item.passed) for item in report.checks] == [("format", False)]
    assert report.rows == 0


def test_validate_bytes_reports_the_format_check_then_the_rest(make_spec: SpecFactory) -> None:
    rows = [f"{20 + i},{i % 7},{'ab'[i % 2]},{'yes' if i % 3 else 'no'}" for i in range(30)]
    data = ("age,income,plan,label\n" + "\n".join(rows)).encode()

    report, table = validate_bytes(data, "training/churn/ok.csv", make_spec())

    assert report.valid, report.reason
    assert table is not None
    assert table.n_rows == 30
    assert report.checks[0].name == "format"
    assert report.checks[0].detail == "read 30 rows from training/churn/ok.csv"
    assert report.model_dump(mode="json")["rows"] == 30


def test_an_empty_table_is_invalid_not_a_crash(make_spec: SpecFactory) -> None:
    table = Table(
        {
            "age": np.array([]),
            "income": np.array([]),
            "plan": np.array([], dtype=object),
            "label": np.array([], dtype=object),
        },
        0,
    )

    report = validate_table(table, make_spec())

    assert not report.valid
    assert report.reason == "min_rows: 0 rows (minimum 20)"
