"""`mlops local up` serves the local cloud and prints the variables that point at it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

from mlops.cli import main


def test_local_up_serves_until_interrupted(tiny_template: dict[str, Any], tmp_path: Path) -> None:
    # Given a template on disk
    template = tmp_path / "template.json"
    template.write_text(json.dumps(tiny_template))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLOPS_"))}

    # When `mlops local up` starts on a free port
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from mlops.cli import main; sys.exit(main())",
         "local", "up", "--port", "0",
         "--template", str(template), "--stack", "LocalCloudTest"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        exports: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("#"):
                break
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exports[name] = value

        # Then the printed variables point a client at the served stack
        assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        s3 = boto3.client(
            "s3",
            endpoint_url=exports["AWS_ENDPOINT_URL"],
            region_name=exports["AWS_DEFAULT_REGION"],
            aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        )
        buckets = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
        assert exports["MLOPS_DATA_BUCKET"] in buckets
        assert ":stateMachine:" in exports["MLOPS_TRAINING_STATE_MACHINE_ARN"]
    finally:
        # And Ctrl-C stops it cleanly
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert process.returncode == 0


def test_local_up_refuses_a_bad_template_in_one_line(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    assert main(["local", "up", "--template", str(broken)]) == 1

    error = capsys.readouterr().err
    assert error.startswith("error: --template:")
    assert len(error.strip().splitlines()) == 1
