"""The REST API's resolver (Powertools APIGatewayRestResolver): routes, errors, OpenAPI.

Imported by mlops.serving.api on the first request that is not a predict (the predict route
is declared here too, for the OpenAPI document and for callers of `app` itself).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver, Response
from pydantic import BaseModel, TypeAdapter

from mlops.serving import schemas
from mlops.serving.api import (
    JSON,
    REQUEST_ID_HEADER,
    body_of,
    internal_error,
    predict_reply,
    refusal,
    request_id_of,
)
from mlops.serving.errors import ServingError
from mlops.serving.telemetry import logger
from mlops.serving.wiring import current_service
from mlops.settings import get_settings

__all__ = ["app", "openapi_document"]

API_TITLE = "MLOps scoring API"

app = APIGatewayRestResolver(enable_validation=False)


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


def _request_id() -> str:
    request_id = request_id_of(app.current_event.raw_event)
    _remember(request_id=request_id)
    logger.append_keys(request_id=request_id)
    return request_id


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
