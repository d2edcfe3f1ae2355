"""The REST API (Powertools APIGatewayRestResolver): routes, request ids, errors -> HTTP codes.

Typed errors map to status codes here and only here; anything unexpected becomes a 500 with a
JSON body and a logged stack trace, never a trace to the caller.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver, Response
from pydantic import BaseModel, TypeAdapter

from mlops.serving import schemas, wiring
from mlops.serving.errors import ServingError
from mlops.serving.telemetry import logger
from mlops.serving.validation import parse_json_body, validate_request_id
from mlops.serving.wiring import build_service, current_service, use_service
from mlops.settings import get_settings

__all__ = ["app", "build_service", "current_service", "handle", "openapi_document", "use_service"]

JSON = "application/json"
REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID_LOWER = REQUEST_ID_HEADER.lower()
PREDICT_PATH = re.compile(r"/v1/models/([^/]+)/predict")
API_TITLE = "MLOps scoring API"

app = APIGatewayRestResolver(enable_validation=False)

_telemetry = wiring.telemetry


# ---- helpers ----------------------------------------------------------------------------------
def _json(status: int, document: Any, request_id: str | None = None) -> Response[str]:
    headers = {REQUEST_ID_HEADER: request_id} if request_id else None
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(document, separators=(",", ":")),
        headers=headers,
    )


def _remember(**values: str) -> None:
    """Per-request context for the error handlers (Powertools clears it after each event)."""
    app.append_context(**values)  # type: ignore[no-untyped-call]


def request_id_of(event: Mapping[str, Any]) -> str:
    """The client's X-Request-Id (validated), else API Gateway's request id, else a new one."""
    for header, value in (event.get("headers") or {}).items():
        if header.lower() == REQUEST_ID_LOWER and value is not None:
            return validate_request_id(str(value))
    context_id = (event.get("requestContext") or {}).get("requestId")
    return str(context_id) if context_id else uuid.uuid4().hex


def body_of(event: Mapping[str, Any]) -> Any:
    return parse_json_body(
        event.get("body"),
        base64_encoded=bool(event.get("isBase64Encoded")),
        max_bytes=current_service().limits.max_body_bytes,
    )


def _request_id() -> str:
    request_id = request_id_of(app.current_event.raw_event)
    _remember(request_id=request_id)
    logger.append_keys(request_id=request_id)
    return request_id


def refusal(error: ServingError, model: str | None) -> tuple[int, dict[str, Any]]:
    """The one mapping of typed errors to a status and JSON body (metric and log included)."""
    _telemetry.error(error.kind, None if error.status == 404 else model)
    logger.info("request refused", extra={"status": error.status, "reason": error.message})
    return error.status, error.body()


def internal_error(error: Exception, model: str | None) -> tuple[int, dict[str, Any]]:
    _telemetry.error("InternalError", model)
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
        return (*refusal(error, name), request_id)
    except Exception as error:  # noqa: BLE001 - a 500 with a JSON body, never a trace
        return (*internal_error(error, name), request_id)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry: predict goes straight to the service, every other route through the
    resolver (its routing, Response building and middleware cost ~75 us per request)."""
    if event.get("httpMethod") == "POST":
        match = PREDICT_PATH.fullmatch(event.get("path") or "")
        if match is not None:
            status, document, request_id = predict_reply(match.group(1), event)
            headers = {"Content-Type": JSON}
            if request_id:
                headers[REQUEST_ID_HEADER] = request_id
            body = json.dumps(document, separators=(",", ":"))
            return {
                "statusCode": status,
                "headers": headers,
                "body": body,
                "isBase64Encoded": False,
            }
    return app.resolve(event, context)


def _doc(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"model": model}}}


_ERRORS = {
    400: _doc(schemas.ErrorResponse, "Malformed request"),
    404: _doc(schemas.ErrorResponse, "Unknown model or version"),
    413: _doc(schemas.ErrorResponse, "Body too large"),
    422: _doc(schemas.ErrorResponse, "Invalid fields, each one named"),
    503: _doc(schemas.ErrorResponse, "No version can serve"),
}


def _responses(model: type[BaseModel], *codes: int) -> dict[int, Any]:
    return {200: _doc(model, "OK"), **{code: _ERRORS[code] for code in codes}}


# ---- routes -----------------------------------------------------------------------------------
@app.post(
    "/v1/models/<name>/predict",
    summary="Score records with a model's production (or pinned) version",
    responses=_responses(schemas.PredictResponse, 400, 404, 413, 422, 503),
)
def predict(name: str) -> Response[str]:
    status, document, request_id = predict_reply(name, app.current_event.raw_event)
    return _json(status, document, request_id)


@app.post(
    "/v1/models/<name>/feedback",
    summary="Ground truth for earlier request ids",
    responses=_responses(schemas.FeedbackResponse, 400, 404, 413, 422, 503),
)
def feedback(name: str) -> Response[str]:
    _remember(model=name)
    request_id = _request_id()
    return _json(
        200, current_service().feedback(name, body_of(app.current_event.raw_event)), request_id
    )


@app.get("/v1/models", summary="All models", responses=_responses(schemas.ModelList))
def list_models() -> Response[str]:
    return _json(200, current_service().list_models())


@app.get(
    "/v1/models/<name>",
    summary="A model's production version, feature schema, metrics and classes",
    responses=_responses(schemas.ModelDescription, 404, 503),
)
def describe_model(name: str) -> Response[str]:
    _remember(model=name)
    return _json(200, current_service().describe_model(name))


@app.get("/v1/health", summary="Liveness", responses=_responses(schemas.Health))
def health() -> Response[str]:
    return _json(200, {"status": "ok", "code_version": get_settings().code_version})


@app.get("/v1/openapi.json", summary="This document", include_in_schema=False)
def openapi() -> Response[str]:
    return _json(200, openapi_document())


@app.not_found
def no_route(_error: Exception) -> Response[str]:
    event = app.current_event
    message = f"no route for {event.http_method} {event.path}"
    return _json(404, {"message": message})


@app.exception_handler(ServingError)  # type: ignore[untyped-decorator]
def serving_error(error: ServingError) -> Response[str]:
    status, document = refusal(error, app.context.get("model"))
    return _json(status, document, app.context.get("request_id"))


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def unexpected_error(error: Exception) -> Response[str]:
    status, document = internal_error(error, app.context.get("model"))
    return _json(status, document, app.context.get("request_id"))


# ---- OpenAPI ----------------------------------------------------------------------------------
def openapi_document() -> dict[str, Any]:
    """Powertools' document of the routes, plus the request bodies validation.py enforces."""
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema(title=API_TITLE))
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for path, model in schemas.REQUEST_BODIES.items():
        schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
        operation = document["paths"][path]["post"]
        operation["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    return document
