"""`LocalCloud`: the platform on moto, in one process, from the same template that deploys."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from contextlib import ExitStack
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from unittest import mock

import boto3
from moto import mock_aws
from moto.awslambda.utils import get_backend as lambda_backend
from moto.core.config import default_user_config
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer

from mlops import aws
from mlops import settings as settings_module
from mlops.local import distributed_map, names
from mlops.local.alarms import AlarmEvaluator
from mlops.local.deploy import Deployer, Deployment
from mlops.local.executions import Terminations
from mlops.local.isolation import serialized_dynamodb
from mlops.local.lambdas import HandlerError, InProcessLambdas, Invocation, LambdaContext
from mlops.local.metrics import MetricsIngester
from mlops.local.moto_transport import moto_http
from mlops.local.names import Place
from mlops.local.router import Delivery, EventRouter
from mlops.local.streams import deferred_stream_delivery
from mlops.local.template import load_template
from mlops.registry import RegistryStore, open_registry
from mlops.settings import ENV_PREFIX, STACK_OUTPUT_FIELDS, Settings

LOGGER = logging.getLogger(__name__)
DEFAULT_REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

FALLBACK_POLL_SECONDS = 0.5
"""How long a waiter sleeps when no execution-end notice arrives (e.g. an interpreter crash)."""

_ACTIVE_LOCK = threading.Lock()
_active: LocalCloud | None = None


class LocalCloudError(Exception):
    """The local cloud cannot do what was asked (not started, unknown function, ...)."""


def settings_environment(settings: Settings) -> dict[str, str]:
    """The MLOPS_* variables that reproduce `settings` (what `mlops local up` prints)."""
    return {
        f"{ENV_PREFIX}{name.upper()}": str(value)
        for name, value in settings.as_dict().items()
        if value is not None
    }


def output_value(outputs: dict[str, str], name: str) -> str | None:
    """An output by its contract name, also when CDK suffixed a construct path hash."""
    if name in outputs:
        return outputs[name]
    found = [
        value for key, value in outputs.items() if re.fullmatch(rf"\w*{name}[0-9A-F]{{8}}", key)
    ]
    return found[0] if len(found) == 1 else None


class LocalCloud:
    """moto with Step Functions execution, in-process Lambdas, an event router, a clock, alarms.

    Use as a context manager. `server=True` also serves the APIs on 127.0.0.1 (`endpoint_url`)
    for real clients in other processes; `client()` then goes through that endpoint too, while
    handlers and other in-process code use the in-process mock (the same state).
    """

    def __init__(
        self,
        template: dict[str, Any] | None = None,
        *,
        stack: str = "Mlops",
        server: bool = False,
        port: int = 0,
        region: str = DEFAULT_REGION,
        clock_start: datetime | None = None,
    ) -> None:
        self.template = template
        self.place = Place(region=region, account=DEFAULT_ACCOUNT_ID, stack=stack)
        self.server = server
        self.port = port
        self.endpoint_url: str | None = None
        self.deployment = Deployment(stack=stack)
        self.lambdas = InProcessLambdas()
        self.router = EventRouter(self.place, clock_start)
        self.alarms = AlarmEvaluator(self.place, self.router.publish)
        self.metrics = MetricsIngester(self.place)  # EMF lines on stdout -> CloudWatch metrics
        self.terminations = Terminations()
        self._settings: Settings | None = None
        self._stack: ExitStack | None = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    # ---- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        global _active  # noqa: PLW0603 - one local cloud per process: moto's state is global
        with _ACTIVE_LOCK:
            if _active is not None:
                msg = "a LocalCloud is already running in this process"
                raise LocalCloudError(msg)
            _active = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        if self.template is None:
            self.template = load_template(self.place.stack)
        self._settings = None
        stack = self._stack = ExitStack()
        environment = {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": self.place.region,
                       "AWS_REGION": self.place.region}  # fmt: skip
        stack.enter_context(mock.patch.dict(os.environ, environment))
        for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
            os.environ.pop(variable, None)
        execute = {"stepfunctions": {"execute_state_machine": True}}
        stack.enter_context(mock.patch.dict(default_user_config, execute))
        stack.enter_context(mock_aws(config=execute))  # type: ignore[call-overload]
        stack.enter_context(moto_http())  # the score path's signed HTTP calls, to moto too
        stack.enter_context(serialized_dynamodb())
        stack.enter_context(deferred_stream_delivery())  # after the lock: delivered outside it
        if self.server:
            self._start_server(stack)
        self.lambdas.base_environment = {
            key: os.environ[key] for key in (*environment, "MOTO_PORT") if key in os.environ
        }
        stack.enter_context(self.lambdas.patched())
        stack.enter_context(self.metrics.installed(self.lambdas))
        stack.enter_context(self.router.patched())
        stack.enter_context(self.terminations.patched())
        stack.enter_context(distributed_map.patched())
        stack.callback(self._clients.clear)
        stack.callback(_reset_caches)
        _reset_caches()
        self.deployment = Deployer(self.template, self.place, self.client).deploy()
        os.environ.update(settings_environment(self.settings))
        _reset_caches()

    def _start_server(self, stack: ExitStack) -> None:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        server.start()
        stack.callback(server.stop)
        host, port = server.get_host_and_port()
        self.port = port
        self.endpoint_url = f"http://{host}:{port}"
        # Step Functions' own Lambda calls use MOTO_PORT when the in-process mock is off. Code
        # in this process (handlers included) keeps going through the in-process mock: a
        # handler calling back over HTTP would wait on a server thread that waits on it.
        os.environ["MOTO_PORT"] = str(port)

    def stop(self) -> None:
        global _active  # noqa: PLW0603
        if self._stack is not None:
            try:
                self.drain()
            except Exception as error:  # noqa: BLE001 - stopping must not fail halfway
                LOGGER.warning("could not wait for running executions: %s", error)
            finally:
                self._stack.close()
                self._stack = None
        with _ACTIVE_LOCK:
            if _active is self:
                _active = None

    def drain(self, timeout: float = 30.0) -> None:
        """Wait for running executions to end, so none outlives the mock."""
        deadline = time.monotonic() + timeout
        for machine in self.deployment.of_type("AWS::StepFunctions::StateMachine"):
            for execution in self.executions(machine.arn):
                if execution["status"] == "RUNNING":
                    remaining = max(0.1, deadline - time.monotonic())
                    try:
                        self.wait_for_execution(execution["executionArn"], timeout=remaining)
                    except TimeoutError:
                        return

    # ---- what was deployed ---------------------------------------------------------------
    @property
    def outputs(self) -> dict[str, str]:
        return dict(self.deployment.outputs)

    @property
    def settings(self) -> Settings:
        """The platform settings the stack's outputs give (what every function is told)."""
        if self._settings is None:
            values: dict[str, Any] = {
                field: value
                for output, field in STACK_OUTPUT_FIELDS.items()
                if (value := output_value(self.deployment.outputs, output)) is not None
            }
            self._settings = Settings.from_values(values)
        return self._settings

    def physical_id(self, logical_id: str) -> str:
        resource = self.deployment.resources.get(logical_id)
        if resource is None:
            msg = f"no deployed resource {logical_id!r}"
            raise LocalCloudError(msg)
        return resource.physical_id

    def client(self, service: str) -> Any:
        """A boto3 client for the local cloud (through the server in server mode), created once
        per service while the cloud runs (clients are thread-safe)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(  # type: ignore[call-overload]
                    service, region_name=self.place.region, endpoint_url=self.endpoint_url
                )
            return self._clients[service]

    def registry(self) -> RegistryStore:
        """The model registry store on the local table."""
        return open_registry(self.settings)

    # ---- functions -----------------------------------------------------------------------
    @property
    def invocations(self) -> list[Invocation]:
        return self.lambdas.invocations

    @property
    def deliveries(self) -> list[Delivery]:
        return self.router.deliveries

    def function_name(self, name: str) -> str | None:
        """A deployed function by physical name, logical id or (unique) handler string."""
        functions = self.deployment.of_type("AWS::Lambda::Function")
        for function in functions:
            if name in {function.physical_id, function.logical_id}:
                return function.physical_id
        backend = lambda_backend(self.place.account, self.place.region)
        by_handler = [
            function.physical_id
            for function in functions
            if backend.get_function(function.physical_id).handler == name
        ]
        return by_handler[0] if len(by_handler) == 1 else None

    def invoke(self, handler_or_function: str, event: Any) -> Any:
        """Invoke a deployed function (by name, logical id or handler) or any handler path.

        Returns the handler's result; raises HandlerError with Lambda's error payload.
        """
        name = self.function_name(handler_or_function)
        if name is None:
            module = handler_or_function.rsplit(".", 1)[0]
            function_name = f"local-{module.rsplit('.', 1)[-1]}"
            context = LambdaContext(
                function_name=function_name,
                memory_limit_in_mb=128,
                invoked_function_arn=names.arn(self.place, "AWS::Lambda::Function", function_name),
                timeout_seconds=900,
            )
            environment = {**self.lambdas.base_environment, **settings_environment(self.settings)}
            invocation = self.lambdas.call(handler_or_function, event, context, environment)
            if invocation.error is not None:
                raise HandlerError(invocation.error)
            return invocation.result
        headers: dict[str, str] = {}
        function = lambda_backend(self.place.account, self.place.region).get_function(name)
        body = function.invoke(json.dumps(event), {}, headers)
        payload = json.loads(body)
        if "x-amz-function-error" in headers:
            raise HandlerError(payload)
        return payload

    # ---- events, clock, alarms -----------------------------------------------------------
    def put_events(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """PutEvents; a dict Detail is JSON-encoded for convenience."""
        prepared = [
            {**entry, "Detail": entry["Detail"] if isinstance(entry.get("Detail"), str)
             else json.dumps(entry.get("Detail", {}))}
            for entry in entries
        ]  # fmt: skip
        response: dict[str, Any] = self.client("events").put_events(Entries=prepared)
        return response

    def tick(self, now: datetime | None = None) -> list[Delivery]:
        """Fire the scheduled rules due since the last tick (the first: since start)."""
        return self.router.tick(now)

    def evaluate_alarms(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Evaluate every alarm now; publish and return the state-change events."""
        return self.alarms.evaluate(now)

    @property
    def clock_start(self) -> datetime:
        return self.router.clock_start

    # ---- data and executions -------------------------------------------------------------
    def upload(self, key: str, data: bytes | str) -> str:
        """Put an object into the data bucket; returns its s3:// URI."""
        bucket = self.settings.data_bucket
        body = data.encode() if isinstance(data, str) else data
        self.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
        return f"s3://{bucket}/{key}"

    def executions(self, state_machine_arn: str | None = None) -> list[dict[str, Any]]:
        arn = state_machine_arn or self.settings.training_state_machine_arn
        if not arn:
            msg = "no state machine given and no TrainingStateMachineArn output"
            raise LocalCloudError(msg)
        paginator = self.client("stepfunctions").get_paginator("list_executions")
        return [
            execution
            for page in paginator.paginate(stateMachineArn=arn)
            for execution in page["executions"]
        ]

    def wait_for_execution(self, execution_arn: str, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the execution leaves RUNNING; returns its description. Woken when any
        execution ends (a timer is only the fallback), so waiting adds no latency and no load."""
        client = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            ended = self.terminations.count
            description: dict[str, Any] = client.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING":
                return description
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                msg = f"execution {execution_arn} still RUNNING after {timeout} s"
                raise TimeoutError(msg)
            self.terminations.wait_beyond(ended, min(remaining, FALLBACK_POLL_SECONDS))

    def execution_history(self, execution_arn: str) -> list[dict[str, Any]]:
        client = self.client("stepfunctions")
        events: list[dict[str, Any]] = client.get_execution_history(
            executionArn=execution_arn, maxResults=1000
        )["events"]
        return events


def _reset_caches() -> None:
    settings_module.reset_settings()
    aws.reset_clients()
