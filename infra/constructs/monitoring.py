"""The drift and live-quality monitor on its schedule, and every alarm of docs/monitoring.md.

Per model of cdk.json `mlops.models` (thresholds from its `monitoring` config):
`mlops/<model>/retrain/drift` and `.../retrain/quality` (retraining starts on ALARM, see
triggers.py), `.../serving/errors` and `.../serving/latency-p99` (notify), `.../guard/errors`
and `.../guard/quality` (the guard rolls the canary back, see guard.py); and
`mlops/training/failures`. Every alarm notifies the SNS topic; missing data is not breaching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import ModelConfig, PlatformConfig
from infra.constructs.functions import Functions
from infra.constructs.storage import Storage

NAMESPACE = "MLOps"
SERVICE = "mlops"
MONITOR_SOURCE = "mlops.monitor"
CRON_PERIOD = Duration.hours(1)
"""A cron() monitor schedule has no fixed interval: its alarms use one hour."""
MAX_PERIOD = Duration.days(1)
"""CloudWatch evaluates an alarm over at most one day."""
QUALITY_METRICS = {"accuracy": "LiveAccuracy", "f1": "LiveF1", "mae": "LiveMAE"}
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3_600, "day": 86_400}


@dataclass(frozen=True)
class Evaluation:
    """How many periods an alarm looks at, and how many of them must breach."""

    period: Duration
    periods: int
    breaching: int


SERVING = Evaluation(Duration.minutes(1), periods=5, breaching=3)
"""Errors and p99 latency: 3 of the last 5 minutes, so one slow or failing minute (a cold
start, a retried dependency) notifies no one, a lasting problem within ~3 minutes."""
CANARY = Evaluation(Duration.minutes(1), periods=3, breaching=1)
"""A canary's failures: any failing minute of the last 3 rolls it back (production answered
every failed request already, so a rollback costs only the candidate)."""
TRAINING = Evaluation(Duration.minutes(5), periods=1, breaching=1)
ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
STRICTLY_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
BELOW = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD


def _metric(
    metric_name: str, model: str, statistic: str, period: Duration, alias: str | None = None
) -> cloudwatch.Metric:
    dimensions = {"model": model, "service": SERVICE}
    if alias is not None:
        dimensions["alias"] = alias
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=metric_name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=period,
    )


def schedule_period(expression: str) -> Duration:
    """The interval of a rate() schedule (at most one day); one hour for cron()."""
    match = _RATE.fullmatch(expression)
    if match is None:
        return CRON_PERIOD
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]
    return Duration.seconds(min(seconds, int(MAX_PERIOD.to_seconds())))


class Monitoring(Construct):
    """The monitor function and schedule, the per-model alarms and the training alarm."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PlatformConfig,
        functions: Functions,
        storage: Storage,
        topic: sns.ITopic,
        training: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self._topic = topic
        self.function = functions.add("monitor")
        data, artifacts = storage.data_bucket, storage.artifact_bucket
        for prefix in ("captures/*", "feedback/*", "monitoring/*"):
            functions.grant_read(data, self.function, prefix)
        functions.grant_put(data, self.function, "monitoring/*")
        functions.grant_read(artifacts, self.function, "models/*")  # baselines, models
        storage.registry_table.grant_read_data(self.function)

        self.schedule_rule = events.Rule(
            self,
            "MonitorSchedule",
            description="Drift and live quality of every model, over the window since the last run",
            schedule=events.Schedule.expression(config.monitoring.schedule),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    event=events.RuleTargetInput.from_object(
                        {"source": MONITOR_SOURCE, "time": events.EventField.time}
                    ),
                    retry_attempts=2,
                    max_event_age=Duration.hours(1),
                )
            ],
        )
        self.window = Evaluation(schedule_period(config.monitoring.schedule), 1, 1)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for model in config.models:
            self._model_alarms(model)
        self._alarm(
            "TrainingFailures",
            "mlops/training/failures",
            description="A training pipeline execution failed (its run record says why)",
            metric=training.metric_failed(statistic="Sum", period=TRAINING.period),
            comparison=ABOVE,
            threshold=1,
            evaluation=TRAINING,
        )

    def _model_alarms(self, model: ModelConfig) -> None:
        name, settings = model.name, model.monitoring
        self._alarm(
            f"{name}-Drift",
            f"mlops/{name}/retrain/drift",
            description=f"{name}: the largest feature PSI reached {settings.drift_psi_alarm}",
            metric=_metric("DriftMaxPSI", name, "Maximum", self.window.period),
            comparison=ABOVE,
            threshold=settings.drift_psi_alarm,
            evaluation=self.window,
        )
        self._alarm(
            f"{name}-Errors",
            f"mlops/{name}/serving/errors",
            description=f"{name}: the share of predict requests answered with a 5xx reached "
            f"{settings.error_rate_alarm}",
            metric=_metric("Fault", name, "Average", SERVING.period),
            comparison=ABOVE,
            threshold=settings.error_rate_alarm,
            evaluation=SERVING,
            notify_ok=True,
        )
        self._alarm(
            f"{name}-LatencyP99",
            f"mlops/{name}/serving/latency-p99",
            description=f"{name}: p99 predict latency reached {settings.latency_p99_ms_alarm} ms",
            metric=_metric("Latency", name, "p99", SERVING.period),
            comparison=ABOVE,
            threshold=settings.latency_p99_ms_alarm,
            evaluation=SERVING,
            notify_ok=True,
        )
        self._alarm(
            f"{name}-GuardErrors",
            f"mlops/{name}/guard/errors",
            description=f"{name}: the canary candidate failed a share "
            f">= {settings.canary_error_rate_alarm} of the requests sent to it",
            metric=_metric("CanaryFailed", name, "Average", CANARY.period),
            comparison=ABOVE,
            threshold=settings.canary_error_rate_alarm,
            evaluation=CANARY,
        )
        if settings.quality_threshold is None:
            return
        metric_name = QUALITY_METRICS[settings.quality_metric]
        worse_below = settings.quality_metric != "mae"
        comparison = BELOW if worse_below else STRICTLY_ABOVE
        statistic = "Minimum" if worse_below else "Maximum"
        what = (
            f"live {settings.quality_metric} {'below' if worse_below else 'above'} "
            f"{settings.quality_threshold}"
        )
        self._alarm(
            f"{name}-Quality",
            f"mlops/{name}/retrain/quality",
            description=f"{name}: {what}",
            metric=_metric(metric_name, name, statistic, self.window.period),
            comparison=comparison,
            threshold=settings.quality_threshold,
            evaluation=self.window,
        )
        self._alarm(
            f"{name}-GuardQuality",
            f"mlops/{name}/guard/quality",
            description=f"{name}: the canary candidate's {what}",
            metric=_metric(metric_name, name, statistic, self.window.period, alias="candidate"),
            comparison=comparison,
            threshold=settings.quality_threshold,
            evaluation=self.window,
        )

    def _alarm(
        self,
        construct_id: str,
        alarm_name: str,
        *,
        description: str,
        metric: cloudwatch.IMetric,
        comparison: cloudwatch.ComparisonOperator,
        threshold: float,
        evaluation: Evaluation,
        notify_ok: bool = False,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=alarm_name,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation.periods,
            datapoints_to_alarm=evaluation.breaching,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = actions.SnsAction(self._topic)
        alarm.add_alarm_action(action)
        if notify_ok:
            alarm.add_ok_action(action)
        self.alarms[alarm_name] = alarm
        return alarm
