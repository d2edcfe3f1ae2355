"""The vectorised CSV path (cells located by numpy, numbers by decimal_cells) gives the chunk
the exact path (the csv module, cell by cell) gives, and steps aside for what it does not take."""

from __future__ import annotations

import numpy as np
import pytest

from mlops.batch.csv_cells import CellGrid
from mlops.batch.csv_format import CsvLayout, parse_csv, split_header
from mlops.batch.reader import Block, line_blocks
from mlops.registry.enums import FeatureType
from mlops.serving.validation import RecordValidator


class _Feature:
    def __init__(self, name: str, kind: FeatureType) -> None:
        self.name, self.type, self.categories = name, kind, None


RULES = RecordValidator(
    [_Feature("x", FeatureType.NUMERIC), _Feature("y", FeatureType.NUMERIC),
     _Feature("c", FeatureType.CATEGORICAL)]
).rules  # fmt: skip


def _csv(rows: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows) * 10.0 ** rng.integers(-6, 6, size=rows)
    lines = ["id,y,c,x,note"] + [
        f"r{i},{rng.integers(-99, 99)},{rng.choice(['a', 'bb', ''])},{value:.7g},n{i % 7}"
        for i, value in enumerate(x)
    ]
    return "\n".join(lines) + "\n"


def _chunk(text: str) -> object:
    header, rest = split_header(next(line_blocks([text.encode()], quoted=True)))
    return parse_csv(rest, CsvLayout(header, RULES))


def test_the_vectorised_and_exact_paths_give_the_same_chunk() -> None:
    # Given 3,000 rows, and the same rows with one quoted cell (which takes the exact path)
    text = _csv(3_000, seed=1)
    fast, exact = _chunk(text), _chunk(text.replace("r0,", '"r0",', 1))
    # Then features (as float32, what the model takes), categories and pass-through agree
    for name in ("x", "y"):
        assert np.array_equal(fast.features[name], exact.features[name].astype(np.float32))
    assert fast.features["c"].tolist() == exact.features["c"].tolist()
    assert [c.texts() for c in fast.passthrough] == [c.texts() for c in exact.passthrough]
    assert (fast.rows_in, fast.rejected) == (exact.rows_in, exact.rejected) == (3_000, [])


def test_a_bad_number_leaves_the_rest_of_the_block_scored() -> None:
    # Given a block whose 2nd row has a number the vectorised parser does not take
    lines = _csv(50, seed=2).splitlines()
    cells = lines[2].split(",")
    lines[2] = ",".join([*cells[:3], "1.5.2", cells[4]])
    chunk = _chunk("\n".join(lines) + "\n")
    # Then that row is rejected with its line and reason, the 49 others are kept
    assert [(r.line, r.field, r.reason) for r in chunk.rejected] == [
        (3, "x", "must be a number, not '1.5.2'")
    ]
    assert chunk.rows == 49


@pytest.mark.parametrize(
    "text",
    ["1,2,3\n4,5\n", "1,2,3\n\n4,5,6\n", "1,2,3\n4,5,6,7\n", "1,2,é\n", "1,2,\x003\n"],
    ids=["short row", "empty line", "long row", "not ASCII", "NUL"],
)
def test_the_grid_steps_aside_for_what_it_does_not_take(text: str) -> None:
    assert CellGrid.of(text.encode(), 3) is None


def test_the_last_line_may_lack_its_newline() -> None:
    grid = CellGrid.of(b"1,a\n2,bb", 2)
    assert grid is not None
    numbers = grid.numbers([0])
    assert numbers is not None
    assert numbers.ravel().tolist() == [1.0, 2.0]
    assert grid.texts(1).tolist() == ["a", "bb"]
    assert [grid.line(0), grid.line(1)] == ["1,a", "2,bb"]


def test_a_block_needs_no_header_to_be_a_grid() -> None:
    chunk = parse_csv(Block("r1,2,a,0.5,n\n", 7), CsvLayout(["id", "y", "c", "x", "note"], RULES))
    assert chunk.rows == 1
    assert [c.texts() for c in chunk.passthrough] == [["r1"], ["n"]]
