"""Batch scoring: a Step Functions Distributed Map over an S3 prefix (docs/batch.md).

Pin -> ScoreObjects (one child per object) -> Manifest -> RunSucceeded? -> Done / Failed.
Pin and ScoreObjects errors are caught into ``$.error`` and go to Manifest too, so every run
ends with a manifest. Per-model schedules start runs through the batch_trigger function.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import BatchConfig, ModelConfig
from infra.constructs.functions import Functions
from infra.constructs.nag import (
    IAM5,
    acknowledge,
    acknowledge_function_versions,
    acknowledge_xray,
    logical_id,
)
from infra.constructs.storage import Storage
from infra.constructs.tasks import lambda_task
from mlops.batch.start import (
    BATCH_SOURCE,
    INPUT_AREA,
    OUTPUT_AREA,
    default_input_prefix,
    default_output_prefix,
)

CHILD_FIELDS = ("run_id", "model", "input_bucket", "input_prefix", "output_bucket", "output_prefix")
"""Execution-input fields every child receives unchanged (besides the pin and its object)."""
MAP_LABEL = "ScoreObjects"


class BatchScoring(Construct):
    """The batch functions, the state machine, and one schedule rule per scheduled model."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Functions,
        storage: Storage,
        models: list[ModelConfig],
    ) -> None:
        super().__init__(scope, construct_id)
        data, artifacts = storage.data_bucket, storage.artifact_bucket

        pin = functions.add("batch_pin")
        storage.registry_table.grant_read_data(pin)

        score = functions.add("batch_score")
        functions.grant_read(data, score, f"{INPUT_AREA}*")
        functions.grant_read(artifacts, score, "models/*")
        storage.registry_table.grant_read_data(score)  # the pinned version's record and spec
        functions.grant_put(data, score, f"{OUTPUT_AREA}*")

        manifest = functions.add("batch_manifest")
        functions.grant_read(data, manifest, "batch/*")
        functions.grant_put(data, manifest, f"{OUTPUT_AREA}*")

        self.state_machine = self._state_machine(pin, score, manifest, storage)

        self.trigger = functions.add(
            "batch_trigger",
            {"MLOPS_BATCH_STATE_MACHINE_ARN": self.state_machine.state_machine_arn},
        )
        self.state_machine.grant_start_execution(self.trigger)

        self.schedule_rules: dict[str, events.Rule] = {}
        for model in models:
            if model.batch is not None and model.batch.schedule is not None:
                self.schedule_rules[model.name] = self._schedule(
                    model.name, model.batch, model.batch.schedule
                )

    # ---- state machine -------------------------------------------------------------------
    def _state_machine(
        self,
        pin: lambda_.IFunction,
        score: lambda_.IFunction,
        manifest: lambda_.IFunction,
        storage: Storage,
    ) -> sfn.StateMachine:
        run_failed = sfn.Fail(
            self,
            "Failed",
            error="BatchRunFailed",
            cause="The run failed: its _manifest.json says why and which objects failed.",
        )
        write_manifest = lambda_task(
            self,
            "Manifest",
            manifest,
            "$.manifest",
            sfn.TaskInput.from_object(
                {
                    "run": sfn.JsonPath.entire_payload,
                    "execution_id": sfn.JsonPath.string_at("$$.Execution.Id"),
                    "started_at": sfn.JsonPath.string_at("$$.Execution.StartTime"),
                }
            ),
        ).next(
            sfn.Choice(self, "RunSucceeded")
            .when(sfn.Condition.string_equals("$.manifest.status", "failed"), run_failed)
            .otherwise(sfn.Succeed(self, "Done"))
        )

        pin_version = lambda_task(self, "Pin", pin, "$.pinned")
        pin_version.add_catch(write_manifest, errors=["States.ALL"], result_path="$.error")

        score_objects = sfn.DistributedMap(
            self,
            "ScoreObjects",
            item_reader=sfn.S3ObjectsItemReader(
                bucket=storage.data_bucket, prefix=sfn.JsonPath.string_at("$.input_prefix")
            ),
            item_selector={
                **{name: sfn.JsonPath.string_at(f"$.{name}") for name in CHILD_FIELDS},
                "version": sfn.JsonPath.number_at("$.pinned.version"),
                "sha256": sfn.JsonPath.string_at("$.pinned.sha256"),
                "artifact_uri": sfn.JsonPath.string_at("$.pinned.artifact_uri"),
                "key": sfn.JsonPath.string_at("$$.Map.Item.Value.Key"),
                "size": sfn.JsonPath.number_at("$$.Map.Item.Value.Size"),
            },
            max_concurrency_path="$.max_concurrency",
            tolerated_failure_percentage_path="$.tolerated_failure_percentage",
            map_execution_type=sfn.StateMachineType.STANDARD,
            label=MAP_LABEL,
            result_path=sfn.JsonPath.DISCARD,  # parts are in S3; 10,000 results exceed 256 KiB
        )
        score_objects.item_processor(lambda_task(self, "ScoreObject", score, None))
        score_objects.add_catch(write_manifest, errors=["States.ALL"], result_path="$.error")

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(
                pin_version.next(score_objects).next(write_manifest)
            ),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.hours(24),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
            comment="mlops batch scoring: pin the production version, score every object, "
            "write the manifest",
        )
        role = state_machine.role
        acknowledge_xray(role)
        for function in (pin, score, manifest):
            acknowledge_function_versions(role, function)
        _acknowledge_child_executions(state_machine, MAP_LABEL)
        return state_machine

    def _schedule(self, model: str, batch: BatchConfig, schedule: str) -> events.Rule:
        """The model's batch schedule -> batch_trigger with the run's parameters."""
        message = events.RuleTargetInput.from_object(
            {
                "source": BATCH_SOURCE,
                "model": model,
                "time": events.EventField.time,
                "input_prefix": batch.input_prefix or default_input_prefix(model),
                "output_prefix": batch.output_prefix or default_output_prefix(model),
                "max_concurrency": batch.max_concurrency,
                "tolerated_failure_percentage": batch.tolerated_failure_percentage,
            }
        )
        return events.Rule(
            self,
            f"Schedule-{model}",
            description=f"Scheduled batch scoring of {model}",
            schedule=events.Schedule.expression(schedule),
            targets=[
                targets.LambdaFunction(
                    self.trigger,
                    event=message,
                    retry_attempts=4,
                    max_event_age=Duration.hours(2),
                )
            ],
        )


def _acknowledge_child_executions(state_machine: sfn.StateMachine, label: str) -> None:
    """A Distributed Map's role describes/stops its own child executions and map runs, whose
    names Step Functions picks: CDK scopes them to this state machine's executions."""
    machine = f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{logical_id(state_machine)}"}}]}}]}}'
    executions = f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{machine}"
    reason = (
        "Distributed Map: states:DescribeExecution/StopExecution and map-run actions on the "
        "child executions of this one state machine, whose names are chosen at run time."
    )
    for resource in (f"{executions}:*", f"{executions}/{label}:*"):
        acknowledge(state_machine, f"{IAM5}[Resource::{resource}]", reason)
