"""`mlops train --wait` from another process against the local cloud's server mode, as a user
at a shell would run it after `mlops local up`."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from mlops.local import LocalCloud
from mlops.local.cloud import settings_environment
from mlops.local.demo_data import make_rows, make_spec, to_csv

MLOPS = "import sys; from mlops.cli import main; sys.exit(main(sys.argv[1:]))"


def test_cli_in_another_process_trains_and_shows_the_run(e2e_template: dict[str, Any]) -> None:
    with LocalCloud(e2e_template, server=True) as cloud:
        assert cloud.endpoint_url is not None
        cloud.registry().put_spec("fraud", make_spec("fraud", "binary"), actor="e2e")
        data_uri = cloud.upload("manual/fraud.csv", to_csv(make_rows("binary", 200, seed=1)))
        environment = {
            **os.environ,
            **settings_environment(cloud.settings),
            "AWS_ENDPOINT_URL": cloud.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

        result = subprocess.run(
            [sys.executable, "-c", MLOPS, "train", "fraud", "--data", data_uri, "--wait"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

        assert result.returncode == 0, result.stderr
        assert "status:   succeeded" in result.stdout
        assert "version:  1" in result.stdout
        assert cloud.registry().resolve("fraud").version == 1
