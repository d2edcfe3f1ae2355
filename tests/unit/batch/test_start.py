"""start_batch with a fake Step Functions: one execution per (model, input, time), the
contract's execution input, bad requests refused naming the field."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from mlops.batch.start import (
    BatchDeps,
    BatchRequest,
    BatchRequestError,
    batch_run_id,
    parse_schedule_event,
    prefix_of,
    start_batch,
)
from mlops.pipeline.errors import ExecutionExistsError

SM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:batch"
BUCKET = "data-bucket"


@dataclass
class FakeStepFunctions:
    executions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def start(self, name: str, execution_input: str) -> str:
        if name in self.executions:
            raise ExecutionExistsError(name)
        self.executions[name] = json.loads(execution_input)
        return f"{SM_ARN.replace(':stateMachine:', ':execution:')}:{name}"


def deps(sfn: FakeStepFunctions, known: set[str] | None = None) -> BatchDeps:
    return BatchDeps(
        data_bucket=BUCKET,
        state_machine_arn=SM_ARN,
        start_execution=sfn.start,
        model_exists=None if known is None else known.__contains__,
    )


def schedule_event(**overrides: Any) -> dict[str, Any]:
    return {
        "source": "mlops.batch",
        "model": "churn",
        "time": "2026-03-01T02:00:00Z",
        "input_prefix": "batch/input/churn/",
        "output_prefix": "batch/output/churn/",
        "max_concurrency": 25,
        "tolerated_failure_percentage": 5,
        **overrides,
    }


def manual(**overrides: Any) -> BatchRequest:
    values: dict[str, Any] = {
        "model": "churn",
        "input_prefix": "batch/input/churn/2026-03-01/",
        "output_prefix": "batch/output/churn/",
        "time": "2026-03-01T10:15:00+01:00",
        "kind": "manual",
        "source_id": "cli:ana",
        **overrides,
    }
    return BatchRequest(**values)


def test_a_scheduled_event_starts_the_documented_execution() -> None:
    # Given the schedule rule's event
    sfn = FakeStepFunctions()

    # When the trigger starts the run
    outcome = start_batch(parse_schedule_event(schedule_event()), deps(sfn))

    # Then one execution named by the run id gets the contract's input
    assert outcome.outcome == "started"
    run_id = batch_run_id("churn", BUCKET, "batch/input/churn/", "2026-03-01T02:00:00Z")
    assert outcome.run_id == run_id
    assert outcome.execution_arn is not None
    assert outcome.execution_arn.endswith(f":execution:batch:{run_id}")
    assert sfn.executions == {
        run_id: {
            "run_id": run_id,
            "model": "churn",
            "input_bucket": BUCKET,
            "input_prefix": "batch/input/churn/",
            "output_bucket": BUCKET,
            "output_prefix": f"batch/output/churn/{run_id}/",
            "trigger": {
                "kind": "schedule",
                "time": "2026-03-01T02:00:00Z",
                "source_id": "mlops.batch/churn",
            },
            "max_concurrency": 25,
            "tolerated_failure_percentage": 5.0,
        }
    }
    assert run_id.startswith("churn-batch-")
    assert len(run_id) <= 80  # Step Functions' limit for execution names


def test_the_same_model_input_and_time_start_one_run() -> None:
    sfn = FakeStepFunctions()
    first = start_batch(manual(), deps(sfn))

    # the same instant written in another zone is the same run
    again = start_batch(manual(time="2026-03-01T09:15:00Z"), deps(sfn))

    assert (first.outcome, again.outcome) == ("started", "duplicate")
    assert again.run_id == first.run_id
    assert again.execution_arn == first.execution_arn
    assert len(sfn.executions) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"time": "2026-03-02T09:15:00Z"},
        {"input_prefix": "batch/input/churn/2026-03-02/"},
        {"model": "price", "input_prefix": "batch/input/price/"},
    ],
)
def test_another_model_input_or_time_is_another_run(change: dict[str, Any]) -> None:
    sfn = FakeStepFunctions()
    first = start_batch(manual(), deps(sfn))
    other = start_batch(manual(**change), deps(sfn))
    assert other.outcome == "started"
    assert other.run_id != first.run_id


def test_defaults_apply_when_the_event_omits_prefixes_and_limits() -> None:
    event = {"source": "mlops.batch", "model": "churn", "time": "2026-03-01T02:00:00Z"}
    request = parse_schedule_event(event)
    assert request.input_prefix == "batch/input/churn/"
    assert request.output_prefix == "batch/output/churn/"
    assert request.max_concurrency == 10
    assert request.tolerated_failure_percentage == 0.0


def test_an_unknown_model_is_rejected_and_nothing_starts() -> None:
    sfn = FakeStepFunctions()
    outcome = start_batch(
        manual(model="ghost", input_prefix="batch/input/ghost/"), deps(sfn, {"churn"})
    )
    assert outcome.outcome == "rejected"
    assert outcome.reason is not None
    assert "unknown model 'ghost'" in outcome.reason
    assert sfn.executions == {}


@pytest.mark.parametrize(
    ("overrides", "field_name"),
    [
        ({"model": "Bad Name"}, "model"),
        ({"input_prefix": "training/churn/"}, "input_prefix"),
        ({"input_prefix": "batch/input/../output/"}, "input_prefix"),
        ({"input_prefix": "batch/input/churn"}, "input_prefix"),
        ({"output_prefix": "batch/input/churn/"}, "output_prefix"),
        ({"time": "yesterday"}, "time"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_concurrency": 10_001}, "max_concurrency"),
        ({"max_concurrency": True}, "max_concurrency"),
        ({"tolerated_failure_percentage": 100.5}, "tolerated_failure_percentage"),
        ({"tolerated_failure_percentage": float("nan")}, "tolerated_failure_percentage"),
    ],
)
def test_a_malformed_request_is_rejected_naming_the_field(
    overrides: dict[str, Any], field_name: str
) -> None:
    sfn = FakeStepFunctions()
    outcome = start_batch(manual(**overrides), deps(sfn))
    assert outcome.outcome == "rejected"
    assert outcome.reason is not None
    assert outcome.reason.startswith(f"{field_name}: ")
    assert sfn.executions == {}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"source": "mlops.schedule", "model": "churn", "time": "t"}, "source='mlops.schedule'"),
        ("not an object", "source='str'"),
        ({"source": "mlops.batch", "time": "2026-03-01T02:00:00Z"}, "model: "),
        ({"source": "mlops.batch", "model": "churn"}, "time: "),
    ],
)
def test_a_malformed_schedule_event_is_refused(event: Any, message: str) -> None:
    with pytest.raises(BatchRequestError, match=message):
        parse_schedule_event(event)


def test_input_uris_must_be_in_the_data_bucket() -> None:
    assert prefix_of(f"s3://{BUCKET}/batch/input/churn", BUCKET, "--input") == (
        "batch/input/churn/"
    )
    with pytest.raises(BatchRequestError, match="--input: batch data lives in the data bucket"):
        prefix_of("s3://elsewhere/batch/input/churn/", BUCKET, "--input")
    with pytest.raises(BatchRequestError, match="--output: expected s3://"):
        prefix_of("batch/output/churn/", BUCKET, "--output")


def test_the_trigger_handler_fits_the_base_layer() -> None:
    # batch_trigger ships with the base layer only: no numpy, onnxruntime or scikit-learn
    probe = (
        "import importlib, json, sys; importlib.import_module('mlops.handlers.batch_trigger'); "
        "print(json.dumps([n for n in ('numpy', 'onnxruntime', 'sklearn', 'scipy', 'pandas') "
        "if n in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
