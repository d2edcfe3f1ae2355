"""The `mlops` command. Each command group lives in its own module and registers itself here.

Every command runs against AWS (default credentials and region) or, with `--local`, against
the local cloud (moto in this process, or a local server given by AWS_ENDPOINT_URL).
Errors are one clear line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from botocore.exceptions import BotoCoreError, ClientError

from mlops.registry.errors import RegistryError

COMMAND_MODULES = ("models", "training", "batch", "monitoring", "serve", "local", "demo")
"""Modules under mlops.cli that each define `register(subparsers)`."""


class CommandError(Exception):
    """An expected failure: printed as one line, exit code 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlops", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="group", required=True)
    for name in COMMAND_MODULES:
        try:
            module = import_module(f"mlops.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"mlops.cli.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int | None] = args.func
    try:
        return command(args) or 0
    except (CommandError, RegistryError, ValueError, BotoCoreError) as error:
        message = " ".join(str(error).split())
    except ClientError as error:
        message = aws_error_message(error)
    except KeyboardInterrupt:
        return 130
    print(f"error: {message}", file=sys.stderr)
    return 1


def aws_error_message(error: ClientError) -> str:
    details = error.response.get("Error", {})
    if details.get("Code") == "ResourceNotFoundException":
        return "the registry table does not exist: check MLOPS_REGISTRY_TABLE or --stack"
    return f"{details.get('Code', 'AWS error')}: {details.get('Message', error)}"


if __name__ == "__main__":
    sys.exit(main())
