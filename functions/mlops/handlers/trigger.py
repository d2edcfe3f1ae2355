"""Trigger Lambda: an EventBridge event (upload, alarm, schedule) -> one training execution."""

from __future__ import annotations

from typing import Any

from mlops.observability import logger, tracer
from mlops.pipeline.events import TriggerIgnoredError, TriggerRejectedError, parse_event
from mlops.pipeline.trigger import reject, start_training
from mlops.pipeline.wiring import trigger_deps
from mlops.registry import open_registry
from mlops.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    settings = get_settings()
    deps = trigger_deps(settings, open_registry(settings))
    try:
        request = parse_event(event, data_bucket=settings.data_bucket)
    except TriggerIgnoredError as ignored:
        logger.info("event ignored", extra={"reason": str(ignored)})
        return {"outcome": "ignored", "reason": str(ignored)}
    except TriggerRejectedError as rejected:
        outcome = reject(rejected.reason, deps, model=rejected.model)
    else:
        outcome = start_training(request, deps)
    log = logger.info if outcome.outcome == "started" else logger.warning
    log(f"training run {outcome.outcome}", extra=outcome.as_dict())
    return outcome.as_dict()
