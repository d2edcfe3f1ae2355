"""Monitor Lambda (base + scoring layers): a schedule tick -> drift and live quality per model."""

from __future__ import annotations

from typing import Any

from mlops.artifacts import ArtifactStore
from mlops.aws import client
from mlops.monitoring.monitor import MonitorDeps, monitor, parse_monitor_event
from mlops.observability import logger, tracer
from mlops.registry import open_registry
from mlops.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    settings = get_settings()
    request = parse_monitor_event(event)
    deps = MonitorDeps(
        s3=client("s3"),
        data_bucket=settings.data_bucket,
        store=open_registry(settings),
        artifacts=ArtifactStore(client("s3"), settings.artifact_bucket),
    )
    result = monitor(request, deps)
    logger.info("monitor tick done", extra=result)
    return result
