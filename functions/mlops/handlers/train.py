"""Train Lambda (training layer): fit, convert to ONNX, register the version, write and attach
its artifacts."""

from __future__ import annotations

from typing import Any

from mlops.artifacts import ArtifactStore
from mlops.aws import client
from mlops.observability import logger, tracer
from mlops.pipeline.payloads import TrainInput, parse_payload
from mlops.pipeline.train import run_training
from mlops.registry import open_registry
from mlops.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    settings = get_settings()
    payload = parse_payload(TrainInput, event)
    logger.append_keys(run_id=payload.run_id, model=payload.model)
    result = run_training(
        payload,
        store=open_registry(settings),
        artifacts=ArtifactStore(client("s3"), settings.artifact_bucket),
        code_version=settings.code_version,
    )
    return result.model_dump(mode="json")
