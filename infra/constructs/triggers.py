"""EventBridge rules that start training (docs/architecture.md "Triggers")."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import ModelConfig

TRAINING_PREFIX = "training/"
RETRAIN_ALARM_NAME_PATTERN = "mlops/*/retrain/*"
SCHEDULE_SOURCE = "mlops.schedule"


class Triggers(Construct):
    """S3 uploads under training/, retrain alarms, and one schedule per configured model."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trigger: lambda_.IFunction,
        data_bucket: s3.IBucket,
        models: list[ModelConfig],
    ) -> None:
        super().__init__(scope, construct_id)
        self._trigger = trigger
        self.upload_rule = events.Rule(
            self,
            "TrainingDataUploaded",
            description="A file under training/<model>/ in the data bucket starts training",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [data_bucket.bucket_name]},
                    "object": {"key": events.Match.prefix(TRAINING_PREFIX)},
                },
            ),
            targets=[self._target()],
        )
        self.alarm_rule = events.Rule(
            self,
            "RetrainAlarm",
            description="A mlops/<model>/retrain/* alarm entering ALARM retrains the model",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                detail={
                    "state": {"value": ["ALARM"]},
                    "alarmName": events.Match.wildcard(RETRAIN_ALARM_NAME_PATTERN),
                },
            ),
            targets=[self._target()],
        )
        self.schedule_rules: dict[str, events.Rule] = {}
        for model in models:
            if model.schedule is None:
                continue
            message = events.RuleTargetInput.from_object(
                {"source": SCHEDULE_SOURCE, "model": model.name, "time": events.EventField.time}
            )
            self.schedule_rules[model.name] = events.Rule(
                self,
                f"Schedule-{model.name}",
                description=f"Scheduled retraining of {model.name}",
                schedule=events.Schedule.expression(model.schedule),
                targets=[self._target(message)],
            )

    def _target(self, message: events.RuleTargetInput | None = None) -> targets.LambdaFunction:
        return targets.LambdaFunction(
            self._trigger,
            event=message,
            retry_attempts=4,
            max_event_age=Duration.hours(2),
        )
