"""The post-promotion guard: guard alarms roll a canary back, a schedule sweeps every canary
(docs/monitoring.md "Post-promotion guard")."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.functions import Functions
from infra.constructs.nag import IAM5, acknowledge

GUARD_ALARM_NAME_PATTERN = "mlops/*/guard/*"
SWEEP_SOURCE = "mlops.guard"


class Guard(Construct):
    """The guard function, the rule for guard alarms entering ALARM, and the sweep schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Functions,
        registry_table: dynamodb.ITable,
        schedule: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = functions.add("guard")
        registry_table.grant_read_write_data(self.function)
        functions.grant_publish(self.function)
        self.function.add_to_role_policy(
            iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"])
        )
        acknowledge(
            self.function.role or self.function,
            f"{IAM5}[Resource::*]",
            "cloudwatch:DescribeAlarms supports no resource-level permissions; the guard only "
            "reads the states of alarms named mlops/<model>/guard/*.",
        )
        self.alarm_rule = events.Rule(
            self,
            "GuardAlarm",
            description="A mlops/<model>/guard/* alarm entering ALARM rolls the canary back",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                detail={
                    "state": {"value": ["ALARM"]},
                    "alarmName": events.Match.wildcard(GUARD_ALARM_NAME_PATTERN),
                },
            ),
            targets=[self._target()],
        )
        message = events.RuleTargetInput.from_object(
            {"source": SWEEP_SOURCE, "time": events.EventField.time}
        )
        self.sweep_rule = events.Rule(
            self,
            "GuardSweep",
            description="Promote canaries whose guard period passed clean; catch missed alarms",
            schedule=events.Schedule.expression(schedule),
            targets=[self._target(message)],
        )

    def _target(self, message: events.RuleTargetInput | None = None) -> targets.LambdaFunction:
        function: lambda_.IFunction = self.function
        return targets.LambdaFunction(
            function, event=message, retry_attempts=4, max_event_age=Duration.hours(1)
        )
