"""Layers: pinned requirements, the Docker-free builder, and the 250 MB Lambda limit."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Synth

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDA_UNZIPPED_LIMIT = 262_144_000  # 250 MB: function code plus all its layers
PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(\[[a-z,]+\])?==(?P<version>[\w.]+)$")


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "layer_build_under_test", REPO_ROOT / "layers" / "build.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build = _load_builder()


def _pins(layer: str) -> dict[str, str]:
    pins = {}
    for raw_line in build.requirements_file(layer).read_text().splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{layer}: not an exact pin: {line}"
        pins[match["name"].lower().replace("_", "-")] = match["version"]
    return pins


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["train"]]
    pins = {}
    for requirement in requirements:
        match = PIN.match(requirement)
        if match:
            pins[match["name"].lower()] = match["version"]
    return pins


@pytest.mark.parametrize("layer", ["base", "scoring", "training"])
def test_requirements_are_exact_pins_without_boto3(layer: str) -> None:
    pins = _pins(layer)
    assert pins
    assert not {"boto3", "botocore", "s3transfer"} & set(pins)


def test_layer_pins_match_pyproject() -> None:
    project = _pyproject_pins()
    for layer in ("base", "scoring", "training"):
        for name, version in _pins(layer).items():
            if name in project:
                assert version == project[name], f"{layer}: {name}"
    assert _pins("training")["numpy"] == _pins("scoring")["numpy"]


def test_scoring_layer_has_no_scikit_learn_or_scipy() -> None:
    assert not {"scikit-learn", "scipy", "pandas", "skl2onnx"} & set(_pins("scoring"))


def test_pip_targets_the_lambda_runtime_without_docker(tmp_path: Path) -> None:
    arguments = build.pip_arguments(build.requirements_file("scoring"), tmp_path)
    assert arguments[1:4] == ["-m", "pip", "install"]
    assert "--only-binary=:all:" in arguments
    platforms = [arguments[i + 1] for i, a in enumerate(arguments) if a == "--platform"]
    assert platforms == ["manylinux_2_28_x86_64", "manylinux2014_x86_64"]
    assert arguments[arguments.index("--python-version") + 1] == "3.12"
    assert arguments[arguments.index("--implementation") + 1] == "cp"
    assert arguments[arguments.index("--target") + 1] == str(tmp_path)


def test_unknown_layer_is_refused() -> None:
    with pytest.raises(ValueError, match="layer name"):
        build.requirements_file("everything")


def test_trim_drops_tests_caches_and_runtime_packages_but_keeps_shared_objects(
    tmp_path: Path,
) -> None:
    # Given an installed tree with tests, caches, a shared object and botocore
    site = tmp_path / "python"
    (site / "scipy" / "linalg" / "tests").mkdir(parents=True)
    (site / "scipy" / "linalg" / "tests" / "test_basic.py").write_text("")
    (site / "scipy" / "linalg" / "__pycache__").mkdir()
    (site / "scipy" / "linalg" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (site / "scipy" / "linalg" / "_flapack.cpython-312-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    (site / "scipy" / "linalg" / "__init__.py").write_text("")
    (site / "botocore" / "data").mkdir(parents=True)
    (site / "botocore" / "__init__.py").write_text("")
    (site / "botocore" / "data" / "endpoints.json").write_text("{}")
    dist_info = site / "botocore-1.0.0.dist-info"
    dist_info.mkdir()
    (dist_info / "RECORD").write_text(
        "botocore/__init__.py,,\nbotocore/data/endpoints.json,,\nbotocore-1.0.0.dist-info/RECORD,,\n"
    )
    (site / "bin").mkdir()
    (site / "bin" / "f2py").write_text("#!/usr/bin/python\n")
    # When it is trimmed
    build.trim(site)
    # Then only what Lambda needs remains, shared objects untouched
    remaining = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    assert remaining == [
        "scipy/linalg/__init__.py",
        "scipy/linalg/_flapack.cpython-312-x86_64-linux-gnu.so",
    ]


def test_recipe_hash_changes_with_requirements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = build.recipe_hash("base")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "requirements.txt").write_text("pydantic==2.0.0\n")
    monkeypatch.setattr(build, "LAYERS_DIR", tmp_path)
    assert build.recipe_hash("base") != before


@pytest.mark.slow
def test_every_function_fits_lambdas_unzipped_limit(synth: Synth) -> None:
    # Given the three layers really built for the Lambda runtime (cached by recipe hash)
    layer_sizes = {
        name: build.directory_size(build.cached_layer(name) / "python")
        for name in build.LAYER_NAMES
    }
    for name, size in layer_sizes.items():
        print(f"layer {name}: {size / 1e6:.1f} MB unzipped")
    # And the code asset and layer assets the template actually references
    assets = json.loads((synth.outdir / "Mlops.assets.json").read_text())["files"]
    source_of = {
        f"{asset_hash}.zip": Path(entry["source"]["path"]) for asset_hash, entry in assets.items()
    }
    layer_of = {}
    for logical_id, layer in synth.resources("AWS::Lambda::LayerVersion").items():
        layer_of[logical_id] = source_of[layer["Properties"]["Content"]["S3Key"]].name
    # When each function's code plus layers is measured
    for logical_id, function in synth.resources("AWS::Lambda::Function").items():
        code_dir = synth.outdir / source_of[function["Properties"]["Code"]["S3Key"]]
        code_size = build.directory_size(code_dir)
        layers = [layer_of[layer["Ref"]] for layer in function["Properties"]["Layers"]]
        total = code_size + sum(layer_sizes[name] for name in layers)
        print(f"{logical_id}: code {code_size / 1e6:.2f} MB + {layers} = {total / 1e6:.1f} MB")
        # Then it is under 250 MB
        assert total < LAMBDA_UNZIPPED_LIMIT, f"{logical_id} is {total:,} bytes unzipped"


@pytest.mark.slow
def test_built_layers_hold_the_pinned_packages_for_python_312() -> None:
    for layer in build.LAYER_NAMES:
        site = build.cached_layer(layer) / "python"
        stems = [dist.name.removesuffix(".dist-info") for dist in site.glob("*.dist-info")]
        installed = dict(stem.lower().replace("_", "-").rsplit("-", 1) for stem in stems)
        for name, version in _pins(layer).items():
            assert installed.get(name) == version, f"{layer}: {name}"
        assert not {"boto3", "botocore"} & set(installed), layer
        extensions = [p.name for p in site.rglob("*.so") if "cpython" in p.name]
        assert all("cpython-312-x86_64-linux-gnu" in name for name in extensions), layer
