"""Score a chunk with the pinned ONNX model and format its output rows (CSV or JSON Lines).

Output columns: the pass-through columns, `prediction` (label or value), `probability_<class>`
per class (classifiers), `model_version`. Numbers are written as the shortest text that reads
back to the model's float32 output, so predictions equal onnxruntime's exactly.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import numpy as np

from mlops.batch.chunks import Chunk
from mlops.batch.float_text import float32_column
from mlops.batch.text_column import TextColumn, csv_cell, csv_lines
from mlops.domain.onnx_model import OnnxModel


class Scores(NamedTuple):
    predictions: TextColumn
    """The label, or the value's shortest float32 spelling."""
    probabilities: list[TextColumn]
    """Per class, the shortest float32 spelling of each row's probability (none for
    regressors)."""


class BatchModel:
    """One pinned version ready to score chunks."""

    def __init__(self, model: OnnxModel, classes: list[str] | None, version: int) -> None:
        self.model = model
        self.classes = [str(c) for c in classes] if classes else []
        self.version = version

    @property
    def output_names(self) -> list[str]:
        probabilities = (
            [f"probability_{c}" for c in self.classes] if self.model.is_classifier else []
        )
        return ["prediction", *probabilities, "model_version"]

    def score(self, chunk: Chunk) -> Scores:
        """Run in a thread beside the parsing of the next chunk: onnxruntime releases the GIL,
        and so does the numpy work of writing the numbers as text."""
        if chunk.rows == 0:
            empty = TextColumn.of([])
            return Scores(empty, [empty for _ in self._classes_out()])
        output = self.model.predict_columns(chunk.features)
        if output.values is not None:
            return Scores(float32_column(output.values), [])
        assert output.labels is not None
        assert output.probabilities is not None
        columns = [
            float32_column(output.probabilities[:, i]) for i in range(len(self._classes_out()))
        ]
        labels, which = np.unique(output.labels, return_inverse=True)
        return Scores(TextColumn.of(labels.tolist()).take(which), columns)

    def _classes_out(self) -> list[str]:
        return self.classes if self.model.is_classifier else []

    # ---- formatting -------------------------------------------------------------------------
    def csv_header(self, passthrough: list[str]) -> str:
        return ",".join(csv_cell(name) for name in [*passthrough, *self.output_names]) + "\n"

    def csv_rows(self, chunk: Chunk, scores: Scores) -> bytes:
        if chunk.rows == 0:
            return b""
        predictions = scores.predictions.csv_escaped()
        version = TextColumn.constant(str(self.version))
        return csv_lines([*chunk.passthrough, predictions, *scores.probabilities, version])

    def jsonl_rows(self, chunk: Chunk, scores: Scores) -> bytes:
        names = [f"probability_{c}" for c in self._classes_out()]
        numeric = not self.model.is_classifier
        predictions = scores.predictions.texts()
        probabilities = [column.texts() for column in scores.probabilities]
        lines = []
        for index, row in enumerate(chunk.passthrough):
            record: dict[str, Any] = dict(row)
            prediction = predictions[index]
            record["prediction"] = float(prediction) if numeric else prediction
            for name, column in zip(names, probabilities, strict=True):
                record[name] = float(column[index])
            record["model_version"] = self.version
            lines.append(json.dumps(record, ensure_ascii=False))
        return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
