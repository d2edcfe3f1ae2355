"""onnxruntime wrapper shared by evaluation, batch and online scoring (never imports sklearn).

Follows the ONNX artifact conventions in docs/architecture.md: one `[None, 1]` input per
feature (`float` numeric, `string` categorical); classifiers output `label` and
`probabilities` (`[N, n_classes]`), regressors `variable` (`[N, 1]`). Only the outputs a caller
asks for are fetched.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import onnxruntime as ort

LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"
VALUE_OUTPUT = "variable"

_NUMPY_TYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(string)": np.object_,
}


class OnnxModelError(ValueError):
    """The artifact breaks the conventions, or the input does not fit the graph."""


class ModelOutput(NamedTuple):
    """Predictions for N rows: labels (str [N]) and probabilities (float32 [N, C]) for
    classifiers, values (float64 [N]) for regressors. Unrequested outputs are None."""

    labels: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    values: np.ndarray | None = None


class _Input(NamedTuple):
    name: str
    dtype: Any
    is_string: bool


class OnnxModel:
    """One loaded ONNX artifact: an InferenceSession plus the feeds it expects."""

    def __init__(self, onnx_bytes: bytes) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self._session = ort.InferenceSession(
                onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own untyped errors for bad bytes
            msg = f"not a loadable ONNX model: {error}"
            raise OnnxModelError(msg) from error
        self._inputs = tuple(self._describe_input(node) for node in self._session.get_inputs())
        self._run_feeds = _unchecked_run(self._session)
        outputs = {node.name: node.type for node in self._session.get_outputs()}
        self.is_classifier = PROBABILITIES_OUTPUT in outputs
        if self.is_classifier:
            if outputs[PROBABILITIES_OUTPUT] != "tensor(float)":
                msg = "output 'probabilities' must be a float tensor (convert with zipmap=False)"
                raise OnnxModelError(msg)
            if LABEL_OUTPUT not in outputs:
                msg = "a classifier must have a 'label' output"
                raise OnnxModelError(msg)
        elif VALUE_OUTPUT not in outputs:
            msg = f"no 'probabilities' or 'variable' output; outputs are {sorted(outputs)}"
            raise OnnxModelError(msg)
        self._record_buffers = threading.local()

    @staticmethod
    def _describe_input(node: Any) -> _Input:
        dtype = _NUMPY_TYPES.get(node.type)
        if dtype is None:
            msg = f"input {node.name!r} has unsupported type {node.type}"
            raise OnnxModelError(msg)
        return _Input(node.name, dtype, dtype is np.object_)

    @property
    def input_names(self) -> list[str]:
        return [spec.name for spec in self._inputs]

    @property
    def string_inputs(self) -> frozenset[str]:
        return frozenset(spec.name for spec in self._inputs if spec.is_string)

    def output_names(self, *, labels: bool = True, probabilities: bool = True) -> list[str]:
        """The outputs to fetch: a classifier's label and/or probabilities, else the value."""
        if not self.is_classifier:
            return [VALUE_OUTPUT]
        names = [LABEL_OUTPUT] if labels else []
        if probabilities:
            names.append(PROBABILITIES_OUTPUT)
        return names or [PROBABILITIES_OUTPUT]

    # ---- batch path ---------------------------------------------------------------------
    def predict_columns(
        self,
        columns: Mapping[str, np.ndarray],
        *,
        labels: bool = True,
        probabilities: bool = True,
    ) -> ModelOutput:
        """Score per-feature 1-D columns (numeric float, categorical str/object)."""
        feeds: dict[str, np.ndarray] = {}
        rows: int | None = None
        for spec in self._inputs:
            if spec.name not in columns:
                msg = f"missing column {spec.name!r}"
                raise OnnxModelError(msg)
            column = np.asarray(columns[spec.name])
            if column.ndim != 1:
                msg = f"column {spec.name!r} must be 1-D, got shape {column.shape}"
                raise OnnxModelError(msg)
            if rows is None:
                rows = len(column)
            elif len(column) != rows:
                msg = f"column {spec.name!r} has {len(column)} rows, expected {rows}"
                raise OnnxModelError(msg)
            feeds[spec.name] = self._as_feed(spec, column)
        return self._run(feeds, self.output_names(labels=labels, probabilities=probabilities))

    @staticmethod
    def _as_feed(spec: _Input, column: np.ndarray) -> np.ndarray:
        """A `[N, 1]` feed; None (and NaN in text columns) is the missing value: NaN for
        numbers (the artifact imputes it), the empty category for strings."""
        if spec.is_string:
            if column.dtype.kind == "U":  # text straight from a parser: one C-level cast
                values = column.astype(object)
            elif column.dtype == object:
                values = np.array([_as_category(value) for value in column], dtype=object)
            else:
                values = column.astype(str).astype(object)
        else:
            if column.dtype == object:
                column = np.array([np.nan if v is None else v for v in column], dtype=object)
            try:
                values = column.astype(spec.dtype)
            except (TypeError, ValueError) as error:
                msg = f"column {spec.name!r} is not numeric: {error}"
                raise OnnxModelError(msg) from error
        return np.ascontiguousarray(values.reshape(-1, 1))

    # ---- online path --------------------------------------------------------------------
    def predict_records(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        labels: bool = True,
        probabilities: bool = True,
    ) -> ModelOutput:
        """Score already-validated records (feature -> float or str): the serving path.

        A single record is written into per-thread pre-allocated `[1, 1]` feeds, so a warm
        call costs little more than the session run itself.
        """
        outputs = self.output_names(labels=labels, probabilities=probabilities)
        if len(records) == 1:
            feeds = self._single_record_feeds(records[0])
        else:
            feeds = {
                spec.name: np.array(
                    [[record[spec.name]] for record in records],
                    dtype=object if spec.is_string else spec.dtype,
                )
                for spec in self._inputs
            }
        return self._run(feeds, outputs)

    def _single_record_feeds(self, record: Mapping[str, Any]) -> dict[str, np.ndarray]:
        feeds: dict[str, np.ndarray] | None = getattr(self._record_buffers, "feeds", None)
        if feeds is None:
            feeds = {
                spec.name: np.zeros((1, 1), dtype=object if spec.is_string else spec.dtype)
                for spec in self._inputs
            }
            self._record_buffers.feeds = feeds
        try:
            for name, buffer in feeds.items():
                buffer[0, 0] = record[name]
        except KeyError as error:
            msg = f"missing feature {error.args[0]!r}"
            raise OnnxModelError(msg) from error
        except (TypeError, ValueError) as error:
            msg = f"a value does not fit its input: {error}"
            raise OnnxModelError(msg) from error
        return feeds

    def _run(self, feeds: dict[str, np.ndarray], outputs: list[str]) -> ModelOutput:
        results = dict(zip(outputs, self._run_feeds(outputs, feeds), strict=True))
        if not self.is_classifier:
            return ModelOutput(values=results[VALUE_OUTPUT].reshape(-1).astype(np.float64))
        label_array = results.get(LABEL_OUTPUT)
        return ModelOutput(
            labels=None if label_array is None else label_array.reshape(-1).astype(str),
            probabilities=results.get(PROBABILITIES_OUTPUT),
        )


def _unchecked_run(session: ort.InferenceSession) -> Callable[[list[str], Any], list[Any]]:
    """`session.run` without its per-call check of the feed names against the graph's inputs
    (~7 us for 24 inputs, a fifth of a small model's run): the feeds here are always built from
    those inputs. The check lives in onnxruntime's Python wrapper, so this calls the binding
    under it, and falls back to `run` if a future onnxruntime moves it."""
    binding = getattr(session, "_sess", None)
    if binding is None or not callable(getattr(binding, "run", None)):
        public: Callable[[list[str], Any], list[Any]] = session.run
        return public
    run: Callable[[list[str], Any, Any], list[Any]] = binding.run
    return lambda outputs, feeds: run(outputs, feeds, None)


def _as_category(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)
