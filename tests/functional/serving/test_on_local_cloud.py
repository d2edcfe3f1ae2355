"""The score function as the stack deploys it, on the local cloud: invoke and `mlops serve`."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator

import numpy as np
import onnxruntime as ort
import pytest
from onnx_builders import BuiltModel
from serving_harness import Registrar

from mlops import aws
from mlops.artifacts import ArtifactStore
from mlops.local import LocalCloud
from mlops.local.pytest_plugin import local_cloud, local_cloud_template  # noqa: F401 - fixtures
from mlops.serving import api
from mlops.serving.local_server import make_server, proxy_event

RECORD = {"amount": 42.0, "age": 51, "country": "us"}


def onnxruntime_answer(onnx: bytes) -> tuple[str, np.ndarray]:
    session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    label, probabilities = session.run(
        None,
        {
            "amount": np.array([[RECORD["amount"]]], dtype=np.float32),
            "age": np.array([[RECORD["age"]]], dtype=np.float32),
            "country": np.array([[RECORD["country"]]], dtype=object),
        },
    )
    return str(label[0]), probabilities[0]


@pytest.fixture
def registered(local_cloud: LocalCloud, classifier: BuiltModel) -> Iterator[LocalCloud]:  # noqa: F811
    artifacts = ArtifactStore(aws.client("s3"), local_cloud.settings.artifact_bucket)
    Registrar(local_cloud.registry(), artifacts).register("fraud", classifier, promote=True)
    yield local_cloud
    api.use_service(None)


def test_deployed_score_function_answers_api_gateway_events(
    registered: LocalCloud, classifier: BuiltModel
) -> None:
    # When API Gateway's proxy event reaches the deployed function through Lambda's invoke path
    event = proxy_event("POST", "/v1/models/fraud/predict", None, json.dumps({"record": RECORD}))
    result = registered.invoke("mlops.handlers.score.handler", event)
    # Then it answers with onnxruntime's own prediction
    assert result["statusCode"] == 200, result
    [prediction] = json.loads(result["body"])["predictions"]
    label, probabilities = onnxruntime_answer(classifier.onnx)
    assert prediction["label"] == label
    np.testing.assert_array_equal(
        np.array(list(prediction["probabilities"].values()), dtype=np.float32), probabilities
    )


def test_mlops_serve_on_the_local_cloud(registered: LocalCloud, classifier: BuiltModel) -> None:
    # Given `mlops serve`'s server wired to the local cloud's resources
    api.use_service(api.build_service(registered.settings))
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # When curl-like clients call it
        request = urllib.request.Request(
            f"{server.url}/v1/models/fraud/predict",
            data=json.dumps({"record": RECORD}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.loads(response.read())
        with urllib.request.urlopen(f"{server.url}/v1/models", timeout=30) as response:
            listing = json.loads(response.read())
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    # Then they get the same answer as onnxruntime
    assert body["version"] == 1
    assert body["predictions"][0]["label"] == onnxruntime_answer(classifier.onnx)[0]
    assert [m["name"] for m in listing["models"]] == ["fraud"]
