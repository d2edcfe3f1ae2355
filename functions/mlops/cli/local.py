"""`mlops local up`: the local cloud as a server that other shells and processes can use."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from mlops.cli import CommandError

DEFAULT_PORT = 5000


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("local", help="run the platform locally on moto")
    commands = group.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "up",
        help="serve the local cloud on 127.0.0.1 and print the variables that point at it",
        description=(
            "Deploy the stack into moto and serve it in the foreground until Ctrl-C. "
            "Paste the printed export lines into another shell to point the CLI, the AWS CLI "
            "or boto3 at it."
        ),
    )
    up.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    up.add_argument("--template", type=Path, help="a synthesized template (default: infra/)")
    up.add_argument("--stack", default="Mlops", help="the stack name (default: Mlops)")
    up.set_defaults(func=run_up)


def export_lines(environment: dict[str, str]) -> list[str]:
    return [f"export {name}={shlex.quote(value)}" for name, value in environment.items()]


def run_up(args: argparse.Namespace) -> int:
    # moto loads only when this command runs, not for every `mlops` invocation
    from mlops.local import LocalCloud, TemplateError, settings_environment
    from mlops.local.cloud import FAKE_CREDENTIALS

    if not 0 <= args.port <= 65_535:
        msg = f"--port must be between 0 and 65535, got {args.port}"
        raise CommandError(msg)
    template = _read_template(args.template) if args.template else None
    cloud = LocalCloud(template, stack=args.stack, server=True, port=args.port)
    try:
        cloud.start()
    except TemplateError as error:
        raise CommandError(str(error).splitlines()[0]) from error
    except OSError as error:
        msg = f"cannot serve on 127.0.0.1:{args.port}: {error.strerror or error}"
        raise CommandError(msg) from error
    try:
        environment = {
            "AWS_ENDPOINT_URL": str(cloud.endpoint_url),
            "AWS_DEFAULT_REGION": cloud.place.region,
            **FAKE_CREDENTIALS,
            **settings_environment(cloud.settings),
        }
        lines = [
            *export_lines(environment),
            f"# local cloud serving on {cloud.endpoint_url}; Ctrl-C stops it",
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        _wait_for_stop()
    finally:
        cloud.stop()
    return 0


def _read_template(path: Path) -> dict[str, Any]:
    try:
        template: dict[str, Any] = json.loads(path.read_text())
    except OSError as error:
        msg = f"--template: cannot read {path}: {error.strerror}"
        raise CommandError(msg) from error
    except ValueError as error:
        msg = f"--template: {path} is not JSON: {error}"
        raise CommandError(msg) from error
    if not isinstance(template.get("Resources"), dict):
        msg = f"--template: {path} has no Resources object"
        raise CommandError(msg)
    return template


def _wait_for_stop() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(timeout=1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    sys.stderr.write("# local cloud stopped\n")
