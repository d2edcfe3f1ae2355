"""Guard Lambda: a guard alarm rolls its model's canary back; the schedule sweeps every canary."""

from __future__ import annotations

from typing import Any

from mlops.guard.events import GuardIgnoredError, parse_event
from mlops.guard.guard import run_guard
from mlops.guard.wiring import guard_deps
from mlops.observability import logger, tracer
from mlops.registry import open_registry
from mlops.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    try:
        request = parse_event(event)
    except GuardIgnoredError as ignored:
        logger.info("event ignored", extra={"reason": str(ignored)})
        return {"outcomes": [], "ignored": str(ignored)}
    settings = get_settings()
    outcomes = run_guard(request, guard_deps(settings, open_registry(settings)))
    for outcome in outcomes:
        logger.info(f"canary {outcome.outcome}", extra=outcome.as_dict())
    return {"outcomes": [outcome.as_dict() for outcome in outcomes]}
