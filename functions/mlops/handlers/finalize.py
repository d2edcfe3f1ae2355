"""Finalize Lambda: record the run's outcome, fail a failed run's version, notify (SNS)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from mlops.observability import logger, metrics, tracer
from mlops.pipeline.finalize import finalize_run
from mlops.pipeline.payloads import FinalizeInput, parse_payload
from mlops.pipeline.wiring import sns_notifier
from mlops.registry import open_registry
from mlops.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    settings = get_settings()
    payload = parse_payload(FinalizeInput, event)
    logger.append_keys(run_id=payload.state.run_id, model=payload.state.model)
    summary = finalize_run(
        payload,
        store=open_registry(settings),
        notify=sns_notifier(settings.notification_topic_arn),
    )
    metrics.add_dimension(name="model", value=summary.model)
    metrics.add_metric(
        name=f"TrainingRuns{summary.status.value.title()}", unit=MetricUnit.Count, value=1
    )
    return summary.as_dict()
