"""batch_score Lambda (scoring layer): score one input object with the pinned version."""

from __future__ import annotations

from typing import Any

from mlops.aws import client
from mlops.batch.score_object import ScoreRequest, score_object
from mlops.batch.wiring import pinned_loader
from mlops.observability import logger, tracer
from mlops.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = ScoreRequest.from_event(event)
    logger.append_keys(run_id=request.run_id, model=request.model, key=request.key)
    outcome = score_object(request, s3=client("s3"), load=pinned_loader(get_settings()))
    logger.info("scored", extra={**outcome.summary(), "stages": outcome.stages})
    return outcome.summary()
