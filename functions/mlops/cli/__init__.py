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

COMMAND_MODULES = ("models", "training", "serve", "local", "demo")
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
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
