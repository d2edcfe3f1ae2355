"""MlopsStack: the whole platform, one construct per concern."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.config import PlatformConfig
from infra.constructs.api import Api
from infra.constructs.batch_scoring import BatchScoring
from infra.constructs.functions import Functions
from infra.constructs.guard import Guard
from infra.constructs.layers import Layers
from infra.constructs.monitoring import Monitoring
from infra.constructs.notifications import Notifications
from infra.constructs.registry_events import RegistryEvents
from infra.constructs.storage import Storage
from infra.constructs.training_pipeline import TrainingPipeline
from infra.constructs.triggers import Triggers


class MlopsStack(Stack):
    """Storage, layers, functions, training pipeline, triggers, notifications and the API."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PlatformConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.storage = Storage(self, "Storage")
        self.layers = Layers(self, "Layers")
        self.notifications = Notifications(self, "Notifications", emails=config.notification_emails)
        self.functions = Functions(
            self,
            "Functions",
            config=config,
            storage=self.storage,
            layers=self.layers,
            topic=self.notifications.topic,
        )
        self.pipeline = TrainingPipeline(self, "Training", functions=self.functions.by_name)
        trigger = self.functions.add_trigger(self.pipeline.state_machine)
        self.triggers = Triggers(
            self,
            "Triggers",
            trigger=trigger,
            data_bucket=self.storage.data_bucket,
            models=config.models,
        )
        self.batch = BatchScoring(
            self, "Batch", functions=self.functions, storage=self.storage, models=config.models
        )
        self.guard = Guard(
            self,
            "Guard",
            functions=self.functions,
            registry_table=self.storage.registry_table,
            schedule=config.monitoring.guard_schedule,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            functions=self.functions,
            storage=self.storage,
            topic=self.notifications.topic,
            training=self.pipeline.state_machine,
        )
        self.registry_events = RegistryEvents(
            self,
            "RegistryEvents",
            functions=self.functions,
            registry_table=self.storage.registry_table,
        )
        self.api = Api(self, "Api", score=self.functions.score_endpoint, config=config.api)

        outputs = {
            "RegistryTableName": self.storage.registry_table.table_name,
            "ArtifactBucketName": self.storage.artifact_bucket.bucket_name,
            "DataBucketName": self.storage.data_bucket.bucket_name,
            "NotificationTopicArn": self.notifications.topic.topic_arn,
            "TrainingStateMachineArn": self.pipeline.state_machine.state_machine_arn,
            "BatchStateMachineArn": self.batch.state_machine.state_machine_arn,
            "ApiUrl": self.api.url,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
