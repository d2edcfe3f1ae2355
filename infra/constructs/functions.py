"""The seven Lambda functions of docs/architecture.md, one code asset, least privilege."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import PlatformConfig
from infra.constructs.code import function_code
from infra.constructs.layers import ARCHITECTURE, RUNTIME, Layers
from infra.constructs.nag import (
    acknowledge,
    acknowledge_bucket_put,
    acknowledge_bucket_read,
    acknowledge_kms_publish,
    acknowledge_xray,
)
from infra.constructs.storage import Storage

LOG_RETENTION = logs.RetentionDays.ONE_MONTH


@dataclass(frozen=True)
class FunctionSpec:
    """How one function is deployed: its handler module, layers, size and time limit."""

    name: str
    layers: tuple[str, ...]
    memory_mb: int
    timeout: Duration
    description: str

    @property
    def handler(self) -> str:
        return f"mlops.handlers.{self.name}.handler"


def function_specs(config: PlatformConfig) -> dict[str, FunctionSpec]:
    """Handler -> layers per docs/architecture.md; sizes from the platform config."""
    specs = [
        FunctionSpec(
            "validate", ("base", "scoring"), 2_048, Duration.minutes(5), "Validate a data file"
        ),
        FunctionSpec(
            "train",
            ("base", "training"),
            config.training.memory_mb,
            Duration.minutes(config.training.timeout_minutes),
            "Fit, convert to ONNX, register the version",
        ),
        FunctionSpec(
            "evaluate", ("base", "scoring"), 2_048, Duration.minutes(5), "Score the holdout"
        ),
        FunctionSpec("gate", ("base",), 512, Duration.minutes(1), "Apply the promotion policy"),
        FunctionSpec(
            "finalize", ("base",), 512, Duration.minutes(1), "Record the run outcome, notify"
        ),
        FunctionSpec(
            "trigger", ("base",), 512, Duration.minutes(1), "Start the training state machine"
        ),
        FunctionSpec(
            "score",
            ("base", "scoring"),
            config.serving.memory_mb,
            Duration.seconds(28),  # under API Gateway's 29 s integration timeout
            "REST API: predict, models, feedback, health, openapi",
        ),
        FunctionSpec("guard", ("base",), 512, Duration.minutes(1), "Roll back or promote canaries"),
        FunctionSpec(
            "monitor",
            ("base", "scoring"),
            2_048,
            Duration.minutes(5),
            "Drift and live quality of every model, as metrics and reports",
        ),
        FunctionSpec(
            "registry_events",
            ("base",),
            256,
            Duration.minutes(1),
            "Publish registry changes to EventBridge",
        ),
        FunctionSpec(
            "batch_pin", ("base",), 512, Duration.minutes(1), "Pin a batch run's production version"
        ),
        FunctionSpec(
            "batch_score",
            ("base", "scoring"),
            2_048,
            Duration.minutes(15),
            "Score one object of a batch run",
        ),
        FunctionSpec(
            "batch_manifest", ("base",), 1_024, Duration.minutes(5), "Write a batch run's manifest"
        ),
        FunctionSpec(
            "batch_trigger", ("base",), 512, Duration.minutes(1), "Start a batch scoring run"
        ),
    ]
    return {spec.name: spec for spec in specs}


class Functions(Construct):
    """Creates the functions and grants each one only what its handler does.

    The trigger needs the state machine, which needs the other functions: call
    ``add_trigger(state_machine)`` once the pipeline exists.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PlatformConfig,
        storage: Storage,
        layers: Layers,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._storage = storage
        self._layers = layers
        self._topic = topic
        self._specs = function_specs(config)
        self._code = function_code()
        self._common_environment = {
            "MLOPS_REGISTRY_TABLE": storage.registry_table.table_name,
            "MLOPS_ARTIFACT_BUCKET": storage.artifact_bucket.bucket_name,
            "MLOPS_DATA_BUCKET": storage.data_bucket.bucket_name,
            "MLOPS_NOTIFICATION_TOPIC_ARN": topic.topic_arn,
            "MLOPS_CODE_VERSION": config.code_version,
            "POWERTOOLS_SERVICE_NAME": "mlops",
            "POWERTOOLS_METRICS_NAMESPACE": "MLOps",
        }
        self.by_name: dict[str, lambda_.Function] = {}
        self._add_pipeline_steps()
        self._add_score(config)

    def _add_pipeline_steps(self) -> None:
        """validate, train, evaluate, gate, finalize: what each step reads and writes."""
        storage = self._storage
        table, data, artifacts = (
            storage.registry_table,
            storage.data_bucket,
            storage.artifact_bucket,
        )

        validate = self._function("validate")
        self.grant_read(data, validate)
        self.grant_put(artifacts, validate, "runs/*")  # validation reports
        self.grant_put(artifacts, validate, "staging/*")  # the validated table, for train
        table.grant_read_write_data(validate)

        train = self._function("train")
        self.grant_read(artifacts, train, "staging/*")  # the validated table, not the raw data
        self.grant_put(artifacts, train, "models/*")
        table.grant_read_write_data(train)

        evaluate = self._function("evaluate")
        self.grant_read(artifacts, evaluate)  # holdout, new and production models
        self.grant_put(artifacts, evaluate, "models/*")  # evaluation reports
        table.grant_read_write_data(evaluate)

        gate = self._function("gate")
        table.grant_read_write_data(gate)

        finalize = self._function("finalize")
        table.grant_read_write_data(finalize)
        self.grant_publish(finalize)

    def _add_score(self, config: PlatformConfig) -> None:
        """The API function: reads registry and models, writes only captures and feedback."""
        score = self._function(
            "score",
            extra_environment={
                "MLOPS_ALIAS_REFRESH_SECONDS": str(config.serving.alias_refresh_seconds),
                "MLOPS_MAX_RECORDS_PER_REQUEST": str(config.serving.max_records_per_request),
                "MLOPS_MAX_BODY_BYTES": str(config.serving.max_body_bytes),
                "MLOPS_CAPTURE_SAMPLE_RATE": str(config.serving.capture_sample_rate),
            },
        )
        self._storage.registry_table.grant_read_data(score)
        self.grant_read(self._storage.artifact_bucket, score)
        self.grant_put(self._storage.data_bucket, score, "captures/*")
        self.grant_put(self._storage.data_bucket, score, "feedback/*")
        self.score_endpoint: lambda_.IFunction = score
        if config.serving.snap_start:
            cfn_function = score.node.default_child
            assert isinstance(cfn_function, lambda_.CfnFunction)
            cfn_function.add_property_override("SnapStart", {"ApplyOn": "PublishedVersions"})
            self.score_endpoint = lambda_.Alias(
                self, "ScoreLive", alias_name="live", version=score.current_version
            )

    def add_trigger(self, state_machine: sfn.IStateMachine) -> lambda_.Function:
        """The trigger function: may start executions of ``state_machine`` (no other)."""
        trigger = self._function(
            "trigger",
            extra_environment={"MLOPS_TRAINING_STATE_MACHINE_ARN": state_machine.state_machine_arn},
        )
        state_machine.grant_start_execution(trigger)
        self.grant_read(self._storage.data_bucket, trigger)
        self._storage.registry_table.grant_read_write_data(trigger)
        self.grant_publish(trigger)  # a trigger that cannot start a run notifies why
        return trigger

    def add(self, name: str, extra_environment: dict[str, str] | None = None) -> lambda_.Function:
        """Create the function `name` of `function_specs` (grants are the caller's to add)."""
        return self._function(name, extra_environment)

    def _function(
        self, name: str, extra_environment: dict[str, str] | None = None
    ) -> lambda_.Function:
        spec = self._specs[name]
        construct_id = name.capitalize()
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"mlops {name} function: least privilege, no managed policies",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            construct_id,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=self._code,
            layers=[self._layers.by_name[layer] for layer in spec.layers],
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            description=spec.description,
            environment={**self._common_environment, **(extra_environment or {})},
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
        )
        acknowledge_xray(role)
        acknowledge(
            function,
            "AwsSolutions-L1",
            "Python 3.12 is pinned on purpose: the layers are built from cp312 wheels, so the "
            "runtime moves together with layers/build.py, not implicitly.",
        )
        self.by_name[name] = function
        return function

    def grant_publish(self, function: lambda_.Function) -> None:
        self._topic.grant_publish(function)
        acknowledge_kms_publish(function.role or function)

    @staticmethod
    def grant_read(bucket: s3.IBucket, function: lambda_.Function, key_pattern: str = "*") -> None:
        bucket.grant_read(function, key_pattern)
        acknowledge_bucket_read(function.role or function, bucket, key_pattern)

    @staticmethod
    def grant_put(bucket: s3.IBucket, function: lambda_.Function, key_pattern: str) -> None:
        bucket.grant_put(function, key_pattern)
        acknowledge_bucket_put(function.role or function, bucket, key_pattern)
