"""The Lambda entry of the scoring API: predict on a fast path, every other route through the
Powertools resolver in mlops.serving.rest, imported on the first such request.

Typed errors map to status codes here and only here; anything unexpected becomes a 500 with a
JSON body and a logged stack trace, never a trace to the caller. Nothing on the predict path
imports the Powertools event handler or the OpenAPI schemas (~60-80 ms of cold start).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

from mlops.serving import wiring
from mlops.serving.errors import ServingError
from mlops.serving.telemetry import logger
from mlops.serving.validation import parse_json_body, validate_request_id
from mlops.serving.wiring import build_service, current_service, use_service

__all__ = ["build_service", "current_service", "handle", "use_service"]

JSON = "application/json"
REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID_LOWER = REQUEST_ID_HEADER.lower()
PREDICT_PATH = re.compile(r"/v1/models/([^/]+)/predict")
_to_json = json.JSONEncoder(separators=(",", ":")).encode

_telemetry = wiring.telemetry


def request_id_of(event: Mapping[str, Any]) -> str:
    """The client's X-Request-Id (validated), else API Gateway's request id, else a new one."""
    for header, value in (event.get("headers") or {}).items():
        if header.lower() == REQUEST_ID_LOWER and value is not None:
            return validate_request_id(str(value))
    context_id = (event.get("requestContext") or {}).get("requestId")
    return str(context_id) if context_id else os.urandom(16).hex()


def body_of(event: Mapping[str, Any]) -> Any:
    return parse_json_body(
        event.get("body"),
        base64_encoded=bool(event.get("isBase64Encoded")),
        max_bytes=current_service().limits.max_body_bytes,
    )


def metric_model(model: str | None) -> str | None:
    """The model named in error metrics: only one the registry confirmed, never a raw path
    segment (each new dimension value would be a new paid custom metric)."""
    return model if model is not None and current_service().cache.is_known(model) else None


def refusal(
    error: ServingError, model: str | None, *, predict: bool = False
) -> tuple[int, dict[str, Any]]:
    """The one mapping of typed errors to a status and JSON body (metric and log included);
    a predict request also counts in the model's Fault rate (1 for a 5xx)."""
    fault = error.status >= 500 if predict else None
    _telemetry.error(error.kind, metric_model(model), fault=fault)
    logger.info("request refused", extra={"status": error.status, "reason": error.message})
    return error.status, error.body()


def internal_error(
    error: Exception, model: str | None, *, predict: bool = False
) -> tuple[int, dict[str, Any]]:
    _telemetry.error("InternalError", metric_model(model), fault=True if predict else None)
    logger.exception("unexpected error while serving", extra={"error": str(error)})
    return 500, {"message": "internal error; the request id identifies it in the logs"}


def predict_reply(name: str, event: Mapping[str, Any]) -> tuple[int, Any, str | None]:
    """Status, JSON document and request id for a predict event (both entry paths use it)."""
    request_id: str | None = None
    try:
        request_id = request_id_of(event)
        logger.append_keys(request_id=request_id)
        return 200, current_service().predict(name, body_of(event), request_id), request_id
    except ServingError as error:
        return (*refusal(error, name, predict=True), request_id)
    except Exception as error:  # noqa: BLE001 - a 500 with a JSON body, never a trace
        return (*internal_error(error, name, predict=True), request_id)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry: predict goes straight to the service, every other route through the
    resolver (its import costs ~60-80 ms, its routing and middleware ~75 us per request)."""
    if event.get("httpMethod") == "POST":
        match = PREDICT_PATH.fullmatch(event.get("path") or "")
        if match is not None:
            status, document, request_id = predict_reply(match.group(1), event)
            headers = {"Content-Type": JSON}
            if request_id:
                headers[REQUEST_ID_HEADER] = request_id
            return {
                "statusCode": status,
                "headers": headers,
                "body": _to_json(document),
                "isBase64Encoded": False,
            }
    from mlops.serving.rest import app  # imported here: off the predict path's cold start

    return app.resolve(event, context)
