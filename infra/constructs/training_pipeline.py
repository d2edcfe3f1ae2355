"""The training state machine, exactly as docs/architecture.md ("Training state machine")."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.constructs.nag import acknowledge_function_versions, acknowledge_xray
from infra.constructs.tasks import lambda_task

PIPELINE_FUNCTIONS = ("validate", "train", "evaluate", "gate", "finalize")


class TrainingPipeline(Construct):
    """Validate -> IsDataValid -> Train -> Evaluate -> Gate -> FinalizeCompleted -> Done.

    Invalid data goes to FinalizeRejected -> Rejected (a success); any error of a step is
    caught into ``$.error`` -> FinalizeFailed -> Failed.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, functions: Mapping[str, lambda_.IFunction]
    ) -> None:
        super().__init__(scope, construct_id)
        finalize = functions["finalize"]
        finalize_failed = self._finalize("FinalizeFailed", finalize, "failed").next(
            sfn.Fail(
                self,
                "Failed",
                error="TrainingPipelineFailed",
                cause="A step failed; the run record and the execution's $.error say why.",
            )
        )
        finalize_rejected = self._finalize("FinalizeRejected", finalize, "rejected").next(
            sfn.Succeed(self, "Rejected", comment="The data file was rejected by validation.")
        )
        finalize_completed = self._finalize("FinalizeCompleted", finalize, "completed").next(
            sfn.Succeed(self, "Done")
        )

        def step(name: str, result_path: str) -> tasks.LambdaInvoke:
            task = lambda_task(self, name, functions[name.lower()], result_path)
            task.add_catch(finalize_failed, errors=["States.ALL"], result_path="$.error")
            return task

        is_data_valid = (
            sfn.Choice(self, "IsDataValid")
            .when(
                sfn.Condition.boolean_equals("$.validation.valid", True),
                step("Train", "$.training")
                .next(step("Evaluate", "$.evaluation"))
                .next(step("Gate", "$.gate"))
                .next(finalize_completed),
            )
            .otherwise(finalize_rejected)
        )
        definition = step("Validate", "$.validation").next(is_data_valid)

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.hours(1),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
            comment="mlops training pipeline: validate, train, evaluate, gate, finalize",
        )
        role = self.state_machine.role
        acknowledge_xray(role)
        for name in PIPELINE_FUNCTIONS:
            acknowledge_function_versions(role, functions[name])

    def _finalize(self, name: str, function: lambda_.IFunction, outcome: str) -> tasks.LambdaInvoke:
        payload = sfn.TaskInput.from_object(
            {
                "outcome": outcome,
                "execution_id": sfn.JsonPath.string_at("$$.Execution.Id"),
                "state": sfn.JsonPath.entire_payload,
            }
        )
        return lambda_task(self, name, function, "$.finalize", payload)
