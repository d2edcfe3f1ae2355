"""Handlers the test template's functions name: they run in-process in the local cloud."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import unquote_plus

from mlops import aws


class ValidationFailed(Exception):  # noqa: N818 - the name Step Functions' Catch matches on
    """The file is not acceptable."""


def process(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Read the uploaded object (S3 sends the key URL-encoded) and count its lines."""
    key = unquote_plus(event["key"])
    body = aws.client("s3").get_object(Bucket=event["bucket"], Key=key)["Body"].read().decode()
    if body.startswith("bad"):
        msg = f"{key} starts with 'bad'"
        raise ValidationFailed(msg)
    return {
        "lines": len(body.splitlines()),
        "key": key,
        "function": context.function_name,
        "greeting": os.environ["GREETING"],
    }


def record(event: Any, context: Any) -> dict[str, Any]:
    """Echo what arrived, with the environment the function was given."""
    return {"received": event, "table": os.environ.get("MLOPS_REGISTRY_TABLE")}


def environment_probe(event: Any, context: Any) -> dict[str, Any]:
    return {name: os.environ.get(name) for name in event["names"]}


def relay(event: dict[str, Any], context: Any) -> Any:
    """Invoke another function synchronously and return its answer."""
    response = aws.client("lambda").invoke(
        FunctionName=event["function"], Payload=json.dumps(event["payload"]).encode()
    )
    return json.load(response["Payload"])
