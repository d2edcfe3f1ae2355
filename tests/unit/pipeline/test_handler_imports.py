"""Each pipeline handler imports only what its function's layers carry (docs/architecture.md):
trigger, gate and finalize have the base layer only (no numpy); validate and evaluate the
scoring layer (no scikit-learn or scipy); train the training layer (no onnxruntime).
No layer ships pandas (the dev tools install it for the benchmarks): the probe hides it, as the
layers do, so libraries that use it when present (skl2onnx) import without it and a handler
that needs it fails."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numpy", "onnxruntime", "sklearn", "scipy", "skl2onnx", "onnx", "pandas")
BASE_ONLY = {"numpy", "onnxruntime", "sklearn", "scipy", "skl2onnx", "onnx", "pandas"}
SCORING = {"sklearn", "scipy", "skl2onnx", "onnx", "pandas"}
FORBIDDEN = {
    "trigger": {"numpy", "onnxruntime", "sklearn", "scipy", "skl2onnx", "onnx", "pandas"},
    "gate": {"numpy", "onnxruntime", "sklearn", "scipy", "skl2onnx", "onnx", "pandas"},
    "finalize": {"numpy", "onnxruntime", "sklearn", "scipy", "skl2onnx", "onnx", "pandas"},
    "validate": {"onnxruntime", "sklearn", "scipy", "skl2onnx", "onnx", "pandas"},
    "evaluate": {"sklearn", "scipy", "skl2onnx", "onnx", "pandas"},
    "train": {"onnxruntime", "pandas"},
    "batch_trigger": BASE_ONLY,
    "batch_pin": BASE_ONLY,
    "batch_manifest": BASE_ONLY,
    "batch_score": SCORING,
    "monitor": SCORING,
    "guard": BASE_ONLY,
    "registry_events": BASE_ONLY,
}
PROBE = """
import importlib, json, sys
sys.modules["pandas"] = None  # not in any layer
importlib.import_module("mlops.handlers." + sys.argv[1])
print(json.dumps(sorted(name for name in {heavy!r} if sys.modules.get(name) is not None)))
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
