"""The batch Lambdas on moto, driven as the state machine drives them: Pin, a child per object,
Manifest."""

from __future__ import annotations

import csv
import gzip
import io
import json
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from conftest import CONTEXT, MODEL, BatchEnv, child_event, run_input

from mlops.batch.errors import BatchObjectError, NoProductionVersionError
from mlops.batch.keys import part_key
from mlops.handlers import batch_manifest, batch_pin, batch_score

PREFIX = f"batch/input/{MODEL}/"


def _csv(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _rows(count: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [
        {
            "id": f"r{i}",
            "amount": round(float(rng.gamma(2.0, 50.0)), 4),
            "age": int(rng.integers(18, 90)),
            "country": str(rng.choice(["de", "fr", "us"])),
        }
        for i in range(count)
    ]


def _onnx_probabilities(onnx: bytes, rows: list[dict[str, Any]]) -> np.ndarray:
    session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    feeds = {
        "amount": np.array([[float(r["amount"])] for r in rows], dtype=np.float32),
        "age": np.array([[float(r["age"])] for r in rows], dtype=np.float32),
        "country": np.array([[r["country"]] for r in rows], dtype=object),
    }
    return np.asarray(session.run(["probabilities"], feeds)[0])


def _score(env: BatchEnv, run: dict[str, Any], pinned: dict[str, Any], key: str) -> dict[str, Any]:
    return dict(batch_score.handler(child_event(run, pinned, key), CONTEXT))


def _read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_scores_every_row_with_the_pinned_version_as_onnxruntime_does(batch_env: BatchEnv) -> None:
    # Given a CSV of 120 rows under the input prefix and a pinned production version
    rows = _rows(120)
    batch_env.upload(PREFIX + "day1.csv", _csv(rows))
    run = run_input()
    pinned = batch_pin.handler(run, CONTEXT)

    # When the child scores the object
    result = _score(batch_env, run, pinned, PREFIX + "day1.csv")

    # Then every row is scored, ids pass through, probabilities equal onnxruntime's
    assert result == {"key": PREFIX + "day1.csv", "status": "succeeded", "rows_in": 120,
                      "rows_scored": 120, "rows_rejected": 0}  # fmt: skip
    out = _read_csv(batch_env.read(run["output_prefix"] + "day1.csv"))
    assert list(out[0]) == ["id", "prediction", "probability_fraud", "probability_ok",
                            "model_version"]  # fmt: skip
    assert [r["id"] for r in out] == [r["id"] for r in rows]
    expected = _onnx_probabilities(batch_env.model.onnx, rows)
    got = np.array([[float(r["probability_fraud"]), float(r["probability_ok"])] for r in out])
    assert np.array_equal(got.astype(np.float32), expected)
    classes = np.array(["fraud", "ok"])
    assert [r["prediction"] for r in out] == classes[expected.argmax(axis=1)].tolist()
    assert {r["model_version"] for r in out} == {str(pinned["version"])}
    # And no errors object, and the part record agrees
    assert batch_env.keys(run["output_prefix"] + "errors/") == []
    part = batch_env.part(run, PREFIX + "day1.csv")
    assert part["status"] == "succeeded"
    assert part["errors_key"] is None


def test_bad_rows_go_to_the_errors_object_with_line_and_reason(batch_env: BatchEnv) -> None:
    # Given a CSV with a non-number, an infinite number, a short row, an empty line and
    # a quoted id holding a comma and a line break
    text = (
        "id,amount,age,country\n"
        "a,10.5,30,de\n"
        "b,lots,40,fr\n"
        "\n"
        "c,inf,41,us\n"
        "d,12\n"
        '"e, with\nbreak",20,50,us\n'
        "f,,60,\n"
    )
    batch_env.upload(PREFIX + "messy.csv", text.encode())
    run = run_input()
    pinned = batch_pin.handler(run, CONTEXT)

    # When it is scored
    result = _score(batch_env, run, pinned, PREFIX + "messy.csv")

    # Then the good rows (missing values included) are scored and nothing is lost
    assert result["rows_in"] == 6
    assert result["rows_scored"] == 3
    assert result["rows_rejected"] == 3
    out = _read_csv(batch_env.read(run["output_prefix"] + "messy.csv"))
    assert [r["id"] for r in out] == ["a", "e, with\nbreak", "f"]
    errors_key = run["output_prefix"] + "errors/messy.csv.errors.jsonl"
    errors = [json.loads(line) for line in batch_env.read(errors_key).decode().splitlines()]
    assert [(e["line"], e["field"]) for e in errors] == [(3, "amount"), (5, "amount"), (6, None)]
    assert errors[0]["reason"] == "must be a number, not 'lots'"
    assert errors[1]["reason"] == "must be a finite number"
    assert "has 2 fields" in errors[2]["reason"]
    assert errors[0]["raw"] == "b,lots,40,fr"


def test_gzipped_json_lines_with_online_rules(batch_env: BatchEnv) -> None:
    # Given gzipped JSON Lines: extra keys pass through; a string number and an unknown
    # feature value break the online API's rules
    lines = [
        {"id": 1, "amount": 10.0, "age": 30, "country": "de", "note": "x"},
        {"id": 2, "amount": "10", "age": 30, "country": "de"},
        {"id": 3, "amount": None, "age": 44, "country": "fr"},
        "[1, 2]",
        {"id": 5, "amount": 1.0, "country": "us"},
    ]
    body = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n\n"
    batch_env.upload(PREFIX + "day2.jsonl.gz", gzip.compress(body.encode()))
    run = run_input()
    pinned = batch_pin.handler(run, CONTEXT)

    result = _score(batch_env, run, pinned, PREFIX + "day2.jsonl.gz")

    assert (result["rows_in"], result["rows_scored"], result["rows_rejected"]) == (5, 2, 3)
    out_key = run["output_prefix"] + "day2.jsonl.gz"
    out = [json.loads(x) for x in gzip.decompress(batch_env.read(out_key)).decode().splitlines()]
    assert [r["id"] for r in out] == [1, 3]
    assert out[0]["note"] == "x"
    assert set(out[0]) >= {"prediction", "probability_fraud", "probability_ok", "model_version"}
    errors_key = run["output_prefix"] + "errors/day2.jsonl.gz.errors.jsonl"
    errors = [json.loads(x) for x in batch_env.read(errors_key).decode().splitlines()]
    assert [(e["line"], e["field"]) for e in errors] == [(2, "amount"), (4, None), (5, "age")]
    assert errors[0]["reason"] == "must be a number, not a string"
    assert errors[2]["reason"] == "missing"


def test_an_unreadable_object_fails_its_own_child_and_is_recorded(batch_env: BatchEnv) -> None:
    # Given an object named .gz that is not gzip
    batch_env.upload(PREFIX + "broken.csv.gz", b"id,amount\n1,2\n")
    run = run_input()
    pinned = batch_pin.handler(run, CONTEXT)

    # When the child scores it, Then it fails with BatchObjectError
    with pytest.raises(BatchObjectError, match="not gzip"):
        _score(batch_env, run, pinned, PREFIX + "broken.csv.gz")
    # And its part record says why
    part = batch_env.part(run, PREFIX + "broken.csv.gz")
    assert part["status"] == "failed"
    assert "not gzip" in part["error"]


def test_promoting_during_a_run_does_not_change_the_pinned_version(
    batch_env: BatchEnv, classifier_v2: Any
) -> None:
    # Given a run pinned to version 1
    batch_env.upload(PREFIX + "day1.csv", _csv(_rows(10)))
    run = run_input()
    pinned = batch_pin.handler(run, CONTEXT)
    # When version 2 is promoted before the child runs
    assert batch_env.register(classifier_v2) == 2
    _score(batch_env, run, pinned, PREFIX + "day1.csv")
    # Then the child scored with version 1
    out = _read_csv(batch_env.read(run["output_prefix"] + "day1.csv"))
    assert {r["model_version"] for r in out} == {"1"}


def test_pin_without_a_production_version_names_the_problem(batch_env: BatchEnv) -> None:
    run = run_input()
    with pytest.raises(NoProductionVersionError, match="does not exist"):
        batch_pin.handler({**run, "model": "nobody"}, CONTEXT)


def test_manifest_sums_the_children_and_lists_the_failed_ones(batch_env: BatchEnv) -> None:
    # Given three objects: one good, one unreadable, one whose child never reported
    batch_env.upload(PREFIX + "a.csv", _csv(_rows(7)))
    batch_env.upload(PREFIX + "b.csv.gz", b"not gzip")
    batch_env.upload(PREFIX + "c.csv", _csv(_rows(3)))
    run = run_input()
    pinned = batch_pin.handler(run, CONTEXT)
    _score(batch_env, run, pinned, PREFIX + "a.csv")
    with pytest.raises(BatchObjectError):
        _score(batch_env, run, pinned, PREFIX + "b.csv.gz")

    # When the manifest step runs
    result = batch_manifest.handler(
        {"run": {**run, "pinned": pinned}, "execution_id": "x", "started_at": None}, CONTEXT
    )

    # Then it names the pinned version, the rows, and both failed children
    assert result["status"] == "succeeded"
    assert (result["rows_in"], result["rows_scored"], result["failed_children"]) == (7, 7, 2)
    manifest = json.loads(batch_env.read(run["output_prefix"] + "_manifest.json"))
    assert manifest["pinned"]["version"] == 1
    assert manifest["children"] == {"succeeded": 1, "failed": 2}
    errors = {f["key"]: f["error"] for f in manifest["failed_children"]}
    assert "not gzip" in errors[PREFIX + "b.csv.gz"]
    assert errors[PREFIX + "c.csv"].startswith("no result")
    assert manifest["input"]["objects"] == 3
    # And where the children's time went, per stage, summed from their part records
    stages = manifest["timings"]["child_stages_total"]
    assert set(stages) == {"read", "parse", "score", "format", "write"}
    assert all(seconds >= 0 for seconds in stages.values())
    assert sum(stages.values()) <= manifest["timings"]["child_seconds_total"]
    assert part_key(run["output_prefix"], PREFIX + "a.csv").endswith(".json")
