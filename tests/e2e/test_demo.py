"""The README's first command: `mlops demo` runs the lifecycle on the local cloud."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlops.cli import main


def test_demo_trains_promotes_rejects_serves_canaries_and_rolls_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a fresh process with no AWS account, When the demo runs
    assert main(["demo", "--rows", "600"]) == 0

    # Then every lifecycle stage shows up in what the user reads
    out = capsys.readouterr().out
    assert "status:   succeeded" in out
    assert "reason:   promoted: first version" in out
    assert "status:   rejected" in out  # the noisy day-3 file fails the gate
    assert "HTTP 200" in out
    assert '"served_by": "production"' in out
    assert "candidate is now v1, canary: 10% of traffic" in out
    assert "production rolled back to v1" in out
    # and the Lambdas' own logs went to the log file, not into the narration
    assert '"level":"INFO"' not in out
    log_file = re.search(r"keep them\): (\S+)", out)
    assert log_file is not None
    logs = Path(log_file.group(1))
    assert '"message":"training run finished"' in logs.read_text()
    logs.unlink()


def test_demo_refuses_a_silly_row_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--rows", "5"]) == 1
    assert "--rows must be between 200 and 1000000" in capsys.readouterr().err
