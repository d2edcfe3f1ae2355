"""Serving benchmark (not a test): the score handler against bare onnxruntime, warm and cold.

Warm: single-record predict through the handler (API Gateway event in, response out, registry
and artifacts on moto, model cached) against `InferenceSession.run` on the same model and row,
in one run: p50, p99 and their ratio.
Cold: a fresh process importing the handler, loading the model from S3 (a moto server) and
answering its first prediction, against a fresh process doing `import onnxruntime` + load +
predict; both with bytecode for everything they import (the deployed layers and code ship it).
Targets: handler p50 <= 3x raw, handler p99 < 1 ms, cold init <= 2x bare.

    python bench/bench_serving.py [--estimator lr|hgb|rf] [--iterations 5000] [--cold-runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from moto import mock_aws
from moto.server import ThreadedMotoServer
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from mlops import aws
from mlops.artifacts import ArtifactStore
from mlops.handlers.score import handler
from mlops.local.moto_transport import moto_http
from mlops.local.tables import create_registry_table
from mlops.registry.dynamodb import DynamoDBRegistryStore
from mlops.registry.entities import FeatureSchema, NewVersion, Trigger, TriggerKind
from mlops.serving.local_server import LocalLambdaContext, proxy_event
from mlops.settings import reset_settings

NUMERIC = [f"n{i:02d}" for i in range(20)]
CATEGORICAL = ["c0", "c1", "c2", "c3"]
LEVELS = ["a", "b", "c", "d", "e"]
TABLE, ARTIFACTS, DATA = "bench-registry", "bench-artifacts", "bench-data"
MODEL = "bench-model"


# ---- model ------------------------------------------------------------------------------------
def build_model(estimator: str) -> tuple[bytes, list[dict[str, Any]], list[str]]:
    """A 24-feature binary classifier converted per the artifact conventions (bench-only)."""

    rng = np.random.default_rng(0)
    rows = 2_000
    table = np.empty((rows, 24), dtype=object)
    table[:, :20] = rng.normal(size=(rows, 20))
    table[:, 20:] = rng.choice(LEVELS, size=(rows, 4))
    score = table[:, :20].astype(float) @ rng.normal(size=20) + (table[:, 20] == "a") * 1.5
    labels = np.where(score > 0, "fraud", "ok")
    model = {
        "lr": LogisticRegression(max_iter=1_000),
        "hgb": HistGradientBoostingClassifier(max_iter=100),
        "rf": RandomForestClassifier(n_estimators=100, random_state=0),
    }[estimator]
    prep = ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="median"), list(range(20))),
            ("cat", OneHotEncoder(handle_unknown="ignore"), list(range(20, 24))),
        ]
    )
    pipeline = Pipeline([("prep", prep), ("model", model)]).fit(table, labels)
    types = [(n, FloatTensorType([None, 1])) for n in NUMERIC]
    types += [(c, StringTensorType([None, 1])) for c in CATEGORICAL]
    onnx = convert_sklearn(
        pipeline, initial_types=types, options={id(model): {"zipmap": False}}
    ).SerializeToString()
    schema = [{"name": n, "type": "numeric"} for n in NUMERIC]
    schema += [{"name": c, "type": "categorical", "categories": LEVELS} for c in CATEGORICAL]
    return onnx, schema, [str(c) for c in pipeline.classes_]


RECORD: dict[str, Any] = {
    **{n: 0.25 * i for i, n in enumerate(NUMERIC)},
    **dict.fromkeys(CATEGORICAL, "b"),
}


def raw_feeds() -> dict[str, np.ndarray]:
    feeds = {n: np.array([[RECORD[n]]], dtype=np.float32) for n in NUMERIC}
    feeds.update({c: np.array([[RECORD[c]]], dtype=object) for c in CATEGORICAL})
    return feeds


# ---- moto world -------------------------------------------------------------------------------
def aws_environment(endpoint: str | None = None) -> dict[str, str]:
    env = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLOPS_REGISTRY_TABLE": TABLE,
        "MLOPS_ARTIFACT_BUCKET": ARTIFACTS,
        "MLOPS_DATA_BUCKET": DATA,
        "POWERTOOLS_METRICS_NAMESPACE": "MLOps",
    }
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def populate(onnx: bytes, schema: list[dict[str, Any]], classes: list[str]) -> None:
    """Create the table and buckets and register + promote the model (current AWS endpoint)."""

    create_registry_table(aws.client("dynamodb"), TABLE)
    for bucket in (ARTIFACTS, DATA):
        aws.client("s3").create_bucket(Bucket=bucket)
    store = DynamoDBRegistryStore(TABLE, aws.client("dynamodb"))
    store.create_model(MODEL, actor="bench")
    ref = ArtifactStore(aws.client("s3"), ARTIFACTS).put(MODEL, 1, "model.onnx", onnx)
    draft = NewVersion(
        task="classification",
        estimator="bench",
        feature_schema=[FeatureSchema.model_validate(f) for f in schema],
        classes=classes,
        artifact=ref,
        trigger=Trigger(kind=TriggerKind.MANUAL, source_id="bench"),
    )
    store.register_version(MODEL, draft, actor="bench")
    store.promote(MODEL, 1, actor="bench")


def predict_event() -> dict[str, Any]:

    body = json.dumps({"record": RECORD})
    return proxy_event("POST", f"/v1/models/{MODEL}/predict", {"X-Request-Id": "bench-1"}, body)


# ---- warm -------------------------------------------------------------------------------------
def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    values = np.array(samples_ns) / 1_000.0
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def warm(onnx: bytes, schema: list[dict[str, Any]], classes: list[str], n: int) -> dict[str, Any]:
    os.environ.update(aws_environment())
    with mock_aws(), moto_http():
        populate(onnx, schema, classes)
        event, context = predict_event(), LocalLambdaContext()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])
        feeds = raw_feeds()
        with Path(os.devnull).open("w") as sink, contextlib.redirect_stdout(sink):
            first = handler(event, context)
            assert first["statusCode"] == 200, first["body"]
            for _ in range(500):
                handler(event, context)
                session.run(None, feeds)
            handler_ns, raw_ns = [], []
            clock = time.perf_counter_ns
            for _ in range(n):  # interleaved, so both see the same machine state
                start = clock()
                handler(event, context)
                handler_ns.append(clock() - start)
                start = clock()
                session.run(None, feeds)
                raw_ns.append(clock() - start)
        served = json.loads(first["body"])["predictions"][0]["probabilities"]
        direct = session.run(None, feeds)[1][0]
        assert np.array_equal(np.array(list(served.values()), dtype=np.float32), direct)
    return {"handler": percentiles(handler_ns), "raw": percentiles(raw_ns)}


# ---- cold -------------------------------------------------------------------------------------
COLD_HANDLER = r"""
import json, sys, time
t0 = time.perf_counter()
from mlops.handlers.score import handler
t1 = time.perf_counter()
class Context:  # what Lambda passes (and Powertools reads); the event was built by the parent
    function_name, function_version, memory_limit_in_mb = "score", "$LATEST", 1024
    aws_request_id, invoked_function_arn = "cold-1", "arn:aws:lambda:us-east-1:1:function:score"
result = handler(json.loads(sys.argv[1]), Context())
t2 = time.perf_counter()
assert result["statusCode"] == 200, result
sdk = sorted(m for m in ("botocore.client", "boto3", "pydantic") if m in sys.modules)
sys.stderr.write(json.dumps({"import": t1 - t0, "total": t2 - t0, "sdk": sdk}) + "\n")
"""

COLD_BARE = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import onnxruntime as ort
t1 = time.perf_counter()
options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(open(sys.argv[1], "rb").read(), options,
                               providers=["CPUExecutionProvider"])
record = json.loads(sys.argv[2])["record"]
feeds = {k: np.array([[v]], dtype=object if isinstance(v, str) else np.float32)
         for k, v in record.items()}
session.run(None, feeds)
t2 = time.perf_counter()
sys.stderr.write(json.dumps({"import": t1 - t0, "total": t2 - t0}) + "\n")
"""

IMPORT_BREAKDOWN = r"""
import json, sys, time
steps = {}
for label, module in [("numpy + onnxruntime", "onnxruntime"),
                      ("powertools logger", "aws_lambda_powertools.logging"),
                      ("signed HTTP client (mlops.aws_http)", "mlops.aws_http"),
                      ("mlops.settings", "mlops.settings"),
                      ("mlops serving + handler", "mlops.handlers.score")]:
    t = time.perf_counter()
    __import__(module)
    steps[label] = time.perf_counter() - t
sys.stderr.write(json.dumps(steps) + "\n")
"""


def _child(script: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-c", script, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr[-3000:])
    result: dict[str, Any] = json.loads(completed.stderr.strip().splitlines()[-1])
    return result


def compile_package() -> None:
    """Bytecode for the mlops package, as the deployed code asset ships it (like the installed
    onnxruntime the baseline imports); without it every run would compile it from source."""
    import compileall

    import mlops

    compileall.compile_dir(Path(mlops.__file__).parent, quiet=1)


def cold(
    onnx: bytes, schema: list[dict[str, Any]], classes: list[str], runs: int
) -> dict[str, Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the moto server's access log
    compile_package()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = aws_environment(f"http://{host}:{port}")
        saved = dict(os.environ)
        os.environ.update(env)

        aws.reset_clients()
        reset_settings()
        populate(onnx, schema, classes)
        os.environ.clear()
        os.environ.update(saved)
        body = json.dumps({"record": RECORD})
        with tempfile.TemporaryDirectory() as scratch:
            model_file = Path(scratch) / "model.onnx"
            model_file.write_bytes(onnx)
            handler_runs, bare_runs = [], []
            for _ in range(runs):
                handler_runs.append(_child(COLD_HANDLER, [json.dumps(predict_event())], env))
                bare_runs.append(_child(COLD_BARE, [str(model_file), body], {}))
            breakdown = _child(IMPORT_BREAKDOWN, [], env)
    finally:
        server.stop()

    def median(runs: list[dict[str, Any]], key: str) -> float:
        return statistics.median(run[key] for run in runs) * 1_000.0

    return {
        "handler": (median(handler_runs, "import"), median(handler_runs, "total")),
        "sdk": sorted({m for run in handler_runs for m in run["sdk"]}),
        "bare": (median(bare_runs, "import"), median(bare_runs, "total")),
        "breakdown": {k: v * 1_000.0 for k, v in breakdown.items()},
    }


# ---- report -----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimator", choices=["lr", "hgb", "rf"], default="lr")
    parser.add_argument("--iterations", type=int, default=5_000)
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()

    onnx, schema, classes = build_model(args.estimator)
    warm_result = warm(onnx, schema, classes, args.iterations)
    cold_result = cold(onnx, schema, classes, args.cold_runs)

    (h50, h99), (r50, r99) = warm_result["handler"], warm_result["raw"]
    print(f"\nWarm single-record predict, {args.estimator}, 24 features, n={args.iterations}")
    print(f"{'path':<34}{'p50 (us)':>12}{'p99 (us)':>12}")
    print(f"{'handler (event -> response)':<34}{h50:>12.1f}{h99:>12.1f}")
    print(f"{'raw InferenceSession.run':<34}{r50:>12.1f}{r99:>12.1f}")
    print(f"{'ratio handler / raw':<34}{h50 / r50:>12.2f}{h99 / r99:>12.2f}")
    print(
        f"targets: p50 ratio <= 3.00 -> {'met' if h50 <= 3 * r50 else 'NOT met'}; "
        f"handler p99 < 1000 us -> {'met' if h99 < 1_000 else 'NOT met'}"
    )

    (hi, ht), (bi, bt) = cold_result["handler"], cold_result["bare"]
    print(f"\nCold init in a fresh process (median of {args.cold_runs})")
    print(f"{'path':<44}{'imports (ms)':>14}{'total (ms)':>12}")
    print(f"{'handler: import, load from S3, 1st predict':<44}{hi:>14.1f}{ht:>12.1f}")
    print(f"{'bare: import ort, load file, 1st predict':<44}{bi:>14.1f}{bt:>12.1f}")
    print(f"{'ratio handler / bare':<44}{hi / bi:>14.2f}{ht / bt:>12.2f}")
    print(f"target: cold ratio <= 2.00 -> {'met' if ht <= 2 * bt else 'NOT met'}")
    print(
        f"handler's first request (registry reads, artifact fetch + verify, session, predict): "
        f"{ht - hi:.1f} ms; AWS SDK / pydantic loaded on the way: {cold_result['sdk'] or 'none'}"
    )
    print("\nImport cost, in order, in a fresh process (each step excludes earlier ones):")
    breakdown = cold_result["breakdown"]
    for label, ms in breakdown.items():
        print(f"  {label:<40}{ms:>8.1f} ms")
    print(f"  {'total':<40}{sum(breakdown.values()):>8.1f} ms")


if __name__ == "__main__":
    main()
