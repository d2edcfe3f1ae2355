"""The functions' one code asset: functions/ minus what never ships, plus its bytecode."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shlex
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.constructs.layers import BUILD_IMAGE, load_builder

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
# The local cloud and the CLI never ship to AWS; build metadata and caches are noise.
CODE_EXCLUDED_PATHS = ("mlops/local", "mlops/cli")  # relative to functions/
CODE_EXCLUDED_NAMES = ("__pycache__", "*.pyc", "*.egg-info")  # any file or directory
# Where Lambda unpacks function code: the compiled code objects name files under it.
CODE_RUNTIME_DIR = "/var/task"
# Bump when the bundling below changes, so the code asset gets a new hash.
CODE_BUNDLING_REVISION = "1"


def _excluded(relative: str) -> bool:
    """Whether a path relative to functions/ (POSIX) stays out of the code asset."""
    if any(relative == path or relative.startswith(f"{path}/") for path in CODE_EXCLUDED_PATHS):
        return True
    parts = relative.split("/")
    return any(fnmatch.fnmatchcase(part, name) for part in parts for name in CODE_EXCLUDED_NAMES)


def code_files(source: Path = FUNCTIONS_DIR) -> list[str]:
    """The files of the code asset: POSIX paths relative to source, excludes applied, sorted."""
    files: list[str] = []
    for directory, subdirectories, names in os.walk(source):
        base = Path(directory).relative_to(source)
        subdirectories[:] = [d for d in subdirectories if not _excluded((base / d).as_posix())]
        files.extend(
            relative for name in names if not _excluded(relative := (base / name).as_posix())
        )
    return sorted(files)


def copy_code(source: Path, out_dir: Path) -> None:
    """Copy the code asset's files (see code_files) from source into out_dir."""
    for relative in code_files(source):
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target)


def code_asset_hash(source: Path, *, bytecode: bool, python_version: str) -> str:
    """The code asset's hash: its files' paths and contents plus the recipe, never times.

    ``bytecode`` says whether the bundle gets CPython bytecode, so a build made without a
    CPython 3.12 interpreter gets another hash than one made with it.
    """
    digest = hashlib.sha256()
    recipe = (CODE_BUNDLING_REVISION, python_version, CODE_RUNTIME_DIR, f"bytecode={bytecode}")
    digest.update("\0".join(recipe).encode())
    for relative in code_files(source):
        digest.update(f"\0{relative}\0".encode())
        digest.update(hashlib.sha256((source / relative).read_bytes()).digest())
    return f"code-{digest.hexdigest()}"


def docker_bundling_command(
    input_dir: str = "/asset-input", output_dir: str = "/asset-output", python: str = "python"
) -> list[str]:
    """The Docker fallback of FunctionCodeBundler, as a command: copy, exclude, compile."""
    output = shlex.quote(output_dir)
    compile_command = load_builder().compileall_arguments(python, output_dir, CODE_RUNTIME_DIR)
    excluded_paths = " ".join(shlex.quote(f"{output_dir}/{path}") for path in CODE_EXCLUDED_PATHS)
    excluded_names = " -o ".join(f"-name {shlex.quote(name)}" for name in CODE_EXCLUDED_NAMES)
    script = (
        f"cp -R {shlex.quote(input_dir)}/. {output}/"
        f" && rm -rf {excluded_paths}"
        f" && find {output} -mindepth 1 \\( {excluded_names} \\) -prune -exec rm -rf {{}} +"
        f" && PYTHONHASHSEED=0 {shlex.join(compile_command)}"
    )
    return ["bash", "-c", script]


@jsii.implements(ILocalBundling)
class FunctionCodeBundler:
    """CDK local bundling: functions/ (excludes applied) plus its CPython 3.12 bytecode.

    Lambda's /var/task is read-only, so modules without shipped bytecode are compiled from
    source on every cold start. Without a CPython 3.12 interpreter the code ships without
    bytecode (layers/build.py warns); bundling never fails for that.
    """

    def __init__(self, source: Path = FUNCTIONS_DIR, builder: ModuleType | None = None) -> None:
        self._source = source
        self._builder = builder if builder is not None else load_builder()

    def try_bundle(self, output_dir: str, _options: Any = None, **_more: Any) -> bool:
        out_dir = Path(output_dir)
        copy_code(self._source, out_dir)
        self._builder.compile_bytecode(out_dir, CODE_RUNTIME_DIR)
        return True


def function_code(source: Path = FUNCTIONS_DIR, builder: ModuleType | None = None) -> lambda_.Code:
    """The one code asset of every function, hashed from its sources (stable across hosts)."""
    builder = builder if builder is not None else load_builder()
    bytecode = builder.runtime_interpreter() is not None
    return lambda_.Code.from_asset(
        str(source),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=code_asset_hash(
            source, bytecode=bytecode, python_version=builder.PYTHON_VERSION
        ),
        bundling=BundlingOptions(
            image=DockerImage.from_registry(BUILD_IMAGE),
            command=docker_bundling_command(),
            local=FunctionCodeBundler(source, builder),
        ),
    )
