"""`mlops demo`: the whole model lifecycle on the local cloud, narrated, in one process.

It deploys the synthesized stack into moto, then does what a team would do on AWS: put a spec,
drop labelled CSVs into the data bucket (each upload starts the training state machine through
EventBridge), watch runs promote or reject versions through the quality gate, call the HTTPS
API's handler for predictions, canary a version, and roll production back.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from mlops.cli import CommandError, main
from mlops.observability import SERVICE

MODEL = "fraud"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the model lifecycle on the local cloud (no AWS account needed)",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--rows", type=int, default=4_000, help="rows per training file")
    parser.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    if not 200 <= args.rows <= 1_000_000:
        msg = f"--rows must be between 200 and 1000000, got {args.rows}"
        raise CommandError(msg)
    from mlops.local import LocalCloud

    _say("Deploying the synthesized CDK stack into the local cloud (moto, in this process)")
    with (
        LocalCloud() as cloud,
        tempfile.TemporaryDirectory() as scratch,
        tempfile.NamedTemporaryFile(
            "w", prefix="mlops-demo-", suffix=".log", delete=False
        ) as lambda_logs,
    ):
        _lifecycle(_Demo(cloud, lambda_logs), Path(scratch), args.rows)
        _say(f"Lambda logs and metrics (as CloudWatch would keep them): {lambda_logs.name}")
    return 0


class _Demo:
    """The local cloud, with the Lambdas' own output (logs, EMF metrics) sent to a file."""

    def __init__(self, cloud: Any, lambda_logs: IO[str]) -> None:
        self.cloud = cloud
        self.lambda_logs = lambda_logs

    @contextlib.contextmanager
    def lambdas_running(self) -> Iterator[None]:
        """Send what the Lambdas print (EMF metrics) and log (Powertools) to the log file."""
        handlers = [
            handler
            for handler in logging.getLogger(SERVICE).handlers
            if isinstance(handler, logging.StreamHandler)
        ]
        previous = [handler.setStream(self.lambda_logs) for handler in handlers]
        try:
            with contextlib.redirect_stdout(self.lambda_logs):
                yield
        finally:
            for handler, stream in zip(handlers, previous, strict=True):
                handler.setStream(stream)


def _lifecycle(demo: _Demo, scratch: Path, rows: int) -> None:
    cloud = demo.cloud
    from mlops.local.demo_data import make_rows, make_spec, to_csv

    spec = make_spec(
        MODEL,
        "binary",
        description="card transactions: is this one fraudulent?",
        estimator={"kind": "hist_gradient_boosting", "params": {"max_iter": 60}},
        gate={"metric": "roc_auc", "min_improvement": 0.005, "floor": 0.7},
    )
    spec_file = scratch / "fraud.json"
    spec_file.write_text(json.dumps(spec, indent=2))
    _step("mlops specs put fraud.json", ["specs", "put", str(spec_file)])

    files = [
        ("day-1.csv", 0.20, "the first version needs only the floor: straight to production"),
        ("day-2.csv", 0.05, "cleaner labels: it must beat production by the margin to promote"),
        ("day-3.csv", 0.45, "noisy labels: the gate must reject it, production stays"),
    ]
    for seed, (name, noise, expectation) in enumerate(files, start=1):
        key = f"training/{MODEL}/{name}"
        _say(f"Upload s3://{cloud.settings.data_bucket}/{key} ({expectation})")
        body = to_csv(make_rows("binary", rows, seed=seed, noise=noise))
        with demo.lambdas_running():
            execution = _upload_and_wait(cloud, key, body)
        _step(f"mlops runs show {execution['name']}", ["runs", "show", execution["name"]])

    _step("mlops models list", ["models", "list"])
    _step(f"mlops models history {MODEL}", ["models", "history", MODEL])
    _predict(demo, make_rows("binary", 3, seed=99, noise=0.0))

    _step(
        f"mlops models promote {MODEL} 1 --canary 0.1 (send 10% of traffic to version 1)",
        ["models", "promote", MODEL, "1", "--canary", "0.1", "--reason", "demo canary"],
    )
    _step(
        f"mlops models rollback {MODEL} (production back to the previous version)",
        ["models", "rollback", MODEL, "--reason", "demo rollback"],
    )
    _step(
        f"mlops models show {MODEL} --alias production",
        ["models", "show", MODEL, "--alias", "production"],
    )
    _say("Done: the same handlers and state machine that `cdk deploy` ships ran all of the above.")


def _upload_and_wait(cloud: Any, key: str, body: bytes) -> dict[str, Any]:
    before = {execution["executionArn"] for execution in cloud.executions()}
    cloud.upload(key, body)
    started = [e for e in cloud.executions() if e["executionArn"] not in before]
    if len(started) != 1:
        msg = f"the upload of {key} started {len(started)} executions, expected one"
        raise CommandError(msg)
    result: dict[str, Any] = cloud.wait_for_execution(started[0]["executionArn"], timeout=300)
    return result


def _predict(demo: _Demo, records: list[dict[str, Any]]) -> None:
    from mlops.serving.local_server import proxy_event

    features = [{k: v for k, v in record.items() if k != "label"} for record in records]
    body = json.dumps({"records": features})
    path = f"/v1/models/{MODEL}/predict"
    _say(f"POST {path} {body}")
    event = proxy_event("POST", path, {"content-type": "application/json"}, body)
    with demo.lambdas_running():
        response = demo.cloud.invoke("mlops.handlers.score.handler", event)
    sys.stdout.write(f"HTTP {response['statusCode']}\n")
    sys.stdout.write(json.dumps(json.loads(response["body"]), indent=2) + "\n")


def _step(title: str, argv: list[str]) -> None:
    _say(title)
    code = main(argv)
    if code != 0:
        msg = f"`mlops {' '.join(argv)}` exited with {code}"
        raise CommandError(msg)


def _say(text: str) -> None:
    sys.stdout.write(f"\n==> {text}\n")
    sys.stdout.flush()
