"""Build a Lambda layer from layers/<name>/requirements.txt without Docker.

pip downloads manylinux wheels for the Lambda runtime (CPython 3.12, x86_64) into
``<out>/python``; the result is trimmed (tests, caches, host scripts, packages the runtime
already ships) but shared objects are never stripped (that breaks scipy's OpenBLAS).
Then it is compiled to CPython 3.12 bytecode: ``/opt`` is read-only on Lambda, so without
shipped ``.pyc`` files every cold start compiles every imported module from source. Compiling
needs a CPython 3.12 interpreter (bytecode is version-specific); without one the layer is
built without bytecode and a warning says so.
Builds are cached under ``<repo>/.cache/layers/<name>-<recipe hash>`` so re-runs are quick.

Usage: ``python layers/build.py NAME OUTDIR`` (OUTDIR receives ``python/``).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
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
# Where Lambda mounts layer contents: compiled code objects carry these paths (tracebacks).
LAYER_RUNTIME_DIR = "/opt/python"
# Layers shipped with CPython 3.12 bytecode. The .pyc files add about 5 MB to base, 10 MB to
# scoring and 33 MB to training; the train function (base + training + code) then measures
# about 246 MB of Lambda's 262.1 MB (250 MiB) unzipped limit. If a dependency bump eats that
# margin, drop "training" first: training runs for minutes, while the score API (base +
# scoring) is the path where cold starts matter.
BYTECODE_LAYERS = ("base", "scoring", "training")
# Hash-based .pyc that the runtime never checks against the source: CDK zips normalise file
# timestamps, so timestamp-checked .pyc would be stale and ignored; these hold no timestamp.
INVALIDATION_MODE = "unchecked-hash"
# Bump when the build or trimming rules change, so cached builds are not reused.
RECIPE_REVISION = "2"


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


def _probe(candidate: str) -> bool:
    """Whether running ``candidate`` really gives CPython PYTHON_VERSION (shims may fail)."""
    try:
        result = subprocess.run(  # noqa: S603
            [candidate, "-c", "import sys; print(sys.version_info[:2], sys.implementation.name)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    major, minor = PYTHON_VERSION.split(".")
    return result.returncode == 0 and result.stdout.strip() == f"({major}, {minor}) cpython"


def _pyenv_candidates() -> list[str]:
    """python3.12 of installed pyenv versions (3.12.*), newest patch release first."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = (root / "versions").glob(f"{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}")

    def version_key(path: Path) -> tuple[int, ...]:
        parts = path.parents[1].name.split(".")
        return tuple(int(part) if part.isdigit() else -1 for part in parts)

    return [str(path) for path in sorted(found, key=version_key, reverse=True)]


@functools.cache
def runtime_interpreter() -> str | None:
    """A CPython interpreter of the Lambda runtime's major.minor, or None (result cached).

    Tried in order: this interpreter, ``python3.12`` on PATH, installed pyenv versions
    (``$PYENV_ROOT`` or ``~/.pyenv``). Each candidate is run to check it: a pyenv shim on
    PATH exists even when the selected pyenv version cannot run it.
    """
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running == PYTHON_VERSION and sys.implementation.name == "cpython" and sys.executable:
        return sys.executable
    on_path = shutil.which(f"python{PYTHON_VERSION}")
    candidates = [*([on_path] if on_path else []), *_pyenv_candidates()]
    return next((candidate for candidate in candidates if _probe(candidate)), None)


def compileall_arguments(interpreter: str, root: str, runtime_dir: str) -> list[str]:
    """The command compiling every module under root, its code objects named as if root were
    runtime_dir (the local build and the Docker fallbacks all run this one)."""
    return [interpreter, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode",
            INVALIDATION_MODE, "-s", root, "-p", runtime_dir, root]  # fmt: skip


def compile_bytecode(root: Path, runtime_dir: str) -> bool:
    """Compile every module under root to CPython 3.12 bytecode, as if root were runtime_dir.

    The code objects name ``<runtime_dir>/...`` (what tracebacks show on Lambda). Returns
    False, with a warning on stderr, when no CPython 3.12 interpreter is available: the build
    goes on without bytecode rather than failing.
    """
    interpreter = runtime_interpreter()
    if interpreter is None:
        sys.stderr.write(
            f"warning: bytecode not compiled for {root}: no CPython {PYTHON_VERSION} "
            f"interpreter found, so Lambda cold starts will compile every module from source; "
            f"install CPython {PYTHON_VERSION} (python{PYTHON_VERSION} on PATH, or pyenv) "
            f"and rebuild\n"
        )
        return False
    root = Path(root).resolve()
    # A fixed hash seed, and none of the calling environment's PYTHON* variables.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    environment["PYTHONHASHSEED"] = "0"
    result = subprocess.run(  # noqa: S603
        compileall_arguments(interpreter, str(root), runtime_dir),
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    if result.returncode != 0:
        # Files that do not compile (never imported on 3.12) just ship without bytecode.
        sys.stderr.write(
            f"warning: some files under {root} were not compiled:\n{result.stdout}{result.stderr}"
        )
    return True


def compiles_bytecode(name: str) -> bool:
    """Whether layer ``name`` is built with bytecode (listed, and CPython 3.12 is found)."""
    return name in BYTECODE_LAYERS and runtime_interpreter() is not None


def recipe_hash(name: str) -> str:
    """A digest of everything that decides a layer's content: requirements and recipe.

    It includes whether the layer gets bytecode, so a build made without a CPython 3.12
    interpreter is not reused once one is available (and vice versa).
    """
    digest = hashlib.sha256()
    digest.update(requirements_file(name).read_bytes())
    recipe = (
        RECIPE_REVISION,
        PYTHON_VERSION,
        *PLATFORMS,
        *RUNTIME_PROVIDED,
        *sorted(TRIMMED_DIR_NAMES),
        *TRIMMED_PATHS,
        f"bytecode={compiles_bytecode(name)}:{INVALIDATION_MODE}:{LAYER_RUNTIME_DIR}",
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
    trim(site)  # before compiling: drops the __pycache__ directories wheels ship
    if name in BYTECODE_LAYERS:
        compile_bytecode(site, LAYER_RUNTIME_DIR)


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
    bytecode = "with" if compiles_bytecode(args.name) else "without"
    sys.stdout.write(
        f"{args.name}: {directory_size(site):,} bytes in {site} "
        f"({bytecode} CPython {PYTHON_VERSION} bytecode)\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
