"""Batch trigger Lambda: a model's batch schedule event -> one batch scoring execution."""

from __future__ import annotations

from typing import Any

from mlops.batch.start import (
    BatchDeps,
    BatchOutcome,
    BatchRequestError,
    parse_schedule_event,
    start_batch,
)
from mlops.observability import logger, tracer
from mlops.pipeline.wiring import start_execution_with
from mlops.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    settings = get_settings()
    if not settings.batch_state_machine_arn:
        msg = "MLOPS_BATCH_STATE_MACHINE_ARN is not set: cannot start batch runs"
        raise BatchRequestError(msg)
    deps = BatchDeps(
        data_bucket=settings.data_bucket,
        state_machine_arn=settings.batch_state_machine_arn,
        start_execution=start_execution_with(settings.batch_state_machine_arn),
    )
    try:
        outcome = start_batch(parse_schedule_event(event), deps)
    except BatchRequestError as error:
        outcome = BatchOutcome(outcome="rejected", model=None, reason=str(error))
    log = logger.info if outcome.outcome == "started" else logger.warning
    log(f"batch run {outcome.outcome}", extra=outcome.as_dict())
    return outcome.as_dict()
