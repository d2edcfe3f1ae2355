"""Output rows as bytes: the CSV a scored chunk becomes reads back, with the csv module, to the
pass-through cells, onnxruntime's labels (escaped where they need it) and its float32
probabilities; TextColumn keeps every cell whole."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "serving"))

from onnx_builders import build_classifier

from mlops.batch.chunks import Chunk
from mlops.batch.scoring import BatchModel
from mlops.batch.text_column import TextColumn, csv_lines
from mlops.domain.onnx_model import OnnxModel


def test_csv_lines_join_every_cell_whole() -> None:
    ids = ["1", "", "ü-3", "a much longer identifier"]
    notes = ["x", "yy", "", "€"]
    lines = csv_lines([TextColumn.of(ids), TextColumn.of(notes), TextColumn.constant("7")])
    expected = "".join(f"{i},{n},7\n" for i, n in zip(ids, notes, strict=True))
    assert lines.decode("utf-8") == expected


def test_columns_taken_and_merged_keep_their_cells() -> None:
    column = TextColumn.of(["a", "bb", "", "dddd"])
    assert column.take(np.array([3, 0])).texts() == ["dddd", "a"]
    merged = TextColumn.merged(
        4,
        [
            (np.array([1, 3]), TextColumn.of(["x", "yyy"])),
            (np.array([0, 2]), column.take(np.array([1, 2]))),
        ],
    )
    assert merged.texts() == ["bb", "x", "", "yyy"]
    assert column.holds(np.frombuffer(b"d", dtype=np.uint8))
    assert not column.take(np.array([0, 1])).holds(np.frombuffer(b"d", dtype=np.uint8))


def test_a_scored_chunk_reads_back_as_onnxruntimes_output() -> None:
    # Given a classifier whose labels need CSV quoting, and a chunk of 500 rows
    built = build_classifier(classes=("a,b", 'say "hi"', "plain"))
    model = OnnxModel(built.onnx)
    batch = BatchModel(model, built.classes, version=3)
    rng = np.random.default_rng(5)
    features = {
        "amount": rng.gamma(2.0, 50.0, size=500),
        "age": rng.integers(18, 90, size=500).astype(np.float64),
        "country": rng.choice(["de", "fr", "us"], size=500),
    }
    ids = [f"row-{i}" for i in range(500)]
    chunk = Chunk(features, [TextColumn.of(ids)], 500, [])
    # When it is scored and written as CSV
    text = batch.csv_header(["id"]) + batch.csv_rows(chunk, batch.score(chunk)).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    # Then every row is the id, onnxruntime's label and its float32 probabilities, exactly
    expected = model.predict_columns(features)
    assert expected.labels is not None
    assert expected.probabilities is not None
    assert [row["id"] for row in rows] == ids
    assert set(expected.labels.tolist()) == set(built.classes)  # each label, quoted or not
    assert [row["prediction"] for row in rows] == expected.labels.tolist()
    assert {row["model_version"] for row in rows} == {"3"}
    for index, name in enumerate(built.classes):
        read = np.array([row[f"probability_{name}"] for row in rows], dtype=np.float32)
        assert np.array_equal(read, expected.probabilities[:, index])
