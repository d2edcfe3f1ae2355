"""What a fresh score process imports: never scikit-learn, scipy or pandas; and on the cold
path to its first prediction, none of the modules kept off it for cold start (botocore and
boto3, pydantic and the registry entities, the Powertools event handler, the OpenAPI schemas)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from onnx_builders import BuiltModel
from serving_harness import moto_server_with_model

HEAVY = ["pandas", "scipy", "sklearn"]
OFF_COLD_PATH = [
    "aws_lambda_powertools.event_handler",
    "boto3",
    "botocore.client",  # (Powertools imports the bare package, ~0.5 ms)
    "botocore.session",
    "mlops.registry.entities",
    "mlops.serving.rest",
    "mlops.serving.schemas",
    "pydantic",
    "s3transfer",
    "urllib3",
]

SCRIPT = r"""
import json, sys

from mlops.handlers.score import handler
from mlops.serving.local_server import LocalLambdaContext, proxy_event

watched = json.loads(sys.argv[1])
body = json.dumps({"record": {"amount": 10.0, "age": 30, "country": "de"}})
predicted = handler(proxy_event("POST", "/v1/models/fraud/predict", None, body),
                    LocalLambdaContext())
cold = sorted(m for m in watched if m in sys.modules)
health = handler(proxy_event("GET", "/v1/health", None, None), LocalLambdaContext())
later = sorted(m for m in watched if m in sys.modules)
after = sorted({m.split(".")[0] for m in sys.modules} & {"sklearn", "scipy", "pandas"})
sys.stderr.write(json.dumps({
    "predict": predicted["statusCode"], "health": health["statusCode"],
    "loaded_by_predict": cold, "loaded_by_health": later, "heavy": after,
}) + "\n")
"""


@pytest.fixture(scope="module")
def fresh_process(classifier: BuiltModel) -> dict[str, Any]:
    """A new interpreter (no moto in it) that predicts, then asks for health, against a moto
    server holding a promoted model; what it reports about its modules."""
    with moto_server_with_model(classifier, "hygiene") as env:
        completed = subprocess.run(
            [sys.executable, "-c", SCRIPT, json.dumps(HEAVY + OFF_COLD_PATH)],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report: dict[str, Any] = json.loads(completed.stderr.strip().splitlines()[-1])
    return report


def test_handler_serves_without_sklearn_scipy_or_pandas(fresh_process: dict[str, Any]) -> None:
    # Given a fresh interpreter, When it predicts and answers another route,
    # Then both succeeded and no heavy module was ever imported
    assert fresh_process["predict"] == 200
    assert fresh_process["health"] == 200
    assert fresh_process["heavy"] == []


def test_cold_path_to_the_first_prediction_skips_what_predict_does_not_need(
    fresh_process: dict[str, Any],
) -> None:
    # Given a fresh interpreter, When it imports the handler and answers its first predict,
    # Then no AWS SDK, no pydantic, no Powertools resolver and no OpenAPI model was loaded
    assert fresh_process["predict"] == 200
    assert fresh_process["loaded_by_predict"] == []
    # And the health route afterwards loaded the resolver on demand (the names are real)
    resolver = {
        "aws_lambda_powertools.event_handler",
        "mlops.serving.rest",
        "mlops.serving.schemas",
        "pydantic",
    }
    assert resolver <= set(fresh_process["loaded_by_health"])
