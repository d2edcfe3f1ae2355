"""Score a chunk with the pinned ONNX model and format its output rows (CSV or JSON Lines).

Output columns: the pass-through columns, `prediction` (label or value), `probability_<class>`
per class (classifiers), `model_version`. Numbers are written as the shortest text that reads
back to the model's float32 output, so predictions equal onnxruntime's exactly.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from mlops.batch.chunks import Chunk
from mlops.batch.float_text import float32_text
from mlops.domain.onnx_model import OnnxModel

_SPECIAL = frozenset(',"\r\n')


class Scores(NamedTuple):
    predictions: list[str]
    """As text: the label, or the value's shortest float32 spelling."""
    probabilities: list[list[str]]
    """Per class, one text value per row (empty for regressors)."""


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
            return Scores([], [[] for _ in self._classes_out()])
        output = self.model.predict_columns(chunk.features)
        if output.values is not None:
            return Scores(float32_text(output.values), [])
        assert output.labels is not None
        assert output.probabilities is not None
        columns = [
            float32_text(output.probabilities[:, i]) for i in range(len(self._classes_out()))
        ]
        return Scores(output.labels.tolist(), columns)

    def _classes_out(self) -> list[str]:
        return self.classes if self.model.is_classifier else []

    # ---- formatting -------------------------------------------------------------------------
    def csv_header(self, passthrough: list[str]) -> str:
        return ",".join(_escape(name) for name in [*passthrough, *self.output_names]) + "\n"

    def csv_rows(self, chunk: Chunk, scores: Scores) -> str:
        """All rows at once: the cells interleaved with separators, joined in one call."""
        count = len(scores.predictions)
        if count == 0:
            return ""
        predictions = scores.predictions
        if any(_SPECIAL.intersection(label) for label in set(predictions)):
            predictions = [_escape(label) for label in predictions]
        columns = [*chunk.passthrough, predictions, *scores.probabilities]
        width = 2 * len(columns)
        cells: list[str] = [","] * (count * width)
        for index, column in enumerate(columns):
            cells[2 * index :: width] = column
        cells[width - 1 :: width] = [f",{self.version}\n"] * count
        return "".join(cells)

    def jsonl_rows(self, chunk: Chunk, scores: Scores) -> str:
        names = [f"probability_{c}" for c in self._classes_out()]
        lines = []
        numeric = not self.model.is_classifier
        for index, row in enumerate(chunk.passthrough):
            record: dict[str, Any] = dict(row)
            prediction = scores.predictions[index]
            record["prediction"] = float(prediction) if numeric else prediction
            for name, column in zip(names, scores.probabilities, strict=True):
                record[name] = float(column[index])
            record["model_version"] = self.version
            lines.append(json.dumps(record, ensure_ascii=False))
        return "\n".join(lines) + "\n" if lines else ""


def _escape(cell: str) -> str:
    if _SPECIAL.intersection(cell):
        return '"' + cell.replace('"', '""') + '"'
    return cell
