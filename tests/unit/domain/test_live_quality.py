"""Live quality: feedback joined with captured predictions by request id."""

from __future__ import annotations

from typing import Any

import pytest

from mlops.domain.live_quality import (
    join_feedback,
    latest_feedback,
    live_quality,
    quality,
)


def capture(
    request_id: str,
    prediction: dict[str, Any],
    *,
    version: int = 1,
    served_by: str = "production",
    records: int = 1,
) -> list[dict[str, Any]]:
    return [
        {
            "request_id": request_id,
            "record": index,
            "version": version,
            "served_by": served_by,
            "features": {"x": 1.0},
            "prediction": prediction,
        }
        for index in range(records)
    ]


def label(request_id: str, value: str, at: str = "2026-12-04T10:00:00+00:00") -> dict[str, Any]:
    return {"request_id": request_id, "label": value, "model": "m", "received_at": at}


def test_binary_accuracy_and_f1_with_the_second_class_positive() -> None:
    # Given four answered requests (classes no/yes) and their true labels
    predicted = {"r1": "yes", "r2": "yes", "r3": "no", "r4": "no"}
    truth = {"r1": "yes", "r2": "no", "r3": "yes", "r4": "no"}
    captures = {rid: capture(rid, {"label": p}) for rid, p in predicted.items()}
    items = [label(rid, t) for rid, t in truth.items()]

    result = live_quality("binary", join_feedback(items, captures), {"production": ["no", "yes"]})

    # Then accuracy 2/4, F1 of "yes": tp 1, fp 1, fn 1 -> 2/4
    assert result["overall"] == {"rows": 4, "accuracy": 0.5, "f1": 0.5}
    assert result["by_alias"] == {"production": {"rows": 4, "accuracy": 0.5, "f1": 0.5}}
    assert (result["feedback"], result["matched"], result["unmatched"]) == (4, 4, 0)


def test_multiclass_uses_macro_f1() -> None:
    pairs = [("a", "a"), ("b", "b"), ("c", "a"), ("c", "c")]  # (truth, predicted)
    captures = {f"r{i}": capture(f"r{i}", {"label": p}) for i, (_, p) in enumerate(pairs)}
    items = [label(f"r{i}", t) for i, (t, _) in enumerate(pairs)]

    figures = quality("multiclass", ["a", "b", "c"], join_feedback(items, captures).rows)

    # F1 per class: a 2/3, b 1, c 2/3 -> macro 7/9
    assert figures["accuracy"] == 0.75
    assert figures["f1"] == pytest.approx(7 / 9)


def test_regression_mae_per_alias() -> None:
    captures = {
        "p1": capture("p1", {"value": 10.0}),
        "p2": capture("p2", {"value": 20.0}),
        "c1": capture("c1", {"value": 5.0}, version=2, served_by="candidate"),
    }
    items = [
        {"request_id": "p1", "value": 12.0, "received_at": "t"},
        {"request_id": "p2", "value": 19.0, "received_at": "t"},
        {"request_id": "c1", "value": 9.0, "received_at": "t"},
    ]

    result = live_quality("regression", join_feedback(items, captures), {})

    assert result["overall"] == {"rows": 3, "mae": pytest.approx(7 / 3)}
    assert result["by_alias"]["production"] == {"rows": 2, "mae": 1.5}
    assert result["by_alias"]["candidate"] == {"rows": 1, "mae": 4.0}


def test_unmatched_feedback_is_counted_with_its_reason() -> None:
    captures = {
        "multi": capture("multi", {"label": "yes"}, records=2),
        "value": capture("value", {"value": 1.0}),
        "ok": capture("ok", {"label": "yes"}),
        "pinned": capture("pinned", {"label": "no"}, served_by="pinned"),
    }
    items = [label(rid, "yes") for rid in ("multi", "value", "ok", "gone", "pinned")]

    result = live_quality("binary", join_feedback(items, captures), {"production": ["no", "yes"]})

    assert result["matched"] == 2
    assert result["unmatched"] == 3
    assert result["unmatched_reasons"] == {
        "label/value mismatch": 1,
        "no capture": 1,
        "several records": 1,
    }
    # And the pinned request is matched but not scored
    assert result["unscored_pinned"] == 1
    assert result["overall"] == {"rows": 1, "accuracy": 1.0, "f1": 1.0}


def test_the_latest_feedback_for_a_request_counts() -> None:
    items = [
        label("r1", "no", "2026-12-04T10:00:00+00:00"),
        label("r1", "yes", "2026-12-04T11:00:00+00:00"),
        label("r1", "no", "2026-12-04T09:00:00+00:00"),
    ]

    assert [item["label"] for item in latest_feedback(items)] == ["yes"]


def test_feedback_naming_a_record_joins_that_record() -> None:
    # Given a request of three records, predicted yes, no, yes
    lines = capture("multi", {"label": "yes"}, records=3)
    lines[1]["prediction"] = {"label": "no"}
    # And feedback per record (record 1 twice: the later counts), one beyond, one naming none
    items = [
        {**label("multi", "yes"), "record": 0},
        {**label("multi", "yes", "2026-12-04T09:00:00+00:00"), "record": 1},
        {**label("multi", "no", "2026-12-04T11:00:00+00:00"), "record": 1},
        {**label("multi", "no"), "record": 2},
        {**label("multi", "no"), "record": 3},
        label("multi", "yes"),
    ]

    classes = {"production": ["no", "yes"]}
    result = live_quality("binary", join_feedback(items, {"multi": lines}), classes)

    # Then records 0 and 1 are right, record 2 wrong; the other two are unmatched, with reasons
    assert result["overall"]["rows"] == 3
    assert result["overall"]["accuracy"] == pytest.approx(2 / 3)
    assert result["unmatched_reasons"] == {"no such record": 1, "several records": 1}


def test_no_rows_no_figures() -> None:
    result = live_quality("binary", join_feedback([label("r", "yes")], {}), {})
    assert result["overall"] == {"rows": 0}
    assert result["by_alias"] == {}
