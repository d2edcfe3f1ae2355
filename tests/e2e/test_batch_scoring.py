"""Scheduled and manual batch scoring on the REAL stack: the batch schedule rule, the
Distributed Map state machine and the real batch handlers, in the local cloud."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import timedelta
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from e2e_platform import BATCH_MODEL, BATCH_TOLERANCE, Platform

import mlops.handlers.batch_score as batch_score_handler
from mlops.artifacts import ArtifactStore
from mlops.cli import main
from mlops.local.demo_data import NUMERIC, make_rows, to_csv
from mlops.registry import AliasName

INPUT = f"batch/input/{BATCH_MODEL}/"
ID = "customer_id"


# ---- helpers --------------------------------------------------------------------------------
def feature_rows(count: int, *, seed: int, start_id: int) -> list[dict[str, Any]]:
    """Rows to score: an id column and the features (no label), nothing missing."""
    rows = make_rows("binary", count, seed=seed, missing_rate=0.0)
    return [
        {ID: f"c{start_id + index}", **{k: v for k, v in row.items() if k != "label"}}
        for index, row in enumerate(rows)
    ]


def to_jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def train(platform: Platform, *versions: tuple[int, float, int]) -> None:
    """Train `scores` once per (rows, noise, seed); later versions replace production when
    they are better by the gate's 0.01 accuracy."""
    platform.put_spec(BATCH_MODEL, "binary", gate={"metric": "accuracy", "min_improvement": 0.01})
    for day, (rows, noise, seed) in enumerate(versions, start=1):
        data = to_csv(make_rows("binary", rows, seed=seed, noise=noise))
        execution = platform.upload_and_wait(f"training/{BATCH_MODEL}/day{day}.csv", data)
        assert execution["status"] == "SUCCEEDED", execution


def tick_one_day(platform: Platform, days: int = 1) -> dict[str, Any]:
    """Advance the local clock; the batch schedule starts one execution: wait for it."""
    cloud = platform.cloud
    arn = cloud.settings.batch_state_machine_arn
    before = {e["executionArn"] for e in cloud.executions(arn)}
    cloud.tick(cloud.clock_start + timedelta(days=days, minutes=1))
    [new] = [e for e in cloud.executions(arn) if e["executionArn"] not in before]
    return platform.wait(new["executionArn"])


def run_input(execution: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(execution["input"])
    return document


def manifest_of(platform: Platform, execution: dict[str, Any]) -> dict[str, Any]:
    run = run_input(execution)
    uri = f"s3://{run['output_bucket']}/{run['output_prefix']}_manifest.json"
    document: dict[str, Any] = json.loads(platform.read(uri))
    return document


def read_output(platform: Platform, execution: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The scored rows of output object `name` (relative to the run's output prefix)."""
    run = run_input(execution)
    body = platform.read(f"s3://{run['output_bucket']}/{run['output_prefix']}{name}")
    if name.endswith(".gz"):
        body = gzip.decompress(body)
    text = body.decode()
    if ".csv" in name:
        return list(csv.DictReader(io.StringIO(text)))
    return [json.loads(line) for line in text.splitlines() if line]


def onnx_scores(
    platform: Platform, version: int, rows: list[dict[str, Any]]
) -> tuple[list[str], np.ndarray]:
    """(labels, probabilities) of onnxruntime on the version's artifact, run here."""
    record = platform.store.get_version(BATCH_MODEL, version)
    assert record.artifact is not None
    artifacts = ArtifactStore(platform.cloud.client("s3"), platform.cloud.settings.artifact_bucket)
    session = ort.InferenceSession(artifacts.load_ref(record.artifact))
    feeds: dict[str, np.ndarray] = {
        name: np.array([[float(row[name])] for row in rows], dtype=np.float32) for name in NUMERIC
    }
    feeds["color"] = np.array([[row["color"]] for row in rows], dtype=object)
    labels, probabilities = session.run(["label", "probabilities"], feeds)
    return [str(label) for label in labels], np.asarray(probabilities)


def assert_scored_by(
    platform: Platform, version: int, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]
) -> None:
    assert [row[ID] for row in outputs] == [row[ID] for row in inputs]  # ids pass through
    labels, probabilities = onnx_scores(platform, version, inputs)
    assert [row["prediction"] for row in outputs] == labels
    scored = np.array([[float(row[f"probability_{c}"]) for c in ("no", "yes")] for row in outputs])
    np.testing.assert_array_equal(scored.astype(np.float32), probabilities)
    assert {int(row["model_version"]) for row in outputs} == {version}


# ---- the schedule scores every object --------------------------------------------------------
def test_one_tick_scores_every_object_with_the_pinned_production_version(
    platform: Platform,
) -> None:
    # Given a model in production and csv/jsonl objects, gzipped or not, under its input prefix
    train(platform, (300, 0.05, 1))
    inputs = {
        "day/a.csv": feature_rows(40, seed=11, start_id=0),
        "day/b.csv.gz": feature_rows(25, seed=12, start_id=100),
        "c.jsonl": feature_rows(30, seed=13, start_id=200),
        "d.jsonl.gz": feature_rows(15, seed=14, start_id=300),
    }
    bodies = {
        "day/a.csv": to_csv(inputs["day/a.csv"]),
        "day/b.csv.gz": gzip.compress(to_csv(inputs["day/b.csv.gz"])),
        "c.jsonl": to_jsonl(inputs["c.jsonl"]),
        "d.jsonl.gz": gzip.compress(to_jsonl(inputs["d.jsonl.gz"])),
    }
    for name, body in bodies.items():
        platform.cloud.upload(INPUT + name, body)

    # When a day passes on the local clock
    execution = tick_one_day(platform)

    # Then the run succeeded and its manifest accounts for every row of every object
    assert execution["status"] == "SUCCEEDED", execution
    production = platform.store.resolve(BATCH_MODEL, alias=AliasName.PRODUCTION)
    assert production.artifact is not None
    manifest = manifest_of(platform, execution)
    assert manifest["status"] == "succeeded"
    assert manifest["pinned"]["version"] == production.version == 1
    assert manifest["pinned"]["sha256"] == production.artifact.sha256
    total = sum(len(rows) for rows in inputs.values())
    assert manifest["rows_in"] == total
    assert manifest["rows_scored"] + manifest["rows_rejected"] == manifest["rows_in"]
    assert manifest["rows_rejected"] == 0
    assert manifest["children"] == {"succeeded": 4, "failed": 0}
    assert manifest["input"]["objects"] == 4
    assert manifest["trigger"]["kind"] == "schedule"
    # and each output, in its input's format, holds onnxruntime's predictions for its rows
    outputs = {
        "day/a.csv": "day/a.csv",
        "day/b.csv.gz": "day/b.csv.gz",
        "c.jsonl": "c.jsonl",
        "d.jsonl.gz": "d.jsonl.gz",
    }
    for name, output in outputs.items():
        assert_scored_by(platform, 1, inputs[name], read_output(platform, execution, output))


# ---- the pinned version holds for the whole run ----------------------------------------------
def test_promoting_during_a_run_does_not_change_the_version_it_uses(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given version 2 in production (version 1 archived) and three objects to score
    train(platform, (80, 0.45, 1), (600, 0.0, 2))
    assert platform.store.resolve(BATCH_MODEL).version == 2
    inputs = {f"part-{n}.csv": feature_rows(20, seed=20 + n, start_id=100 * n) for n in range(3)}
    for name, rows in inputs.items():
        platform.cloud.upload(INPUT + name, to_csv(rows))
    # and a child whose first call promotes version 1 back first (after Pin, before scoring)
    real_score_object = batch_score_handler.score_object
    promotions: list[int] = []

    def promote_then_score(*args: Any, **kwargs: Any) -> Any:
        if not promotions:
            platform.store.promote(BATCH_MODEL, 1, actor="e2e", reason="rollback mid-run")
            promotions.append(1)
        return real_score_object(*args, **kwargs)

    monkeypatch.setattr(batch_score_handler, "score_object", promote_then_score)

    # When the scheduled run scores them
    execution = tick_one_day(platform)

    # Then production moved during the run, but every row was scored by the pinned version 2
    assert execution["status"] == "SUCCEEDED", execution
    assert promotions == [1]
    assert platform.store.resolve(BATCH_MODEL).version == 1
    manifest = manifest_of(platform, execution)
    assert manifest["pinned"]["version"] == 2
    for name, rows in inputs.items():
        assert_scored_by(platform, 2, rows, read_output(platform, execution, name))


# ---- bad rows, unreadable objects, tolerance -------------------------------------------------
def test_bad_rows_go_to_errors_and_unreadable_objects_fail_only_their_child(
    platform: Platform,
) -> None:
    # Given good rows with a malformed CSV row and a malformed JSON line among them
    train(platform, (300, 0.05, 1))
    csv_rows = feature_rows(10, seed=31, start_id=0)
    csv_body = to_csv(csv_rows).decode().splitlines()
    csv_body.insert(4, "c-bad,abc,0.5,0.1,red")  # physical line 5: x1 is not a number
    platform.cloud.upload(INPUT + "mixed.csv", "\n".join(csv_body) + "\n")
    json_rows = feature_rows(6, seed=32, start_id=50)
    json_lines = to_jsonl(json_rows).decode().splitlines()
    json_lines.insert(2, "{not json")  # line 3
    platform.cloud.upload(INPUT + "mixed.jsonl", "\n".join(json_lines) + "\n")
    platform.cloud.upload(INPUT + "good.csv", to_csv(feature_rows(5, seed=33, start_id=90)))
    # and one object that cannot be read at all (named .gz, not gzip): 1 of 4 <= 40%
    platform.cloud.upload(INPUT + "broken.csv.gz", b"x1,x2\n1,2\n")
    assert BATCH_TOLERANCE >= 25

    # When the schedule runs
    execution = tick_one_day(platform)

    # Then the run succeeds within the tolerance; the broken object is a failed child
    assert execution["status"] == "SUCCEEDED", execution
    manifest = manifest_of(platform, execution)
    assert manifest["status"] == "succeeded"
    assert manifest["children"] == {"succeeded": 3, "failed": 1}
    [failed] = manifest["failed_children"]
    assert failed["key"] == INPUT + "broken.csv.gz"
    assert failed["error"]
    # and nothing is dropped: each bad row is in the errors object with its line and reason
    assert manifest["rows_in"] == 10 + 1 + 6 + 1 + 5
    assert manifest["rows_rejected"] == 2
    assert manifest["rows_scored"] + manifest["rows_rejected"] == manifest["rows_in"]
    run = run_input(execution)
    for name, line, field in (("mixed.csv", 5, "x1"), ("mixed.jsonl", 3, None)):
        uri = f"s3://{run['output_bucket']}/{run['output_prefix']}errors/{name}.errors.jsonl"
        [error] = [json.loads(text) for text in platform.read(uri).decode().splitlines()]
        assert error["line"] == line
        assert error["reason"]
        assert error["field"] == field
    assert_scored_by(platform, 1, csv_rows, read_output(platform, execution, "mixed.csv"))
    assert_scored_by(platform, 1, json_rows, read_output(platform, execution, "mixed.jsonl"))

    # When a second unreadable object arrives: 2 of 5 objects fail, 40% is still tolerated,
    # a third makes it 3 of 6 (50%), beyond the tolerance
    platform.cloud.upload(INPUT + "broken-2.csv.gz", b"not gzip")
    platform.cloud.upload(INPUT + "broken-3.csv.gz", b"not gzip either")
    execution = tick_one_day(platform, days=2)

    # Then that run fails, and its manifest says so and names every failed object
    assert execution["status"] == "FAILED", execution
    manifest = manifest_of(platform, execution)
    assert manifest["status"] == "failed"
    assert manifest["children"] == {"succeeded": 3, "failed": 3}
    assert sorted(child["key"] for child in manifest["failed_children"]) == [
        INPUT + "broken-2.csv.gz",
        INPUT + "broken-3.csv.gz",
        INPUT + "broken.csv.gz",
    ]


# ---- idempotency and the CLI ---------------------------------------------------------------
def test_a_redelivered_schedule_event_starts_nothing_new(platform: Platform) -> None:
    # Given a scheduled run that happened
    train(platform, (300, 0.05, 1))
    platform.cloud.upload(INPUT + "a.csv", to_csv(feature_rows(5, seed=41, start_id=0)))
    execution = tick_one_day(platform)
    [delivery] = [d for d in platform.cloud.deliveries if d.payload.get("source") == "mlops.batch"]

    # When EventBridge delivers the same event again
    outcome = platform.cloud.invoke("mlops.handlers.batch_trigger.handler", delivery.payload)

    # Then it is a duplicate of the same run, and no execution starts
    assert outcome["outcome"] == "duplicate"
    assert outcome["run_id"] == execution["name"]
    arn = platform.cloud.settings.batch_state_machine_arn
    assert [e["name"] for e in platform.cloud.executions(arn)] == [execution["name"]]


def test_cli_batch_wait_prints_the_manifest_summary(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a model in production and two objects
    train(platform, (300, 0.05, 1))
    platform.cloud.upload(INPUT + "manual/a.csv", to_csv(feature_rows(7, seed=51, start_id=0)))
    platform.cloud.upload(INPUT + "manual/b.jsonl", to_jsonl(feature_rows(3, seed=52, start_id=9)))
    bucket = platform.cloud.settings.data_bucket
    argv = ["batch", BATCH_MODEL, "--input", f"s3://{bucket}/{INPUT}manual/",
            "--time", "2026-03-01T10:00:00Z", "--wait"]  # fmt: skip

    # When a user scores them by hand and waits
    assert main(argv) == 0

    # Then the summary names the pinned version, the row counts and the manifest
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("{")]
    summary = {
        key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines[1:])
    }
    version = platform.store.resolve(BATCH_MODEL)
    assert version.artifact is not None
    assert summary["status"] == "succeeded"
    assert summary["pinned"] == f"version 1 (sha256 {version.artifact.sha256})"
    assert summary["rows"] == "in 10, scored 10, rejected 0"
    assert summary["objects"] == "succeeded 2, failed 0"
    output = f"s3://{bucket}/batch/output/{BATCH_MODEL}/{summary['run']}/"
    assert summary["manifest"] == f"{output}_manifest.json"
    assert json.loads(platform.read(summary["manifest"]))["trigger"]["kind"] == "manual"

    # And the same request again is the same run: nothing new starts
    assert main(argv[:-1]) == 0
    assert " duplicate " in capsys.readouterr().out
    arn = platform.cloud.settings.batch_state_machine_arn
    assert len(platform.cloud.executions(arn)) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["batch", "ghost"], "unknown model 'ghost'"),
        (["batch", BATCH_MODEL, "--input", "s3://elsewhere/batch/input/x/"], "--input: "),
        (["batch", BATCH_MODEL, "--max-concurrency", "0"], "max_concurrency: "),
    ],
)
def test_cli_batch_errors_are_one_line(
    platform: Platform, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    platform.put_spec(BATCH_MODEL, "binary")
    assert main(argv) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert message in error
