"""Build a Lambda layer from layers/<name>/requirements.txt without Docker.

pip downloads manylinux wheels for the Lambda runtime (CPython 3.12, x86_64) into
``<out>/python``; the result is trimmed (tests, caches, host scripts, packages the runtime
already ships) but shared objects are never stripped (that breaks scipy's OpenBLAS).
Builds are cached under ``<repo>/.cache/layers/<name>-<recipe hash>`` so re-runs are quick.

Usage: ``python layers/build.py NAME OUTDIR`` (OUTDIR receives ``python/``).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LAYERS_DIR = Path(__file__).resolve().parent
REPO_ROOT = LAYERS_DIR.parent
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "layers"
LAYER_NAMES = ("base", "scoring", "training")
PYTHON_VERSION = "3.12"
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux2014_x86_64")
# The Lambda Python runtime ships boto3 and its dependency closure: never duplicate them.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "urllib3", "python_dateutil", "six")
TRIMMED_DIR_NAMES = frozenset({"tests", "__pycache__"})
# Data-only directories nothing imports at run time (onnx's backend conformance data: ~60 MB).
TRIMMED_PATHS = ("onnx/backend/test/data",)
COMPLETE_MARKER = ".complete"
# Bump when the build or trimming rules change, so cached builds are not reused.
RECIPE_REVISION = "1"


def requirements_file(name: str) -> Path:
    """The pinned requirements of one layer; unknown names are refused."""
    if name not in LAYER_NAMES:
        raise ValueError(f"layer name: expected one of {', '.join(LAYER_NAMES)}, got {name!r}")
    return LAYERS_DIR / name / "requirements.txt"


def pip_arguments(requirements: Path, target: Path) -> list[str]:
    """The pip command line that installs requirements for the Lambda runtime into target."""
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-compile",
        *platforms,
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]


def recipe_hash(name: str) -> str:
    """A digest of everything that decides a layer's content: requirements and recipe."""
    digest = hashlib.sha256()
    digest.update(requirements_file(name).read_bytes())
    recipe = (
        RECIPE_REVISION,
        PYTHON_VERSION,
        *PLATFORMS,
        *RUNTIME_PROVIDED,
        *sorted(TRIMMED_DIR_NAMES),
        *TRIMMED_PATHS,
    )
    digest.update("\0".join(recipe).encode())
    return digest.hexdigest()[:16]


def directory_size(path: Path) -> int:
    """Total bytes of the regular files under path (the unzipped size Lambda counts)."""
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def _remove_distribution(site: Path, distribution: str) -> None:
    """Delete an installed distribution using the file list in its dist-info RECORD."""
    for dist_info in site.glob(f"{distribution}-*.dist-info"):
        record = dist_info / "RECORD"
        lines = record.read_text(encoding="utf-8").splitlines() if record.exists() else []
        for line in lines:
            relative = line.split(",", 1)[0]
            file = (site / relative).resolve()
            if file.is_relative_to(site) and file.is_file():
                file.unlink()
        shutil.rmtree(dist_info, ignore_errors=True)
    for directory in sorted(site.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def trim(site: Path) -> None:
    """Drop what Lambda never needs: test suites, bytecode caches, scripts, runtime packages."""
    for distribution in RUNTIME_PROVIDED:
        _remove_distribution(site, distribution)
    doomed = [p for p in site.rglob("*") if p.is_dir() and p.name in TRIMMED_DIR_NAMES]
    for directory in doomed:
        shutil.rmtree(directory, ignore_errors=True)
    for relative in (*TRIMMED_PATHS, "bin"):
        shutil.rmtree(site / relative, ignore_errors=True)


def _build_into(name: str, layer_root: Path) -> None:
    site = layer_root / "python"
    site.mkdir(parents=True, exist_ok=True)
    subprocess.run(pip_arguments(requirements_file(name), site), check=True)  # noqa: S603
    trim(site)


def cached_layer(name: str, cache_dir: Path = DEFAULT_CACHE_DIR) -> Path:
    """The layer root (holding ``python/``) of a cached build, building it first if needed."""
    cached = Path(cache_dir) / f"{name}-{recipe_hash(name)}"
    if (cached / COMPLETE_MARKER).exists():
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=cached.parent, prefix=f".{name}-"))
    try:
        _build_into(name, scratch)
        (scratch / COMPLETE_MARKER).touch()
        shutil.rmtree(cached, ignore_errors=True)
        scratch.rename(cached)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return cached


def build_layer(name: str, out_dir: Path, cache_dir: Path | None = DEFAULT_CACHE_DIR) -> Path:
    """Build (or reuse a cached build of) layer ``name``; out_dir receives ``python/``.

    Returns the path of the ``python`` directory inside out_dir.
    """
    out_dir = Path(out_dir)
    if cache_dir is None:
        _build_into(name, out_dir)
    else:
        source = cached_layer(name, cache_dir) / "python"
        shutil.copytree(source, out_dir / "python", symlinks=True, dirs_exist_ok=True)
    return out_dir / "python"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a Lambda layer without Docker.")
    parser.add_argument("name", choices=LAYER_NAMES)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--no-cache", action="store_true", help="build afresh, cache nothing")
    args = parser.parse_args(argv)
    site = build_layer(args.name, args.out_dir, None if args.no_cache else DEFAULT_CACHE_DIR)
    sys.stdout.write(f"{args.name}: {directory_size(site):,} bytes in {site}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
