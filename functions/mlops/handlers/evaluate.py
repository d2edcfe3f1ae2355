"""Evaluate Lambda (scoring layer): score the holdout with the new and production artifacts."""

from __future__ import annotations

from typing import Any

from mlops.artifacts import ArtifactStore
from mlops.aws import client
from mlops.observability import logger, tracer
from mlops.pipeline.evaluate import run_evaluation
from mlops.pipeline.payloads import EvaluateInput, parse_payload
from mlops.registry import open_registry
from mlops.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    settings = get_settings()
    payload = parse_payload(EvaluateInput, event)
    logger.append_keys(run_id=payload.run_id, model=payload.model)
    result = run_evaluation(
        payload,
        store=open_registry(settings),
        artifacts=ArtifactStore(client("s3"), settings.artifact_bucket),
    )
    return result.model_dump(mode="json")
