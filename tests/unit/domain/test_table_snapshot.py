"""Table snapshots (.npz): what Validate hands Train, and Train hands Evaluate as the holdout."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from conftest import TableFactory

from mlops.domain.dataset import Table
from mlops.domain.snapshot import SnapshotError, table_from_npz, table_to_npz


def test_a_table_round_trips_with_missing_values_and_empty_categories(
    make_table: TableFactory,
) -> None:
    table = make_table("binary", n=200)

    restored = table_from_npz(table_to_npz(table))

    assert restored.names == table.names
    assert restored.n_rows == 200
    np.testing.assert_array_equal(restored["age"], table["age"])  # NaN where NaN was
    assert np.isnan(restored["age"]).any()
    assert restored["plan"].dtype == object
    assert restored["plan"].tolist() == table["plan"].tolist()  # "" (missing) included
    assert restored["label"].tolist() == table["label"].tolist()


def test_regression_targets_and_unicode_categories_survive() -> None:
    table = Table(
        {"x": np.array([1.5, -0.0, np.nan]), "city": np.array(["Zürich", "東京", ""], dtype=object),
         "y": np.array([0.1, 2.0, 3e300])},
        3,
    )  # fmt: skip

    restored = table_from_npz(table_to_npz(table))

    assert restored["city"].tolist() == ["Zürich", "東京", ""]
    np.testing.assert_array_equal(restored["y"], table["y"])
    assert all(isinstance(value, str) for value in restored["city"])


def test_the_same_table_gives_the_same_bytes(make_table: TableFactory) -> None:
    table = make_table("multiclass", n=50)

    assert table_to_npz(table) == table_to_npz(make_table("multiclass", n=50))


def test_numpy_reads_it_without_pickle(make_table: TableFactory) -> None:
    data = table_to_npz(make_table("binary", n=20))

    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        assert "header" in archive.files
        assert all(archive[name].dtype != object for name in archive.files)


def test_an_empty_table_round_trips() -> None:
    table = Table({"x": np.array([], dtype=np.float64), "c": np.array([], dtype=object)}, 0)

    restored = table_from_npz(table_to_npz(table))

    assert (restored.n_rows, restored.names) == (0, ["x", "c"])


@pytest.mark.parametrize(
    "data",
    [b"", b"not a zip", b"PK\x03\x04 truncated"],
    ids=["empty", "text", "truncated-zip"],
)
def test_bytes_that_are_not_a_snapshot_raise_a_snapshot_error(data: bytes) -> None:
    with pytest.raises(SnapshotError, match="not a table snapshot"):
        table_from_npz(data)


def _rewritten(snapshot: bytes, members: dict[str, bytes | None]) -> bytes:
    """The snapshot with some members replaced (or dropped, for None)."""
    source = zipfile.ZipFile(io.BytesIO(snapshot))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as rewritten:
        for member in source.namelist():
            content = members.get(member, source.read(member))
            if content is not None:
                rewritten.writestr(member, content)
    return buffer.getvalue()


def test_a_snapshot_missing_a_column_array_raises_a_snapshot_error(
    make_table: TableFactory,
) -> None:
    damaged = _rewritten(table_to_npz(make_table("binary", n=10)), {"codes2.npy": None})

    with pytest.raises(SnapshotError, match="codes2"):
        table_from_npz(damaged)


def test_codes_pointing_past_the_values_raise_a_snapshot_error() -> None:
    table = Table({"c": np.array(["a", "b"], dtype=object)}, 2)
    codes = io.BytesIO()
    np.save(codes, np.array([0, 7], dtype=np.int32))
    damaged = _rewritten(table_to_npz(table), {"codes0.npy": codes.getvalue()})

    with pytest.raises(SnapshotError, match="IndexError"):
        table_from_npz(damaged)
