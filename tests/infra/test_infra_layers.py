"""Layers: pinned requirements, the Docker-free builder, bytecode, the 250 MB Lambda limit."""

from __future__ import annotations

import importlib.util
import json
import marshal
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from infra.constructs.code import FunctionCodeBundler

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
UNCHECKED_HASH = 1  # .pyc flags word: hash-based (bit 0), source never checked (bit 1 clear)
# A wheel's own bytecode (for whatever interpreter built it): trimming must drop it.
FAKE_PIP = """
import pathlib, sys
package = pathlib.Path(sys.argv[1]) / "pkg"
(package / "__pycache__").mkdir(parents=True)
(package / "__init__.py").write_text("VALUE = 1\\n")
(package / "__pycache__" / "__init__.cpython-312.pyc").write_bytes(b"stale")
"""


def runtime_magic(interpreter: str) -> bytes:
    """The .pyc magic number of the CPython 3.12 interpreter the builder found."""
    script = "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"
    result = subprocess.run([interpreter, "-c", script], capture_output=True, text=True, check=True)
    return bytes.fromhex(result.stdout)


def assert_runtime_bytecode(pyc: Path, magic: bytes, filename: str) -> None:
    """pyc is unchecked-hash bytecode of ``magic`` whose code object names ``filename``."""
    data = pyc.read_bytes()
    assert data[:4] == magic, pyc
    assert int.from_bytes(data[4:8], "little") == UNCHECKED_HASH, pyc
    if magic == importlib.util.MAGIC_NUMBER:  # this interpreter can read it
        assert marshal.loads(data[16:]).co_filename == filename
    else:
        assert filename.encode() in data[16:], pyc


@pytest.fixture
def fresh_interpreter_cache() -> Iterator[None]:
    build.runtime_interpreter.cache_clear()
    yield
    build.runtime_interpreter.cache_clear()


def _executable(path: Path, script: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


def _running_cpython_312() -> bool:
    return sys.version_info[:2] == (3, 12) and sys.implementation.name == "cpython"


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


def test_recipe_hash_records_whether_bytecode_is_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the recipe hashes of builds made with a CPython 3.12 interpreter
    monkeypatch.setattr(build, "runtime_interpreter", lambda: "/usr/bin/python3.12")
    with_bytecode = {name: build.recipe_hash(name) for name in build.LAYER_NAMES}
    # When there is none
    monkeypatch.setattr(build, "runtime_interpreter", lambda: None)
    # Then the layers that get bytecode get other hashes (a cache is never reused across)
    assert {"base", "scoring"} <= set(build.BYTECODE_LAYERS)  # the score API's cold start
    for name in build.LAYER_NAMES:
        changed = build.recipe_hash(name) != with_bytecode[name]
        assert changed == (name in build.BYTECODE_LAYERS), name


@pytest.mark.usefixtures("fresh_interpreter_cache")
def test_runtime_interpreter_skips_a_failing_shim_and_a_wrong_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a pyenv shim on PATH that cannot run python3.12 (another version is selected)
    shim = _executable(tmp_path / "shims" / "python3.12", "exit 127")
    # And pyenv versions: a 3.12 that is not what it says, and a real one
    versions = tmp_path / "pyenv" / "versions"
    _executable(versions / "3.12.9" / "bin" / "python3.12", 'echo "(3, 11) cpython"')
    real = _executable(versions / "3.12.1" / "bin" / "python3.12", 'echo "(3, 12) cpython"')
    monkeypatch.setenv("PATH", str(shim.parent))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    # When the builder looks for the runtime's interpreter
    found = build.runtime_interpreter()
    # Then it is the one that really runs CPython 3.12 (this interpreter if it is one)
    assert found == (sys.executable if _running_cpython_312() else str(real))


@pytest.mark.usefixtures("fresh_interpreter_cache")
def test_runtime_interpreter_is_none_without_cpython_312(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if _running_cpython_312():
        pytest.skip("this interpreter is CPython 3.12")
    impostor = _executable(tmp_path / "bin" / "python3.12", 'echo "(3, 12) pypy"')
    monkeypatch.setenv("PATH", str(impostor.parent))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    assert build.runtime_interpreter() is None


def test_layer_build_trims_then_compiles_bytecode_for_opt_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given pip installing a package that carries its own stale bytecode
    monkeypatch.setattr(
        build, "pip_arguments", lambda _r, target: [sys.executable, "-c", FAKE_PIP, str(target)]
    )
    # When the layer is built
    site = build.build_layer("base", tmp_path / "out", cache_dir=tmp_path / "cache")
    # Then the stale bytecode is gone and, given CPython 3.12, fresh bytecode names /opt/python
    pyc = site / "pkg" / "__pycache__" / "__init__.cpython-312.pyc"
    interpreter = build.runtime_interpreter()
    if interpreter is None:
        assert not pyc.exists()
    else:
        assert_runtime_bytecode(pyc, runtime_magic(interpreter), "/opt/python/pkg/__init__.py")


def test_layer_build_without_cpython_312_ships_no_bytecode_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no CPython 3.12 interpreter on this machine
    monkeypatch.setattr(build, "runtime_interpreter", lambda: None)
    monkeypatch.setattr(
        build, "pip_arguments", lambda _r, target: [sys.executable, "-c", FAKE_PIP, str(target)]
    )
    # When the layer is built
    site = build.build_layer("base", tmp_path / "out", cache_dir=tmp_path / "cache")
    # Then the build succeeds without bytecode, and says so and how to fix it
    assert (site / "pkg" / "__init__.py").read_text() == "VALUE = 1\n"
    assert not list(site.rglob("*.pyc"))
    warning = capsys.readouterr().err
    assert "bytecode not compiled" in warning
    assert "install CPython 3.12" in warning
    assert build.compile_bytecode(site, build.LAYER_RUNTIME_DIR) is False


@pytest.mark.slow
def test_built_layers_ship_unchecked_hash_bytecode_for_python_312() -> None:
    interpreter = build.runtime_interpreter()
    for layer in build.LAYER_NAMES:
        site = build.cached_layer(layer) / "python"
        compiled = list(site.rglob("*.pyc"))
        if not build.compiles_bytecode(layer):  # no CPython 3.12 here: none at all
            assert not compiled, layer
            continue
        assert all(pyc.name.endswith(".cpython-312.pyc") for pyc in compiled), layer
        missing = [
            str(module.relative_to(site))
            for module in site.rglob("*.py")
            if not (module.parent / "__pycache__" / f"{module.stem}.cpython-312.pyc").exists()
        ]
        assert not missing, f"{layer}: {len(missing)} modules without bytecode: {missing[:5]}"
    if interpreter is None:
        return
    magic = runtime_magic(interpreter)
    for layer, module in (
        ("scoring", "onnxruntime/__init__.py"),
        ("scoring", "numpy/__init__.py"),
        ("base", "aws_lambda_powertools/logging/logger.py"),
    ):
        source = Path(module)
        pyc = build.cached_layer(layer) / "python" / source.parent / "__pycache__"
        pyc = pyc / f"{source.stem}.cpython-312.pyc"
        assert_runtime_bytecode(pyc, magic, f"/opt/python/{module}")


@pytest.mark.slow
def test_every_function_fits_lambdas_unzipped_limit(synth: Synth, tmp_path: Path) -> None:
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
    # And the function code really bundled (sources and their bytecode; the synth skips it)
    FunctionCodeBundler().try_bundle(str(tmp_path))
    code_size = build.directory_size(tmp_path)
    # When each function's code plus layers is measured
    for logical_id, function in synth.resources("AWS::Lambda::Function").items():
        assert function["Properties"]["Code"]["S3Key"] in source_of  # the one code asset
        layers = [layer_of[layer["Ref"]] for layer in function["Properties"]["Layers"]]
        total = code_size + sum(layer_sizes[name] for name in layers)
        margin = (LAMBDA_UNZIPPED_LIMIT - total) / 1e6
        print(
            f"{logical_id}: code {code_size / 1e6:.2f} MB + {layers} = {total / 1e6:.1f} MB"
            f" ({margin:.1f} MB to spare)"
        )
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
