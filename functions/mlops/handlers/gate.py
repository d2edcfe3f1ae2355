"""Gate Lambda: apply the promotion policy; promote (direct, canary, shadow) or reject."""

from __future__ import annotations

from typing import Any

from mlops.observability import logger, tracer
from mlops.pipeline.gate import apply_gate
from mlops.pipeline.payloads import GateInput, parse_payload
from mlops.registry import open_registry
from mlops.settings import get_settings


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    payload = parse_payload(GateInput, event)
    logger.append_keys(run_id=payload.run_id, model=payload.model)
    result = apply_gate(payload, store=open_registry(get_settings()))
    return result.model_dump(mode="json")
