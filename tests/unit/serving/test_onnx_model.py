"""OnnxModel: the onnxruntime wrapper agrees with the scikit-learn pipeline it was made from."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx_builders import BuiltModel, build_classifier, build_regressor

from mlops.domain.onnx_model import OnnxModel, OnnxModelError, _unchecked_run


@pytest.fixture(scope="module")
def classifier() -> BuiltModel:
    return build_classifier()


@pytest.fixture(scope="module")
def three_class() -> BuiltModel:
    return build_classifier(classes=("high", "low", "mid"))


@pytest.fixture(scope="module")
def regressor() -> BuiltModel:
    return build_regressor()


def _rows() -> np.ndarray:
    rows = np.empty((4, 3), dtype=object)
    rows[:, 0] = [10.0, 250.5, 80.0, 3.25]
    rows[:, 1] = [20.0, 35.0, 70.0, 44.0]
    rows[:, 2] = ["de", "us", "fr", "us"]
    return rows


def _columns(rows: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "amount": rows[:, 0].astype(float),
        "age": rows[:, 1].astype(float),
        "country": rows[:, 2].astype(str),
    }


def test_classifier_columns_match_sklearn(classifier: BuiltModel) -> None:
    # Given a converted logistic regression
    model = OnnxModel(classifier.onnx)
    # When four rows are scored column-wise
    output = model.predict_columns(_columns(_rows()))
    # Then labels and probabilities agree with scikit-learn
    assert model.is_classifier
    assert model.input_names == ["amount", "age", "country"]
    assert output.values is None
    assert output.probabilities is not None
    assert output.probabilities.dtype == np.float32
    assert output.probabilities.shape == (4, 2)
    np.testing.assert_allclose(
        output.probabilities, classifier.pipeline.predict_proba(_rows()), atol=1e-5
    )
    assert list(output.labels) == list(classifier.pipeline.predict(_rows()))  # type: ignore[arg-type]


def test_multiclass_probability_columns_follow_classes(three_class: BuiltModel) -> None:
    model = OnnxModel(three_class.onnx)
    output = model.predict_columns(_columns(_rows()))
    assert output.probabilities is not None
    assert output.probabilities.shape == (4, 3)
    np.testing.assert_allclose(
        output.probabilities, three_class.pipeline.predict_proba(_rows()), atol=1e-5
    )


def test_regressor_values_match_sklearn(regressor: BuiltModel) -> None:
    model = OnnxModel(regressor.onnx)
    output = model.predict_columns(_columns(_rows()))
    assert not model.is_classifier
    assert output.labels is None
    assert output.probabilities is None
    assert output.values is not None
    assert output.values.shape == (4,)
    np.testing.assert_allclose(output.values, regressor.pipeline.predict(_rows()), rtol=1e-4)


def test_only_requested_outputs_are_returned(classifier: BuiltModel) -> None:
    model = OnnxModel(classifier.onnx)
    only_probabilities = model.predict_columns(_columns(_rows()), labels=False)
    only_labels = model.predict_columns(_columns(_rows()), probabilities=False)
    assert only_probabilities.labels is None
    assert only_probabilities.probabilities is not None
    assert only_labels.probabilities is None
    assert only_labels.labels is not None


def test_records_path_equals_columns_path(classifier: BuiltModel) -> None:
    # Given the same rows as records, one at a time and all together
    model = OnnxModel(classifier.onnx)
    rows = _rows()
    records = [{"amount": r[0], "age": r[1], "country": r[2]} for r in rows]
    expected = model.predict_columns(_columns(rows))
    # When scored through the serving path
    batch = model.predict_records(records)
    singles = [model.predict_records([record]) for record in records]
    # Then every path gives the same answer
    assert expected.probabilities is not None
    np.testing.assert_array_equal(batch.probabilities, expected.probabilities)  # type: ignore[arg-type]
    for i, single in enumerate(singles):
        np.testing.assert_allclose(single.probabilities[0], expected.probabilities[i], atol=1e-6)  # type: ignore[index]
        assert single.labels is not None
        assert single.labels[0] == batch.labels[i]  # type: ignore[index]


def test_unseen_category_encodes_to_zeros_not_an_error(classifier: BuiltModel) -> None:
    model = OnnxModel(classifier.onnx)
    output = model.predict_records([{"amount": 5.0, "age": 30.0, "country": "zz"}])
    assert output.probabilities is not None
    assert output.probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_missing_column_is_named(classifier: BuiltModel) -> None:
    model = OnnxModel(classifier.onnx)
    columns = _columns(_rows())
    del columns["age"]
    with pytest.raises(OnnxModelError, match="'age'"):
        model.predict_columns(columns)
    with pytest.raises(OnnxModelError, match="'age'"):
        model.predict_records([{"amount": 1.0, "country": "de"}])


def test_ragged_columns_are_refused(classifier: BuiltModel) -> None:
    model = OnnxModel(classifier.onnx)
    columns = _columns(_rows())
    columns["amount"] = columns["amount"][:2]
    with pytest.raises(OnnxModelError, match="rows"):
        model.predict_columns(columns)


def test_non_numeric_column_is_refused(classifier: BuiltModel) -> None:
    model = OnnxModel(classifier.onnx)
    columns = _columns(_rows())
    columns["age"] = np.array(["old", "young", "old", "young"])
    with pytest.raises(OnnxModelError, match="'age' is not numeric"):
        model.predict_columns(columns)


def test_corrupt_bytes_are_a_typed_error() -> None:
    with pytest.raises(OnnxModelError, match="not a loadable ONNX model"):
        OnnxModel(b"definitely not onnx")


def test_missing_values_in_object_columns(classifier: BuiltModel) -> None:
    # Given columns whose missing values are None (numeric) and None / NaN (categorical)
    model = OnnxModel(classifier.onnx)
    columns = {
        "amount": np.array([None, 10.0], dtype=object),
        "age": np.array([30.0, 40.0]),
        "country": np.array([None, float("nan")], dtype=object),
    }
    # When scored
    output = model.predict_columns(columns)
    # Then they are fed as NaN (imputed by the artifact) and the empty category
    expected = model.predict_columns(
        {
            "amount": np.array([np.nan, 10.0]),
            "age": np.array([30.0, 40.0]),
            "country": np.array(["", ""]),
        }
    )
    np.testing.assert_array_equal(output.probabilities, expected.probabilities)  # type: ignore[arg-type]


def test_scoring_skips_the_wrappers_feed_name_check(
    classifier: BuiltModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the feeds are built from the graph's own inputs, so the per-call check is redundant
    def refuse(*_args: object) -> None:
        raise AssertionError("InferenceSession.run's input check ran")

    monkeypatch.setattr(ort.InferenceSession, "_validate_input", refuse)
    model = OnnxModel(classifier.onnx)

    output = model.predict_columns(_columns(_rows()))

    assert output.probabilities is not None
    assert output.probabilities.shape == (4, 2)


def test_without_the_binding_scoring_falls_back_to_the_public_run(
    classifier: BuiltModel,
) -> None:
    session = ort.InferenceSession(classifier.onnx, providers=["CPUExecutionProvider"])

    class WithoutBinding:
        run = session.run

    run = _unchecked_run(WithoutBinding())  # type: ignore[arg-type]

    assert run == session.run
