"""CDK entry point: ``python infra/app.py`` (cdk.json runs it)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

INFRA_DIR = Path(__file__).resolve().parent
REPO_ROOT = INFRA_DIR.parent
# Run as a script, Python puts infra/ first on sys.path, where infra/constructs would shadow
# the `constructs` library: import `infra` from the repository root instead.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != INFRA_DIR]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Environment, Validations  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.config import CONTEXT_KEY, load_config  # noqa: E402
from infra.stack import MlopsStack  # noqa: E402

STACK_NAME = "Mlops"
CDK_JSON = REPO_ROOT / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """The context of cdk.json (feature flags, ``mlops``): the CDK CLI passes it, plain
    ``python infra/app.py`` does not, so the app reads it as defaults itself."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    return context


def build_app(
    context: dict[str, Any] | None = None, *, nag: bool = True, outdir: str | None = None
) -> tuple[App, MlopsStack]:
    """Create the app and the stack; cdk-nag fails synthesis on unacknowledged findings.

    ``context`` overrides cdk.json's keys (CDK_CONTEXT_JSON, set by the CLI, overrides both).
    """
    app = App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    config = load_config(app.node.try_get_context(CONTEXT_KEY))
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    env = Environment(account=account, region=region) if account or region else None
    stack = MlopsStack(app, STACK_NAME, config=config, env=env)
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
