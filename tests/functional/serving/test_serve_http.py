"""`mlops serve`'s HTTP server: real HTTP requests, adapted to proxy events, same handler."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from onnx_builders import BuiltModel
from serving_harness import Registrar, moto_server_with_model

from mlops.cli import build_parser
from mlops.serving.local_server import LocalApiServer, make_server

RECORD = {"amount": 42.0, "age": 51, "country": "us"}


@pytest.fixture
def server(serving: None) -> Iterator[LocalApiServer]:
    httpd = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def http(
    server: LocalApiServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    request = urllib.request.Request(
        server.url + path, data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def test_predict_over_http_matches_onnxruntime(
    server: LocalApiServer, registrar: Registrar, classifier: BuiltModel
) -> None:
    registrar.register("fraud", classifier, promote=True)
    status, body, headers = http(
        server,
        "POST",
        "/v1/models/fraud/predict",
        json.dumps({"record": RECORD}).encode(),
        {"Content-Type": "application/json", "X-Request-Id": "http-1"},
    )
    assert status == 200, body
    assert headers["X-Request-Id"] == "http-1"
    session = ort.InferenceSession(classifier.onnx, providers=["CPUExecutionProvider"])
    label, probabilities = session.run(
        None,
        {
            "amount": np.array([[RECORD["amount"]]], dtype=np.float32),
            "age": np.array([[RECORD["age"]]], dtype=np.float32),
            "country": np.array([[RECORD["country"]]], dtype=object),
        },
    )
    [prediction] = body["predictions"]
    assert prediction["label"] == label[0]
    returned = np.array(list(prediction["probabilities"].values()), dtype=np.float32)
    np.testing.assert_array_equal(returned, probabilities[0])


def test_errors_over_http_are_json_4xx(
    server: LocalApiServer, registrar: Registrar, classifier: BuiltModel
) -> None:
    registrar.register("fraud", classifier, promote=True)
    assert http(server, "POST", "/v1/models/fraud/predict", b"{oops")[0] == 400
    status, body, _ = http(
        server, "POST", "/v1/models/fraud/predict", json.dumps({"record": {"age": 1}}).encode()
    )
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {"amount", "country"}
    assert http(server, "POST", "/v1/models/fraud/predict", b"x" * 70_000)[0] == 413
    assert http(server, "GET", "/v1/models/ghost")[0] == 404
    assert http(server, "GET", "/v1/health")[1]["status"] == "ok"
    assert http(server, "GET", "/v1/openapi.json")[0] == 200


def test_concurrent_http_requests_are_all_answered(
    server: LocalApiServer, registrar: Registrar, classifier: BuiltModel
) -> None:
    registrar.register("fraud", classifier, promote=True)
    statuses: list[int] = []

    def client(index: int) -> None:
        for j in range(5):
            payload = json.dumps({"record": {**RECORD, "amount": float(index * 10 + j)}})
            statuses.append(http(server, "POST", "/v1/models/fraud/predict", payload.encode())[0])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 20


def test_serve_command_is_registered() -> None:
    args = build_parser().parse_args(["serve", "--port", "0", "--host", "127.0.0.1"])
    assert (args.port, args.host) == (0, "127.0.0.1")
    assert callable(args.func)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


SERVE = "import sys; from mlops.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.timeout(180)
def test_mlops_serve_command_against_a_moto_server(classifier: BuiltModel) -> None:
    # Given a moto server holding a registered, promoted model
    with moto_server_with_model(classifier, "cli") as moto_env:
        process = None
        try:
            # When `mlops serve` runs in its own process
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-c", SERVE, "serve", "--port", str(port)],
                env={**os.environ, **moto_env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert process.stderr is not None
            banner = process.stderr.readline()  # written once the socket listens
            assert "serving the scoring API on" in banner, banner + process.stderr.read()
            url = f"http://127.0.0.1:{port}"
            with urllib.request.urlopen(f"{url}/v1/health", timeout=30) as response:
                assert json.loads(response.read()) == {"status": "ok", "code_version": "unknown"}
            request = urllib.request.Request(
                f"{url}/v1/models/fraud/predict", data=json.dumps({"record": RECORD}).encode()
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
            # Then curl-like clients get predictions from the registered model
            assert (answer["model"], answer["version"]) == ("fraud", 1)
            assert answer["predictions"][0]["label"] in classifier.classes
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
                if process.stderr is not None:
                    process.stderr.close()
