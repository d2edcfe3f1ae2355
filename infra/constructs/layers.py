"""Lambda layers (base, scoring, training) built without Docker from layers/<name>/."""

from __future__ import annotations

import importlib.util
import shlex
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

LAYERS_DIR = Path(__file__).resolve().parents[2] / "layers"
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.X86_64
# Used only if local bundling is unavailable (CDK falls back to Docker); its python is 3.12.
BUILD_IMAGE = "public.ecr.aws/sam/build-python3.12"
DESCRIPTIONS = {
    "base": "Powertools, pydantic, aws-xray-sdk",
    "scoring": "onnxruntime and numpy (inference; no scikit-learn)",
    "training": "scikit-learn, scipy, skl2onnx, onnx (fitting and conversion)",
}


def load_builder() -> ModuleType:
    """Import layers/build.py (a script, not a package) as a module."""
    spec = importlib.util.spec_from_file_location("mlops_layer_build", LAYERS_DIR / "build.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the layer builder from {LAYERS_DIR}")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@jsii.implements(ILocalBundling)
class PipLayerBundler:
    """CDK local bundling: pip installs manylinux wheels for the Lambda runtime."""

    def __init__(self, layer_name: str) -> None:
        self.layer_name = layer_name

    def try_bundle(self, output_dir: str, _options: Any = None, **_more: Any) -> bool:
        load_builder().build_layer(self.layer_name, Path(output_dir))
        return True


class Layers(Construct):
    """The three layers; the asset hash is the builder's recipe hash (stable across hosts)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        builder = load_builder()
        self.by_name: dict[str, lambda_.LayerVersion] = {}
        compile_command = builder.compileall_arguments(
            "python", "/asset-output/python", builder.LAYER_RUNTIME_DIR
        )
        docker_build = (
            "pip install --no-compile -r requirements.txt -t /asset-output/python"
            f" && {shlex.join(compile_command)}"
        )
        for name in builder.LAYER_NAMES:
            code = lambda_.Code.from_asset(
                str(LAYERS_DIR / name),
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=f"{name}-{builder.recipe_hash(name)}",
                bundling=BundlingOptions(
                    image=DockerImage.from_registry(BUILD_IMAGE),
                    command=["bash", "-c", docker_build],
                    local=PipLayerBundler(name),
                ),
            )
            self.by_name[name] = lambda_.LayerVersion(
                self,
                f"{name.capitalize()}Layer",
                code=code,
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description=DESCRIPTIONS[name],
            )
