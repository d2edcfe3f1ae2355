"""The moto seam the local cloud replaces is where it expects it (moto 5.2.x)."""

from __future__ import annotations

import inspect
import json
import os

import moto
from moto.awslambda.models import LambdaFunction

from mlops.local import LocalCloud
from mlops.local.lambdas import LambdaContext


def test_moto_is_the_pinned_series_and_the_seam_has_its_signature() -> None:
    assert moto.__version__.startswith("5.2.")
    parameters = list(inspect.signature(LambdaFunction._invoke_lambda).parameters)
    assert parameters == ["self", "event"]


def test_the_invoke_api_reaches_the_handler_through_the_seam(cloud: LocalCloud) -> None:
    function = cloud.function_name("local_cloud_handlers.record")
    response = cloud.client("lambda").invoke(FunctionName=function, Payload=b'{"n": 1}')

    assert "FunctionError" not in response
    assert json.load(response["Payload"]) == {
        "received": {"n": 1},
        "table": cloud.settings.registry_table,
    }


def test_handler_errors_come_back_shaped_like_lambdas(cloud: LocalCloud) -> None:
    function = cloud.function_name("local_cloud_handlers.process")
    response = cloud.client("lambda").invoke(
        FunctionName=function, Payload=json.dumps({"bucket": "nope", "key": "k"}).encode()
    )

    assert response["FunctionError"] == "Handled"
    payload = json.load(response["Payload"])
    assert payload["errorType"] == "NoSuchBucket"
    assert set(payload) == {"errorType", "errorMessage", "stackTrace"}


def test_the_function_environment_applies_during_the_call_only(cloud: LocalCloud) -> None:
    assert "GREETING" not in os.environ
    function = cloud.function_name("local_cloud_handlers.record")
    probe_names = ["GREETING", "AWS_LAMBDA_FUNCTION_NAME", "MLOPS_NOTIFICATION_TOPIC_ARN"]

    seen = cloud.lambdas.call(
        "local_cloud_handlers.environment_probe",
        {"names": probe_names},
        _context(function),
        {"GREETING": "hi", "AWS_LAMBDA_FUNCTION_NAME": function},
    ).result

    # MLOPS_* variables of this process are hidden from a function that does not set them
    assert seen == {"GREETING": "hi", "AWS_LAMBDA_FUNCTION_NAME": function,
                    "MLOPS_NOTIFICATION_TOPIC_ARN": None}  # fmt: skip
    assert "GREETING" not in os.environ
    assert os.environ["MLOPS_NOTIFICATION_TOPIC_ARN"] == cloud.settings.notification_topic_arn


def test_unknown_handlers_fail_like_a_missing_module(cloud: LocalCloud) -> None:
    invocation = cloud.lambdas.call("no_such_module.handler", {}, _context("f"), {})

    assert invocation.error is not None
    assert invocation.error["errorType"] == "Runtime.ImportModuleError"


def _context(name: str) -> LambdaContext:
    return LambdaContext(name, 128, f"arn:aws:lambda:us-east-1:123456789012:function:{name}")
