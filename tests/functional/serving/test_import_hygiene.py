"""The score handler's import path never loads scikit-learn, scipy or pandas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from onnx_builders import BuiltModel

SCRIPT = r"""
import json, sys
from pathlib import Path

from moto import mock_aws

with mock_aws():
    from mlops import aws
    from mlops.artifacts import ArtifactStore
    from mlops.registry.dynamodb import DynamoDBRegistryStore
    from mlops.registry.entities import FeatureSchema, NewVersion, Trigger, TriggerKind

    aws.client("dynamodb").create_table(
        TableName="hygiene-registry",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for bucket in ("hygiene-artifacts", "hygiene-data"):
        aws.client("s3").create_bucket(Bucket=bucket)
    store = DynamoDBRegistryStore("hygiene-registry", aws.client("dynamodb"))
    store.create_model("fraud", actor="test")
    ref = ArtifactStore(aws.client("s3"), "hygiene-artifacts").put(
        "fraud", 1, "model.onnx", Path(sys.argv[1]).read_bytes()
    )
    schema = [FeatureSchema.model_validate(f) for f in json.loads(sys.argv[2])]
    store.register_version("fraud", NewVersion(
        task="classification", estimator="lr", feature_schema=schema,
        classes=json.loads(sys.argv[3]), artifact=ref,
        trigger=Trigger(kind=TriggerKind.MANUAL, source_id="test")), actor="test")
    store.promote("fraud", 1, actor="test")

    from mlops.handlers.score import handler
    from mlops.serving.local_server import LocalLambdaContext, proxy_event

    body = json.dumps({"record": {"amount": 10.0, "age": 30, "country": "de"}})
    result = handler(proxy_event("POST", "/v1/models/fraud/predict", None, body),
                     LocalLambdaContext())
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sklearn", "scipy", "pandas"})
    sys.stderr.write(json.dumps({"status": result["statusCode"], "heavy": heavy}) + "\n")
"""


def test_handler_serves_without_sklearn_scipy_or_pandas(
    classifier: BuiltModel, tmp_path: Path
) -> None:
    # Given an artifact on disk and a fresh interpreter
    artifact = tmp_path / "model.onnx"
    artifact.write_bytes(classifier.onnx)
    schema = json.dumps([f.model_dump(mode="json") for f in classifier.feature_schema])
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLOPS_REGISTRY_TABLE": "hygiene-registry",
        "MLOPS_ARTIFACT_BUCKET": "hygiene-artifacts",
        "MLOPS_DATA_BUCKET": "hygiene-data",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    # When it imports the handler and serves a prediction
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(artifact), schema, json.dumps(classifier.classes)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then the prediction succeeded and no heavy module was ever imported
    assert completed.returncode == 0, completed.stderr[-2000:]
    outcome = json.loads(completed.stderr.strip().splitlines()[-1])
    assert outcome == {"status": 200, "heavy": []}
