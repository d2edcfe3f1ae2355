"""Server mode: real clients in other processes talk to the local cloud over HTTP."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from typing import Any

import boto3
from botocore.config import Config

from mlops.local import LocalCloud
from mlops.local.deploy import LOCAL_ROLE_NAME

CLIENT_SCRIPT = """
import json, boto3
s3 = boto3.client("s3")
dynamodb = boto3.client("dynamodb")
lam = boto3.client("lambda")
print(json.dumps({
    "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
    "tables": dynamodb.list_tables()["TableNames"],
    "answer": json.load(
        lam.invoke(FunctionName=FUNCTION, Payload=b'{"from": "outside"}')["Payload"]
    ),
}))
"""


def test_a_boto3_client_in_another_process_talks_to_the_server(
    tiny_template: dict[str, Any],
) -> None:
    with LocalCloud(tiny_template, stack="LocalCloudTest", server=True) as cloud:
        assert cloud.endpoint_url is not None
        assert cloud.endpoint_url.startswith("http://127.0.0.1:")
        function = cloud.function_name("local_cloud_handlers.record")
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ENDPOINT_URL": cloud.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        result = subprocess.run(
            [sys.executable, "-c", f"FUNCTION = {function!r}\n{CLIENT_SCRIPT}"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

        seen = json.loads(result.stdout)
        assert seen["buckets"] == sorted(
            [cloud.settings.data_bucket, cloud.settings.artifact_bucket]
        )
        assert seen["tables"] == [cloud.settings.registry_table]
        # the invoke from the other process ran the handler here, in this process
        assert seen["answer"] == {
            "received": {"from": "outside"},
            "table": cloud.settings.registry_table,
        }
        assert cloud.invocations[-1].event == {"from": "outside"}


def test_the_pipeline_runs_in_server_mode(tiny_template: dict[str, Any]) -> None:
    with LocalCloud(tiny_template, stack="LocalCloudTest", server=True) as cloud:
        cloud.upload("incoming/good.csv", "a\n1\n")

        (execution,) = cloud.executions()
        finished = cloud.wait_for_execution(execution["executionArn"])

        assert finished["status"] == "SUCCEEDED"
        assert json.loads(finished["output"])["work"]["lines"] == 2


def test_a_handler_invoking_another_function_does_not_block_the_server(
    tiny_template: dict[str, Any],
) -> None:
    with LocalCloud(tiny_template, stack="LocalCloudTest", server=True) as cloud:
        # Given a function, created over HTTP, whose handler invokes another function
        lambda_client = boto3.client(
            "lambda",
            endpoint_url=cloud.endpoint_url,
            region_name="us-east-1",
            config=Config(read_timeout=60, retries={"total_max_attempts": 1}),
        )
        lambda_client.create_function(
            FunctionName="relay",
            Runtime="python3.12",
            Role=f"arn:aws:iam::{cloud.place.account}:role/{LOCAL_ROLE_NAME}",
            Handler="local_cloud_handlers.relay",
            Code={"ZipFile": _zip()},
        )
        record = cloud.function_name("local_cloud_handlers.record")

        # When it is invoked over HTTP (a server thread runs it)
        response = lambda_client.invoke(
            FunctionName="relay",
            Payload=json.dumps({"function": record, "payload": {"hop": 2}}).encode(),
        )

        # Then its nested invocation ran in-process and the answer came back
        assert json.load(response["Payload"]) == {
            "received": {"hop": 2},
            "table": cloud.settings.registry_table,
        }
        assert [call.handler for call in cloud.invocations] == [
            "local_cloud_handlers.record",
            "local_cloud_handlers.relay",
        ]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("local_cloud_handlers.py", "# runs in-process")
    return buffer.getvalue()
