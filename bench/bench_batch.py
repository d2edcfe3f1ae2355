"""Batch scoring benchmark (not a test): a batch run on the local cloud against a pandas +
scikit-learn script, end to end (S3 in, S3 out) on the same data in the same run.

Data: N rows (default 1,000,000) of 24 features like bench_serving.py's (20 numeric, 4
categorical) plus an `id` column, split over --objects CSV objects in the input prefix (plain by
default, --gzip for .csv.gz).
Ours: the REAL synthesized stack (a model with a batch config in the `mlops` context) in the
local cloud; the version is registered and promoted, the run started as `mlops batch` starts it
(start_batch -> StartExecution) and timed from the start until the execution ends (the manifest
is its last step); the row counts are the manifest's. Pin, the Distributed Map over the input
prefix (one batch_score child per object) and Manifest all run.
Reference: per object, download from the same (moto) S3, `pd.read_csv`, the trained
scikit-learn pipeline's `predict_proba`, `to_csv`, upload.
Peak memory: tracemalloc's peak above the starting level (numpy arrays are traced;
onnxruntime's own buffers are not) while each side handles ONE object, in a separate pass after
the timed one (tracing slows allocation). Both sides run in this process, so both include
moto's copy of what they upload; ours streams, the reference holds the whole object.

    python bench/bench_batch.py [--rows 1000000] [--objects 4] [--gzip] [--estimator lr|hgb]
                                [--concurrency 1]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from bench_serving import CATEGORICAL, LEVELS, NUMERIC, build_model

from mlops.artifacts import ArtifactStore
from mlops.batch.start import BatchDeps, BatchRequest, start_batch
from mlops.local import LocalCloud
from mlops.local.template import load_template
from mlops.registry.entities import FeatureSchema, NewVersion, Trigger, TriggerKind

MODEL = "bench-model"
PREFIX = f"batch/input/{MODEL}/"
EXECUTION_TIMEOUT = 3_600.0


def template(concurrency: int) -> dict[str, Any]:
    """The real stack, with MODEL scored in batch (as a user would configure it)."""
    batch = {"schedule": "rate(1 day)", "max_concurrency": concurrency}
    return load_template(overrides={"models": [{"name": MODEL, "batch": batch}]})


def make_csv(rows: int, seed: int) -> bytes:
    """One object's CSV: id, 20 numbers (6 significant digits), 4 categories."""
    rng = np.random.default_rng(seed)
    numbers = np.char.mod("%.6g", rng.normal(size=(rows, 20)))
    cats = rng.choice(LEVELS, size=(rows, 4))
    ids = np.char.add(f"s{seed}-", np.arange(rows).astype(str))
    table = np.concatenate([ids[:, None], numbers, cats], axis=1)
    lines = [",".join(["id", *NUMERIC, *CATEGORICAL])] + [",".join(row) for row in table.tolist()]
    return ("\n".join(lines) + "\n").encode()


def reference(s3: Any, bucket: str, keys: list[str], pipeline: Any, classes: list[str]) -> int:
    import pandas as pd

    rows = 0
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        frame = pd.read_csv(io.BytesIO(body), compression="gzip" if key.endswith(".gz") else None)
        probabilities = pipeline.predict_proba(frame[NUMERIC + CATEGORICAL].to_numpy(dtype=object))
        out = pd.DataFrame(
            {"id": frame["id"], "prediction": np.array(classes)[probabilities.argmax(1)]}
        )
        for index, name in enumerate(classes):
            out[f"probability_{name}"] = probabilities[:, index]
        out["model_version"] = 1
        text = out.to_csv(index=False).encode()
        data = gzip.compress(text, 1) if key.endswith(".gz") else text
        s3.put_object(Bucket=bucket, Key=f"reference/{key}", Body=data)
        rows += len(frame)
    return rows


def ours(cloud: LocalCloud, prefix: str, concurrency: int) -> dict[str, Any]:
    """One batch run over `prefix`, started as `mlops batch` starts it; returns the manifest."""
    settings = cloud.settings
    arn = settings.batch_state_machine_arn
    assert arn, "the stack has no batch state machine"
    client = cloud.client("stepfunctions")

    def start(name: str, document: str) -> str:
        started = client.start_execution(stateMachineArn=arn, name=name, input=document)
        execution_arn: str = started["executionArn"]
        return execution_arn

    request = BatchRequest(
        model=MODEL, input_prefix=prefix, output_prefix=f"batch/output/{MODEL}/",
        time=datetime.now(UTC).isoformat(), kind="manual", source_id="bench",
        max_concurrency=concurrency,
    )  # fmt: skip
    outcome = start_batch(request, BatchDeps(settings.data_bucket, arn, start))
    assert outcome.outcome == "started", outcome
    assert outcome.execution_arn is not None
    assert outcome.input is not None
    execution = cloud.wait_for_execution(outcome.execution_arn, timeout=EXECUTION_TIMEOUT)
    run = outcome.input
    manifest_key = f"{run['output_prefix']}_manifest.json"
    body = cloud.client("s3").get_object(Bucket=run["output_bucket"], Key=manifest_key)["Body"]
    manifest: dict[str, Any] = json.loads(body.read())
    assert execution["status"] == "SUCCEEDED", (execution, manifest)
    return manifest


def timed(run: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def peak_mib(run: Any) -> float:
    """tracemalloc's peak above the level at the start, while `run` runs."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    run()
    peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    tracemalloc.stop()
    return peak


def reference_pipeline(estimator_name: str) -> Any:
    """The same recipe as bench_serving.build_model, as a scikit-learn pipeline."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    table = np.empty((2_000, 24), dtype=object)
    table[:, :20] = rng.normal(size=(2_000, 20))
    table[:, 20:] = rng.choice(LEVELS, size=(2_000, 4))
    score = table[:, :20].astype(float) @ rng.normal(size=20) + (table[:, 20] == "a") * 1.5
    estimator = (
        LogisticRegression(max_iter=1_000)
        if estimator_name == "lr"
        else HistGradientBoostingClassifier()
    )
    prep = ColumnTransformer([
        ("num", SimpleImputer(strategy="median"), list(range(20))),
        ("cat", OneHotEncoder(handle_unknown="ignore"), list(range(20, 24))),
    ])  # fmt: skip
    return Pipeline([("prep", prep), ("model", estimator)]).fit(
        table, np.where(score > 0, "fraud", "ok")
    )


def register(cloud: LocalCloud, onnx: bytes, schema: Any, classes: list[str], name: str) -> None:
    """Version 1 of MODEL, in production (what training and promotion would leave)."""
    store = cloud.registry()
    store.create_model(MODEL, actor="bench")
    ref = ArtifactStore(cloud.client("s3"), cloud.settings.artifact_bucket).put(
        MODEL, 1, "model.onnx", onnx
    )
    store.register_version(MODEL, NewVersion(
        task="binary", estimator=name, classes=classes, artifact=ref,
        feature_schema=[FeatureSchema.model_validate(f) for f in schema],
        trigger=Trigger(kind=TriggerKind.MANUAL, source_id="bench"),
    ), actor="bench")  # fmt: skip
    store.promote(MODEL, 1, actor="bench")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--objects", type=int, default=4)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--estimator", default="lr", choices=["lr", "hgb"])
    parser.add_argument("--concurrency", type=int, default=1, help="the Map's MaxConcurrency")
    args = parser.parse_args()
    onnx, schema, classes = build_model(args.estimator)
    pipeline = reference_pipeline(args.estimator)
    with LocalCloud(template(args.concurrency)) as cloud:
        register(cloud, onnx, schema, classes, args.estimator)
        s3, bucket = cloud.client("s3"), cloud.settings.data_bucket
        keys, size = [], 0
        per = args.rows // args.objects
        suffix = ".csv.gz" if args.gzip else ".csv"
        for index in range(args.objects):
            data = make_csv(per, index)
            body = gzip.compress(data, 6) if args.gzip else data
            key = f"{PREFIX}all/part-{index}{suffix}"
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            keys.append(key)
            size += len(body)
        # one object alone: the warm-up run (model load, imports) and the memory passes
        s3.copy_object(Bucket=bucket, Key=f"{PREFIX}one/part-0{suffix}",
                       CopySource={"Bucket": bucket, "Key": keys[0]})  # fmt: skip
        ours(cloud, f"{PREFIX}one/", args.concurrency)
        manifest, ours_s = timed(lambda: ours(cloud, f"{PREFIX}all/", args.concurrency))
        ref_rows, ref_s = timed(lambda: reference(s3, bucket, keys, pipeline, classes))
        ours_peak = peak_mib(lambda: ours(cloud, f"{PREFIX}one/", args.concurrency))
        ref_peak = peak_mib(lambda: reference(s3, bucket, keys[:1], pipeline, classes))
    ours_rows = manifest["rows_scored"]
    assert manifest["rows_in"] == ours_rows == ref_rows == per * args.objects, manifest
    print(f"{ours_rows:,} rows in {args.objects} objects, {size / 2**20:.0f} MiB"
          f"{' gzipped' if args.gzip else ''}, estimator {args.estimator}, "
          f"Map MaxConcurrency {args.concurrency}\n")  # fmt: skip
    print(f"{'':34} {'seconds':>8} {'rows/s':>10} {'peak MiB':>9}")
    for label, seconds, rows, peak in (
        ("batch run, local cloud (ours)", ours_s, ours_rows, ours_peak),
        ("pandas + scikit-learn reference", ref_s, ref_rows, ref_peak),
    ):
        print(f"{label:34} {seconds:8.2f} {rows / seconds:10,.0f} {peak:9.0f}")
    print(f"\nthroughput ratio (ours / reference): {ref_s / ours_s:.2f}x (target >= 2x)")
    timings = manifest["timings"]
    print(f"manifest: {timings['seconds']:.2f} s from the execution's start to the manifest, "
          f"{timings['child_seconds_total']:.2f} s in batch_score children, "
          f"pinned version {manifest['pinned']['version']}")  # fmt: skip
    totals = timings["child_stages_total"]
    stages = ", ".join(f"{name} {totals[name]:.2f}"
                       for name in ("read", "parse", "score", "format", "write"))  # fmt: skip
    print(f"children's seconds by stage: {stages}")


if __name__ == "__main__":
    main()
