"""Each pipeline handler imports only what its function's layers carry (docs/architecture.md):
trigger, gate and finalize have the base layer only (no numpy); validate and evaluate the
scoring layer (no scikit-learn or scipy); train the training layer (no onnxruntime)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numpy", "onnxruntime", "sklearn", "scipy", "skl2onnx", "onnx", "pandas")
FORBIDDEN = {
    "trigger": {"numpy", "onnxruntime", "sklearn", "scipy", "skl2onnx", "onnx", "pandas"},
    "gate": {"numpy", "onnxruntime", "sklearn", "scipy", "skl2onnx", "onnx", "pandas"},
    "finalize": {"numpy", "onnxruntime", "sklearn", "scipy", "skl2onnx", "onnx", "pandas"},
    "validate": {"onnxruntime", "sklearn", "scipy", "skl2onnx", "onnx", "pandas"},
    "evaluate": {"sklearn", "scipy", "skl2onnx", "onnx", "pandas"},
    "train": {"onnxruntime", "pandas"},
}
PROBE = """
import importlib, json, sys
importlib.import_module("mlops.handlers." + sys.argv[1])
print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


@pytest.mark.parametrize("handler", sorted(FORBIDDEN))
def test_handler_imports_fit_its_layers(handler: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), handler],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert not loaded & FORBIDDEN[handler], (
        f"{handler} imports {sorted(loaded & FORBIDDEN[handler])}"
    )
