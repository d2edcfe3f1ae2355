"""The client's one error type, botocore-shaped (`error.response["Error"]["Code"]`)."""

from __future__ import annotations

from typing import Any


class AwsHttpError(Exception):
    """An AWS error response (or a transport failure after retries)."""

    code: str  # e.g. "ResourceNotFoundException", "NoSuchKey", "ConnectionError"
    message: str
    status: int  # the HTTP status; 0 for a transport failure
    response: dict[str, Any]  # botocore's shape: {"Error": {...}, "ResponseMetadata": {...}}

    def __init__(self, code: str, message: str, status: int = 0, operation: str = "") -> None:
        where = f" when calling the {operation} operation" if operation else ""
        super().__init__(f"An error occurred ({code}){where}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.response = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": metadata(status),
        }


class NoSuchKeyError(AwsHttpError):
    """S3 has no object under that key."""


def metadata(status: int) -> dict[str, Any]:
    return {"HTTPStatusCode": status}
