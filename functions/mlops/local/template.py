"""Synthesized CloudFormation templates, cached on disk by a hash of the CDK app's sources."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
"""The repository root (functions/mlops/local/template.py -> three levels up)."""

SKIP_BUNDLING_CONTEXT: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
SYNTH_TIMEOUT_SECONDS = 600
KEEP_CACHED_SYNTHS = 8


class TemplateError(Exception):
    """The CDK app could not be synthesized or its template is not there."""


def source_files(root: Path = REPO_ROOT) -> list[Path]:
    """The files whose content decides the real stack's template."""
    files = [path for path in (root / "infra").rglob("*.py") if "__pycache__" not in path.parts]
    files += list((root / "layers").rglob("*.txt"))
    cdk_json = root / "cdk.json"
    if cdk_json.exists():
        files.append(cdk_json)
    return sorted(files)


def content_hash(files: Iterable[Path], extra: Mapping[str, Any] | None = None) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(
            str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path).encode()
        )
        digest.update(path.read_bytes())
    if extra:
        digest.update(json.dumps(extra, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def synthesize(
    app: Path,
    stack: str,
    *,
    sources: Iterable[Path],
    context: Mapping[str, Any] | None = None,
    cache_root: Path | None = None,
    cwd: Path | None = None,
) -> dict[str, Any]:
    """Run `python <app>` with CDK_OUTDIR in a cache dir; return `<stack>.template.json`.

    The output is reused while the hash of `sources` (and `context`) is unchanged. Bundling is
    skipped: the local cloud runs handlers in-process and needs no asset.
    """
    app = app.resolve()
    if not app.exists():
        msg = f"CDK app {app} does not exist"
        raise TemplateError(msg)
    merged_context: dict[str, Any] = {**SKIP_BUNDLING_CONTEXT, **(context or {})}
    cache_root = cache_root or REPO_ROOT / ".cache" / "synth"
    # the commit is part of the key: the template carries it as the functions' code version
    key = {"context": merged_context, "commit": _git_head(cwd or app.parent)}
    outdir = cache_root / content_hash([app, *sources], key)
    template_path = outdir / f"{stack}.template.json"
    if not template_path.exists():
        _synthesize_into(app, outdir, merged_context, cwd or app.parent)
        _prune(cache_root, keep=KEEP_CACHED_SYNTHS)
    if not template_path.exists():
        found = sorted(path.name for path in outdir.glob("*.template.json"))
        msg = f"stack {stack!r} not in the synthesized app (found: {', '.join(found) or 'none'})"
        raise TemplateError(msg)
    template: dict[str, Any] = json.loads(template_path.read_text())
    return template


def _synthesize_into(app: Path, outdir: Path, context: Mapping[str, Any], cwd: Path) -> None:
    """Synthesize into a private directory, then move it into place (concurrent runs are safe)."""
    staging = outdir.with_name(f"{outdir.name}.{os.getpid()}.{threading.get_ident()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _run_app(app, staging, context, cwd)
        # if another process got there first, its output is as good as ours
        with contextlib.suppress(OSError):
            staging.rename(outdir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _prune(cache_root: Path, keep: int) -> None:
    """Drop all but the `keep` most recent synthesized outputs."""
    outputs = [path for path in cache_root.iterdir() if path.is_dir() and "." not in path.name]
    outputs.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in outputs[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


def _run_app(app: Path, outdir: Path, context: Mapping[str, Any], cwd: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(cwd), env.get("PYTHONPATH")]))
    existing = json.loads(env.get("CDK_CONTEXT_JSON") or "{}")
    env["CDK_CONTEXT_JSON"] = json.dumps({**existing, **context})
    env["CDK_OUTDIR"] = str(outdir)
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    try:
        result = subprocess.run(
            [sys.executable, str(app)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=SYNTH_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        msg = f"could not synthesize {app}: {error}"
        raise TemplateError(msg) from error
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        msg = f"synthesizing {app} failed (exit {result.returncode}):\n" + "\n".join(tail)
        raise TemplateError(msg)


def load_template(
    stack: str = "Mlops", *, root: Path = REPO_ROOT, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The real stack's template: `infra/app.py` synthesized (cached), bundling skipped.

    `overrides` change cdk.json's `mlops` context as a `-c mlops=...` would, key by key: an
    object merges into the object it replaces (e.g. `{"serving": {"capture_sample_rate": 1}}`),
    anything else (e.g. `models`) replaces the value.
    """
    app = root / "infra" / "app.py"
    if not app.exists():
        msg = "infra/app.py does not exist yet: there is no stack to deploy locally"
        raise TemplateError(msg)
    context = None
    if overrides:
        cdk_json = json.loads((root / "cdk.json").read_text())
        mlops = dict(cdk_json.get("context", {}).get("mlops", {}))
        for key, value in overrides.items():
            current = mlops.get(key)
            if isinstance(value, dict) and isinstance(current, dict):
                value = {**current, **value}  # noqa: PLW2901 - the merged object replaces it
            mlops[key] = value
        context = {"mlops": mlops}
    return synthesize(
        app,
        stack,
        sources=source_files(root),
        context=context,
        cache_root=root / ".cache" / "synth",
        cwd=root,
    )


def _git_head(directory: Path) -> str:
    """The checkout's commit ("" outside git), so each commit gets its own synthesized copy."""
    git = shutil.which("git")
    if git is None:
        return ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            [git, "rev-parse", "HEAD"],
            check=False,
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode == 0:
            return done.stdout.strip()
    return ""
