"""batch_pin Lambda: resolve the model's production version once for the whole batch run."""

from __future__ import annotations

from typing import Any

from mlops.batch.errors import BatchInputError
from mlops.batch.pin import pin_production
from mlops.observability import logger, tracer
from mlops.registry import open_registry
from mlops.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    model = event.get("model") if isinstance(event, dict) else None
    if not isinstance(model, str) or not model:
        raise BatchInputError("invalid batch_pin event: model: must be a non-empty string")
    logger.append_keys(run_id=event.get("run_id"), model=model)
    pinned = pin_production(open_registry(get_settings()), model)
    logger.info("pinned", extra=pinned)
    return pinned
