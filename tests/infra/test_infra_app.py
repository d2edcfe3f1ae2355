"""`python infra/app.py` works as the CDK CLI and the local cloud run it: as a script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_app_runs_as_a_script_with_cdk_json_context(tmp_path: Path) -> None:
    # Given only the environment the CDK CLI would set (out dir, bundling skipped)
    environment = {
        **os.environ,
        "CDK_OUTDIR": str(tmp_path),
        "CDK_CONTEXT_JSON": json.dumps({"aws:cdk:bundling-stacks": []}),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    environment.pop("PYTHONPATH", None)
    # When the app is run from another directory, as a script
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "infra" / "app.py")],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Then it synthesizes the Mlops stack (cdk-nag passing) with cdk.json's settings
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((tmp_path / "Mlops.template.json").read_text())
    (train,) = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"]["Handler"] == "mlops.handlers.train.handler"
    ]
    cdk_json = json.loads((REPO_ROOT / "cdk.json").read_text())
    assert (
        train["Properties"]["MemorySize"] == cdk_json["context"]["mlops"]["training"]["memory_mb"]
    )
    assert "ApiUrl" in template["Outputs"]
