"""In-process Lambda: moto's one invoke seam, replaced to call the Python handler in this process.

Every path to a function goes through `moto.awslambda.models.LambdaFunction._invoke_lambda`
(the Invoke API, Step Functions Task states, S3/SNS/SQS triggers, the event router). Replaced,
it imports the function's Handler string and calls it with the function's environment, so the
same handlers that deploy run locally. The environment is a per-thread view (mlops.local.environ):
the process' variables are never changed under other threads. Invocations are serialized by one
re-entrant lock (imports and the settings/client caches are process-wide). Checked against
moto 5.2.x (a smoke test guards the seam).
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from moto.awslambda.models import LambdaFunction
from moto.core.models import botocore_stubber
from moto.settings import moto_server_port
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

from mlops import aws, settings
from mlops.local.environ import layered_environ

PRIVATE_PREFIXES = ("MLOPS_",)
PRIVATE_VARIABLES = ("AWS_ENDPOINT_URL",)
"""Process variables a function only sees when its own environment sets them."""


@dataclass
class Invocation:
    """One call of a handler: what it got and what it returned or raised."""

    function_name: str
    handler: str
    event: Any
    result: Any = None
    error: dict[str, Any] | None = None

    @property
    def errored(self) -> bool:
        return self.error is not None


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    timeout_seconds: float = 3.0
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


class HandlerError(Exception):
    """A handler raised: carries Lambda's error payload (errorType, errorMessage, stackTrace)."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        super().__init__(f"{payload.get('errorType')}: {payload.get('errorMessage')}")
        self.payload = dict(payload)
        self.error_type = str(payload.get("errorType"))


def resolve_handler(handler: str) -> Callable[[Any, Any], Any]:
    """`package.module.function` -> the function (ImportError/AttributeError if absent)."""
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        msg = f"handler {handler!r} is not of the form module.function"
        raise ImportError(msg)
    module = importlib.import_module(module_name)
    function: Callable[[Any, Any], Any] = getattr(module, function_name)
    return function


def error_payload(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """Lambda's shape for an unhandled exception; Step Functions matches on errorType."""
    return {
        "errorType": error_type or type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error)[1:],
    }


class InProcessLambdas:
    """Runs Lambda handlers in this process, with their environment, and logs each call."""

    def __init__(self, base_environment: Mapping[str, str] | None = None) -> None:
        self.invocations: list[Invocation] = []
        self.base_environment = dict(base_environment or {})
        self._lock = threading.RLock()

    # ---- the seam ------------------------------------------------------------------------
    @contextmanager
    def patched(self) -> Iterator[None]:
        """Replace moto's `_invoke_lambda` while the context is open."""
        runner = self

        def invoke_in_process(function: Any, event: Any = None) -> tuple[str, bool, str]:
            return runner.invoke_function(function, event)

        with (
            layered_environ(),
            mock.patch.object(LambdaFunction, "_invoke_lambda", invoke_in_process),
            mock.patch.object(lambda_eval_utils, "boto_client_for", _reused(boto_client_for)),
        ):
            yield

    def invoke_function(self, function: Any, event: Any) -> tuple[str, bool, str]:
        """moto's contract: (payload text, errored, log text)."""
        environment = {
            **self.base_environment,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": str(function.version),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time}",
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "_HANDLER": function.handler,
            **{key: str(value) for key, value in (function.environment_vars or {}).items()},
        }
        context = LambdaContext(
            function_name=function.function_name,
            memory_limit_in_mb=int(function.memory_size),
            invoked_function_arn=function.function_arn,
            log_group_name=f"/aws/lambda/{function.function_name}",
            timeout_seconds=float(function.timeout),
        )
        if isinstance(event, str) and event == "{}":  # moto's stand-in for an empty body
            event = {}
        invocation = self.call(function.handler, event, context, environment)
        if invocation.error is not None:
            return json.dumps(invocation.error), True, ""
        return json.dumps(invocation.result), False, ""

    # ---- calling a handler ---------------------------------------------------------------
    def call(
        self,
        handler: str,
        event: Any,
        context: LambdaContext,
        environment: Mapping[str, str],
    ) -> Invocation:
        """Call `handler(event, context)` with `environment`; never raises for handler errors."""
        invocation = Invocation(context.function_name, handler, event)
        with self._lock, _environment(environment):
            try:
                function = resolve_handler(handler)
            except (ImportError, AttributeError) as error:
                invocation.error = error_payload(error, "Runtime.ImportModuleError")
            else:
                try:
                    result = function(event, context)
                except Exception as error:  # noqa: BLE001 - Lambda reports every exception
                    invocation.error = error_payload(error)
                else:
                    try:
                        json.dumps(result)
                    except (TypeError, ValueError) as error:
                        invocation.error = error_payload(error, "Runtime.MarshalError")
                    else:
                        invocation.result = result
        self.invocations.append(invocation)
        return invocation


def _reused(create_client: Callable[..., Any]) -> Callable[..., Any]:
    """moto's Step Functions builds a new Lambda client for every Task state (~5 ms each);
    reuse one per region and target instead (in-process mock or server port)."""
    clients: dict[tuple[str, str, bool, str], Any] = {}
    lock = threading.Lock()

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service, botocore_stubber.enabled, moto_server_port())
        with lock:
            if key not in clients:
                clients[key] = create_client(region, service, state_credentials)
            return clients[key]

    return client_for


CLIENT_VARIABLES = frozenset(
    {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
     "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"}
)  # fmt: skip
"""Variables that change what a cached boto3 client talks to."""


@contextmanager
def _environment(environment: Mapping[str, str]) -> Iterator[None]:
    """This thread sees the function's environment for the call; other threads are untouched.

    MLOPS_* (and AWS_ENDPOINT_URL) variables the function does not define are hidden, as they
    would be in Lambda. Cached settings and clients are reset when the view differs.
    """
    with layered_environ() as environ:
        before = dict(environ.items())
        hidden = {
            key for key in before if key.startswith(PRIVATE_PREFIXES) or key in PRIVATE_VARIABLES
        }
        with environ.layer(environment, hidden):
            during = dict(environ.items())
            changed = {
                key for key in before.keys() | during.keys() if before.get(key) != during.get(key)
            }
            reset_settings = any(key.startswith("MLOPS_") for key in changed)
            reset_clients = bool(changed & CLIENT_VARIABLES)
            _reset_caches(settings_too=reset_settings, clients_too=reset_clients)
            try:
                yield
            finally:
                _reset_caches(settings_too=reset_settings, clients_too=reset_clients)


def _reset_caches(*, settings_too: bool, clients_too: bool) -> None:
    if settings_too:
        settings.reset_settings()
    if clients_too:
        aws.reset_clients()
