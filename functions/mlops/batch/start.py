"""Start a batch scoring run (docs/batch.md): check the request, build the execution input of
the batch state machine, start it once.

A run is identified by (model, input, scheduled or requested time): its id is the execution's
name, so a second start of the same run is a "duplicate" and starts nothing. The production
version is not resolved here: the state machine's Pin step does that, once per run. No boto3:
the caller injects `start_execution` (the trigger Lambda and the CLI wire it to Step Functions).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from mlops.pipeline.errors import ExecutionExistsError
from mlops.registry.entities import validate_model_name

BATCH_SOURCE = "mlops.batch"
INPUT_AREA = "batch/input/"
OUTPUT_AREA = "batch/output/"
MAX_CONCURRENCY_LIMIT = 10_000
"""Step Functions runs at most 10,000 children of a Distributed Map at once."""
DEFAULT_MAX_CONCURRENCY = 10
HASH_DIGITS = 20

Kind = Literal["schedule", "manual"]
Outcome = Literal["started", "duplicate", "rejected"]


class BatchRequestError(ValueError):
    """The request cannot start a run; the message names the field at fault."""


@dataclass(frozen=True)
class BatchRequest:
    """What to score. Prefixes are keys in the data bucket; the run writes under
    `<output_prefix><run_id>/`."""

    model: str
    input_prefix: str
    output_prefix: str
    time: str
    kind: Kind
    source_id: str
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    tolerated_failure_percentage: float = 0.0


@dataclass(frozen=True)
class BatchDeps:
    data_bucket: str
    state_machine_arn: str
    start_execution: Callable[[str, str], str]
    """(execution name, input JSON) -> execution ARN; ExecutionExistsError if the name is taken."""
    model_exists: Callable[[str], bool] | None = None
    """Whether the registry knows the model; None skips the check (the trigger function may
    only start executions; Pin checks the registry anyway)."""


@dataclass(frozen=True)
class BatchOutcome:
    outcome: Outcome
    model: str | None
    run_id: str | None = None
    execution_arn: str | None = None
    input: dict[str, Any] | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}


def batch_run_id(model: str, bucket: str, input_prefix: str, time: str) -> str:
    """`<model>-batch-<20 hex>`: at most 40 + 7 + 20 characters, a valid execution name."""
    identity = "\x1f".join((model, bucket, input_prefix, time))
    return f"{model}-batch-{hashlib.sha256(identity.encode()).hexdigest()[:HASH_DIGITS]}"


def default_input_prefix(model: str) -> str:
    return f"{INPUT_AREA}{model}/"


def default_output_prefix(model: str) -> str:
    return f"{OUTPUT_AREA}{model}/"


def parse_schedule_event(event: Any) -> BatchRequest:
    """The schedule rule's input: {"source": "mlops.batch", "model", "time", "input_prefix",
    "output_prefix", "max_concurrency", "tolerated_failure_percentage"}."""
    if not isinstance(event, dict) or event.get("source") != BATCH_SOURCE:
        source = event.get("source") if isinstance(event, dict) else type(event).__name__
        msg = f"unsupported batch trigger event: source={source!r}, expected {BATCH_SOURCE!r}"
        raise BatchRequestError(msg)
    model = _text(event, "model")
    return checked(
        BatchRequest(
            model=model,
            input_prefix=_text(event, "input_prefix", default_input_prefix(model)),
            output_prefix=_text(event, "output_prefix", default_output_prefix(model)),
            time=_text(event, "time"),
            kind="schedule",
            source_id=f"{BATCH_SOURCE}/{model}",
            max_concurrency=event.get("max_concurrency", DEFAULT_MAX_CONCURRENCY),
            tolerated_failure_percentage=event.get("tolerated_failure_percentage", 0.0),
        )
    )


def prefix_of(uri: str, data_bucket: str, field: str) -> str:
    """`s3://<data bucket>/<prefix>` -> the prefix (with a trailing "/")."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        msg = f"{field}: expected s3://{data_bucket}/{INPUT_AREA}..., got {uri!r}"
        raise BatchRequestError(msg)
    bucket, prefix = uri[5:].split("/", 1)
    if bucket != data_bucket:
        msg = f"{field}: batch data lives in the data bucket {data_bucket}, not {bucket}"
        raise BatchRequestError(msg)
    return prefix if prefix.endswith("/") else f"{prefix}/"


def checked(request: BatchRequest) -> BatchRequest:
    """The request with its time in canonical UTC form; BatchRequestError naming the field."""
    try:
        validate_model_name(request.model)
    except ValueError as error:
        raise BatchRequestError(f"model: {error}") from None
    _check_prefix("input_prefix", request.input_prefix, INPUT_AREA)
    _check_prefix("output_prefix", request.output_prefix, OUTPUT_AREA)
    concurrency = request.max_concurrency
    if (
        not isinstance(concurrency, int)
        or isinstance(concurrency, bool)
        or not 1 <= concurrency <= MAX_CONCURRENCY_LIMIT
    ):
        msg = f"max_concurrency: expected an integer from 1 to {MAX_CONCURRENCY_LIMIT}"
        raise BatchRequestError(msg)
    tolerance = request.tolerated_failure_percentage
    if (
        not isinstance(tolerance, int | float)
        or isinstance(tolerance, bool)
        or not math.isfinite(tolerance)
        or not 0 <= tolerance <= 100
    ):
        msg = "tolerated_failure_percentage: expected a number from 0 to 100"
        raise BatchRequestError(msg)
    return BatchRequest(
        **{
            **request.__dict__,
            "time": canonical_time(request.time),
            "tolerated_failure_percentage": float(tolerance),
        }
    )


def canonical_time(value: str) -> str:
    """ISO 8601 -> `YYYY-MM-DDTHH:MM:SSZ` in UTC (a time without zone is UTC)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        msg = f"time: expected an ISO 8601 time such as 2026-01-01T00:00:00Z, got {value!r}"
        raise BatchRequestError(msg) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def execution_input(request: BatchRequest, run_id: str, data_bucket: str) -> dict[str, Any]:
    """The batch state machine's input (the contract in docs/batch.md)."""
    return {
        "run_id": run_id,
        "model": request.model,
        "input_bucket": data_bucket,
        "input_prefix": request.input_prefix,
        "output_bucket": data_bucket,
        "output_prefix": f"{request.output_prefix}{run_id}/",
        "trigger": {"kind": request.kind, "time": request.time, "source_id": request.source_id},
        "max_concurrency": request.max_concurrency,
        "tolerated_failure_percentage": request.tolerated_failure_percentage,
    }


def start_batch(request: BatchRequest, deps: BatchDeps) -> BatchOutcome:
    """Start the run `request` asks for, once; "rejected" (with the reason) if it cannot run."""
    try:
        request = checked(request)
    except BatchRequestError as error:
        return BatchOutcome(outcome="rejected", model=request.model, reason=str(error))
    if deps.model_exists is not None and not deps.model_exists(request.model):
        reason = f"unknown model {request.model!r}: create it with `mlops specs put FILE`"
        return BatchOutcome(outcome="rejected", model=request.model, reason=reason)
    run_id = batch_run_id(request.model, deps.data_bucket, request.input_prefix, request.time)
    document = execution_input(request, run_id, deps.data_bucket)
    arn = f"{deps.state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{run_id}"
    outcome: Outcome = "started"
    try:
        arn = deps.start_execution(run_id, json.dumps(document, sort_keys=True))
    except ExecutionExistsError:
        outcome = "duplicate"
    return BatchOutcome(
        outcome=outcome, model=request.model, run_id=run_id, execution_arn=arn, input=document
    )


def _check_prefix(field: str, prefix: str, area: str) -> None:
    if (
        not isinstance(prefix, str)
        or not prefix.startswith(area)
        or not prefix.endswith("/")
        or ".." in prefix.split("/")
        or "//" in prefix
    ):
        msg = f"{field}: expected a key prefix under {area} ending in '/', got {prefix!r}"
        raise BatchRequestError(msg)


def _text(event: dict[str, Any], key: str, default: str | None = None) -> str:
    value = event.get(key, default)
    if not isinstance(value, str) or not value:
        msg = f"{key}: expected a non-empty string"
        raise BatchRequestError(msg)
    return value
