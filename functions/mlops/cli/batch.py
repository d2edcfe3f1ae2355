"""`mlops batch NAME --input s3://...`: score every object under a prefix with the production
version, by hand (the same run a batch schedule starts)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from mlops.aws import client
from mlops.batch.start import (
    DEFAULT_MAX_CONCURRENCY,
    BatchDeps,
    BatchRequest,
    BatchRequestError,
    default_input_prefix,
    default_output_prefix,
    prefix_of,
    start_batch,
)
from mlops.cli import CommandError, output
from mlops.cli.context import add_target_arguments, cli_actor, open_registry_for, resolve_settings
from mlops.pipeline.wiring import start_execution_with
from mlops.registry.errors import ModelNotFoundError
from mlops.registry.store import RegistryStore

POLL_SECONDS = 1.0
FINISHED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


def register(subparsers: Any) -> None:
    batch = subparsers.add_parser(
        "batch", help="score every object under an S3 prefix with the production version"
    )
    batch.add_argument("name", help="model name")
    batch.add_argument(
        "--input", help="s3://<data bucket>/batch/input/... (default: batch/input/NAME/)"
    )
    batch.add_argument(
        "--output",
        help="s3://<data bucket>/batch/output/... (default: batch/output/NAME/); "
        "the run writes under <output>/<run id>/",
    )
    batch.add_argument(
        "--time",
        help="the run's time, ISO 8601 (default: now); the same model, input and time "
        "start one run",
    )
    batch.add_argument("--max-concurrency", type=int, default=DEFAULT_MAX_CONCURRENCY)
    batch.add_argument(
        "--tolerated-failure-percentage",
        type=float,
        default=0.0,
        help="the run fails when more than this percentage of objects fail (default: 0)",
    )
    batch.add_argument("--wait", action="store_true", help="wait and print the manifest")
    batch.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait (--wait)")
    add_target_arguments(batch)
    batch.set_defaults(func=_batch)


def _batch(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    if not settings.batch_state_machine_arn:
        msg = "no batch state machine: set MLOPS_BATCH_STATE_MACHINE_ARN or deploy the stack"
        raise CommandError(msg)
    bucket = settings.data_bucket
    try:
        request = BatchRequest(
            model=args.name,
            input_prefix=prefix_of(args.input, bucket, "--input")
            if args.input
            else default_input_prefix(args.name),
            output_prefix=prefix_of(args.output, bucket, "--output")
            if args.output
            else default_output_prefix(args.name),
            time=args.time or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            kind="manual",
            source_id=cli_actor(),
            max_concurrency=args.max_concurrency,
            tolerated_failure_percentage=args.tolerated_failure_percentage,
        )
    except BatchRequestError as error:
        raise CommandError(str(error)) from None
    store = open_registry_for(args)
    deps = BatchDeps(
        data_bucket=bucket,
        state_machine_arn=settings.batch_state_machine_arn,
        start_execution=start_execution_with(settings.batch_state_machine_arn),
        model_exists=lambda name: _model_exists(store, name),
    )
    outcome = start_batch(request, deps)
    if outcome.outcome == "rejected":
        raise CommandError(outcome.reason or "the run was rejected")
    output.write(f"batch run {outcome.run_id} {outcome.outcome} ({outcome.execution_arn})")
    if not args.wait:
        return 0
    status = _wait_for(outcome.execution_arn or "", args.timeout)
    run_input = outcome.input or {}
    manifest = _manifest(run_input["output_bucket"], run_input["output_prefix"])
    if manifest is None:
        output.write(f"status:   {status.lower()} (no manifest was written)")
        return 1
    _print_manifest(manifest, f"s3://{run_input['output_bucket']}/{run_input['output_prefix']}")
    return 0 if manifest.get("status") == "succeeded" else 1


def _model_exists(store: RegistryStore, name: str) -> bool:
    try:
        store.get_model(name)
    except ModelNotFoundError:
        return False
    return True


def _wait_for(execution_arn: str, timeout: float) -> str:
    sfn = client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = str(sfn.describe_execution(executionArn=execution_arn)["status"])
        if status in FINISHED:
            return status
        time.sleep(POLL_SECONDS)
    msg = f"the batch run did not finish within {timeout:.0f} s ({execution_arn})"
    raise CommandError(msg)


def _manifest(bucket: str, prefix: str) -> dict[str, Any] | None:
    s3 = client("s3")
    try:
        body = s3.get_object(Bucket=bucket, Key=f"{prefix}_manifest.json")["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    document: dict[str, Any] = json.loads(body)
    return document


def _print_manifest(manifest: dict[str, Any], output_uri: str) -> None:
    pinned = manifest.get("pinned") or {}
    children = manifest.get("children") or {}
    pairs = [
        ("run", str(manifest.get("run_id"))),
        ("model", str(manifest.get("model"))),
        ("status", str(manifest.get("status"))),
        (
            "pinned",
            f"version {pinned['version']} (sha256 {pinned['sha256']})" if pinned else "-",
        ),
        (
            "rows",
            (
                f"in {manifest.get('rows_in', 0)}, scored {manifest.get('rows_scored', 0)}, "
                f"rejected {manifest.get('rows_rejected', 0)}"
            ),
        ),
        (
            "objects",
            f"succeeded {children.get('succeeded', 0)}, failed {children.get('failed', 0)}",
        ),
        ("output", output_uri),
        ("manifest", f"{output_uri}_manifest.json"),
    ]
    if manifest.get("reason"):
        pairs.insert(3, ("reason", str(manifest["reason"])))
    output.write(output.fields(pairs))
    failed = manifest.get("failed_children") or []
    if failed:
        rows = [
            [str(child.get("key")), output.short(str(child.get("error")), 90)] for child in failed
        ]
        output.write("\n" + output.table(["FAILED OBJECT", "ERROR"], rows))
