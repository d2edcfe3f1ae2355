"""Typed serving errors. Each carries its HTTP status and the kind used in the Errors metric."""

from __future__ import annotations

from typing import Any


class ServingError(Exception):
    """An expected failure, answered with `status` and a JSON body; never a stack trace."""

    status = 400
    kind = "BadRequest"

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []

    def body(self) -> dict[str, Any]:
        document: dict[str, Any] = {"message": self.message}
        if self.errors:
            document["errors"] = self.errors
        return document


class MalformedRequestError(ServingError):
    """The body is not JSON, or not the expected shape."""

    status = 400
    kind = "MalformedRequest"


class RequestValidationError(ServingError):
    """One or more fields are at fault; `errors` lists every one of them."""

    status = 422
    kind = "ValidationError"


class PayloadTooLargeError(ServingError):
    status = 413
    kind = "PayloadTooLarge"


class ModelNotFoundError(ServingError):
    status = 404
    kind = "NotFound"


class VersionNotServableError(ServingError):
    """A pinned version that is rejected, failed or has no artifact."""

    status = 409
    kind = "VersionNotServable"


class ModelUnavailableError(ServingError):
    """No production version, or none that loads: 503, the caller may retry later."""

    status = 503
    kind = "ModelUnavailable"
