"""Registry events Lambda: the registry table's stream -> EventBridge (source mlops.registry)."""

from __future__ import annotations

from typing import Any

from mlops.aws import client
from mlops.observability import logger, tracer
from mlops.registry.events import publish


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    events = client("events")
    result = publish(event.get("Records", []), lambda entries: events.put_events(Entries=entries))
    log = logger.warning if result.failures else logger.info
    log(
        "registry events published",
        extra={"published": result.published, "skipped": result.skipped,
               "retry_from": result.failures},
    )  # fmt: skip
    return result.response()
