"""Storage: buckets are private, TLS-only, encrypted, logged; the registry table is durable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import Synth


def _bucket(synth: Synth, fragment: str) -> tuple[str, dict[str, Any]]:
    logical_id = synth.logical_id("AWS::S3::Bucket", fragment)
    return logical_id, synth.template["Resources"][logical_id]


def test_every_bucket_is_private_encrypted_and_tls_only(synth: Synth) -> None:
    # Given the synthesized stack
    buckets = synth.resources("AWS::S3::Bucket")
    policies = synth.resources("AWS::S3::BucketPolicy").values()
    # Then there are exactly the data, artifact and access-log buckets
    assert len(buckets) == 3
    for logical_id, bucket in buckets.items():
        properties = bucket["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        rule = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
        # And a bucket policy denies every request not made over TLS
        denies_plain_http = [
            statement
            for policy in policies
            if policy["Properties"]["Bucket"] == {"Ref": logical_id}
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Deny"
            and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert denies_plain_http, f"{logical_id} accepts plain HTTP"


def test_data_and_artifact_buckets_log_access_and_are_retained(synth: Synth) -> None:
    logs_id, _ = _bucket(synth, "AccessLogs")
    for fragment in ("DataBucket", "ArtifactBucket"):
        _, bucket = _bucket(synth, fragment)
        assert bucket["DeletionPolicy"] == "Retain"
        logging = bucket["Properties"]["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": logs_id}


def test_artifact_bucket_is_versioned_and_data_bucket_emits_eventbridge_events(
    synth: Synth,
) -> None:
    _, artifacts = _bucket(synth, "ArtifactBucket")
    _, data = _bucket(synth, "DataBucket")
    assert artifacts["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    notifications = data["Properties"]["NotificationConfiguration"]
    assert notifications["EventBridgeConfiguration"] == {"EventBridgeEnabled": True}
    # Native property, not the CDK custom resource (which would need a helper Lambda)
    assert not synth.resources("Custom::S3BucketNotifications")


def test_registry_table_keys_billing_recovery_and_encryption(synth: Synth) -> None:
    tables = synth.resources("AWS::DynamoDB::Table")
    assert len(tables) == 1
    (table,) = tables.values()
    properties = table["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert properties["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert "GlobalSecondaryIndexes" not in properties
    assert table["DeletionPolicy"] == "Retain"


def test_staged_run_tables_expire_and_model_artifacts_keep_their_history(synth: Synth) -> None:
    _, artifacts = _bucket(synth, "ArtifactBucket")
    rules = {
        rule["Id"]: rule for rule in artifacts["Properties"]["LifecycleConfiguration"]["Rules"]
    }
    staged = rules["ExpireStagedTables"]
    assert staged["Prefix"] == "staging/"
    assert staged["ExpirationInDays"] == 7
    assert staged["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert rules["ExpireOldVersions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 365}
    assert "Prefix" not in rules["ExpireOldVersions"]
