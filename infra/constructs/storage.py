"""Storage: data, artifact and access-log buckets and the model registry table."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.nag import acknowledge


def _secure_bucket(
    scope: Construct,
    construct_id: str,
    *,
    access_logs: s3.IBucket | None,
    log_prefix: str,
    versioned: bool,
    lifecycle_rules: list[s3.LifecycleRule] | None = None,
) -> s3.Bucket:
    """A private, TLS-only, encrypted bucket that outlives the stack."""
    return s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        versioned=versioned,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=log_prefix if access_logs else None,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=lifecycle_rules,
        removal_policy=RemovalPolicy.RETAIN,
    )


class Storage(Construct):
    """Buckets and the registry table; layouts are in docs/architecture.md ("Storage")."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.access_logs_bucket = _secure_bucket(
            self,
            "AccessLogsBucket",
            access_logs=None,
            log_prefix="",
            versioned=False,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        )
        acknowledge(
            self.access_logs_bucket,
            "AwsSolutions-S1",
            "This is the access-log target bucket; logging it into itself would loop.",
        )
        self.data_bucket = _secure_bucket(
            self,
            "DataBucket",
            access_logs=self.access_logs_bucket,
            log_prefix="data/",
            versioned=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireCaptures", prefix="captures/", expiration=Duration.days(90)
                ),
            ],
        )
        # Native EventBridge notifications: no custom resource, no helper Lambda.
        data_cfn = self.data_bucket.node.default_child
        assert isinstance(data_cfn, s3.CfnBucket)
        data_cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                event_bridge_enabled=True
            )
        )
        self.artifact_bucket = _secure_bucket(
            self,
            "ArtifactBucket",
            access_logs=self.access_logs_bucket,
            log_prefix="artifacts/",
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireOldVersions", noncurrent_version_expiration=Duration.days(365)
                ),
                s3.LifecycleRule(  # tables one run's steps hand on; a run lasts minutes
                    id="ExpireStagedTables",
                    prefix="staging/",
                    expiration=Duration.days(7),
                    noncurrent_version_expiration=Duration.days(1),
                ),
            ],
        )
        self.registry_table = dynamodb.Table(
            self,
            "RegistryTable",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType.NEW_IMAGE,  # audit items -> registry events
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
