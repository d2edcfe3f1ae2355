"""Tables as `.npz` snapshots, so a later step reads what an earlier one parsed, unparsed.

Numeric columns are stored as float64 (NaN for missing); text columns as int32 codes and their
distinct values. Nothing is pickled: `np.load(..., allow_pickle=False)` reads every array back,
and any numpy (or a user's notebook) can open the file.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from mlops.domain.dataset import Table

SNAPSHOT_SUFFIX = ".npz"
_HEADER = "header"
_ZIP_MAGIC = b"PK\x03\x04"
_FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
"""Members carry this time, so one table always gives the same bytes (and sha256)."""


_UNREADABLE = (OSError, EOFError, KeyError, IndexError, ValueError, TypeError, zipfile.BadZipFile)
"""What numpy and zipfile raise for damaged or foreign archives."""


class SnapshotError(ValueError):
    """The bytes are not a table snapshot this code wrote."""


def table_to_npz(table: Table) -> bytes:
    """Serialize `table` (column order kept) to uncompressed, deterministic `.npz` bytes."""
    arrays: dict[str, np.ndarray] = {}
    columns = []
    for index, name in enumerate(table.names):
        values = table[name]
        if values.dtype == object:
            codes, distinct = table.text_codes(name)
            arrays[f"codes{index}"] = codes
            arrays[f"values{index}"] = np.array(distinct, dtype=np.str_)
            columns.append({"name": name, "kind": "text"})
        else:
            arrays[f"numbers{index}"] = np.asarray(values, dtype=np.float64)
            columns.append({"name": name, "kind": "numeric"})
    header = {"rows": table.n_rows, "columns": columns}
    arrays[_HEADER] = np.array(json.dumps(header))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():  # what np.savez writes, with a fixed timestamp
            member = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_TIMESTAMP)
            with archive.open(member, "w", force_zip64=True) as file:
                np.lib.format.write_array(file, array, allow_pickle=False)
    return buffer.getvalue()


def table_from_npz(data: bytes) -> Table:
    """The table `table_to_npz` wrote (text columns come back as object arrays of str)."""
    if not data.startswith(_ZIP_MAGIC):
        msg = "not a table snapshot (not an .npz archive)"
        raise SnapshotError(msg)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            header = json.loads(str(archive[_HEADER]))
            columns: dict[str, np.ndarray] = {}
            for index, column in enumerate(header["columns"]):
                if column["kind"] == "text":
                    distinct = archive[f"values{index}"].astype(object)
                    columns[column["name"]] = distinct[archive[f"codes{index}"]]
                else:
                    columns[column["name"]] = archive[f"numbers{index}"]
            return Table(columns, int(header["rows"]))
    except _UNREADABLE as error:
        msg = f"not a table snapshot ({type(error).__name__}: {error})"
        raise SnapshotError(msg) from None
