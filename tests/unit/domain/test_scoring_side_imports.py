"""The domain modules used by evaluation and serving never pull in the training stack."""

from __future__ import annotations

import json
import subprocess
import sys

SCORING_SIDE = [
    "mlops.domain.spec",
    "mlops.domain.dataset",
    "mlops.domain.validation",
    "mlops.domain.metrics",
    "mlops.domain.gate",
    "mlops.domain.baseline",
    "mlops.domain.report",
    "mlops.domain.snapshot",
]
FORBIDDEN = ("sklearn", "scipy", "pandas", "skl2onnx", "onnx", "yaml")


def top_level_modules_after_importing(modules: list[str]) -> set[str]:
    program = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


def test_scoring_side_domain_modules_do_not_import_the_training_stack() -> None:
    loaded = top_level_modules_after_importing(SCORING_SIDE)

    assert loaded.isdisjoint(FORBIDDEN), loaded & set(FORBIDDEN)
    assert "numpy" in loaded


def test_the_gate_runs_with_the_base_layer_only() -> None:
    loaded = top_level_modules_after_importing(["mlops.domain.gate", "mlops.domain.spec"])

    assert "numpy" not in loaded
