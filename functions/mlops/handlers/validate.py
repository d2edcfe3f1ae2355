"""Validate Lambda: read the run's data file and validate it against the model's spec."""

from __future__ import annotations

from typing import Any

from mlops.aws import client
from mlops.observability import logger, tracer
from mlops.pipeline.payloads import PipelineInput, parse_payload
from mlops.pipeline.validate import run_validation
from mlops.registry import open_registry
from mlops.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    settings = get_settings()
    payload = parse_payload(PipelineInput, event)
    logger.append_keys(run_id=payload.run_id, model=payload.model)
    result = run_validation(
        payload,
        store=open_registry(settings),
        s3=client("s3"),
        artifact_bucket=settings.artifact_bucket,
    )
    return result.model_dump(mode="json")
