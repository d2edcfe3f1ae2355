"""`mlops serve`: the score handler behind a local HTTP server (API Gateway proxy events).

With `--local`, the local cloud starts in this process (also served on 127.0.0.1 for other
shells: the export lines it prints point the CLI at it). Otherwise the resources come from the
environment (e.g. after `mlops local up`) or from the deployed stack's outputs.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from mlops.cli import CommandError
from mlops.cli.context import add_target_arguments, resolve_settings
from mlops.settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve the scoring API on a local HTTP port", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind, 0 = any (8080)")
    parser.add_argument(
        "--local", action="store_true", help="start the local cloud (moto) in this process"
    )
    add_target_arguments(parser)
    parser.set_defaults(func=run)


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[Settings]:
    if not args.local:
        yield resolve_settings(args)
        return
    # moto loads only for --local
    from mlops.cli.local import export_lines
    from mlops.local import LocalCloud, TemplateError, settings_environment
    from mlops.local.cloud import FAKE_CREDENTIALS

    cloud = LocalCloud(stack=args.stack, server=True)
    try:
        cloud.start()
    except TemplateError as error:
        raise CommandError(str(error).splitlines()[0]) from error
    try:
        environment = {
            "AWS_ENDPOINT_URL": str(cloud.endpoint_url),
            "AWS_DEFAULT_REGION": cloud.place.region,
            **FAKE_CREDENTIALS,
            **settings_environment(cloud.settings),
        }
        lines = [f"# local cloud on {cloud.endpoint_url}; for other shells:"]
        sys.stderr.write("\n".join([*lines, *export_lines(environment)]) + "\n")
        yield cloud.settings
    finally:
        cloud.stop()


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65_535:
        msg = f"--port must be between 0 and 65535, got {args.port}"
        raise CommandError(msg)
    # onnxruntime loads only when this command runs
    from mlops.serving import api
    from mlops.serving.local_server import make_server

    with _target(args) as settings:
        api.use_service(api.build_service(settings))
        try:
            server = make_server(args.host, args.port)
        except OSError as error:
            msg = f"cannot listen on {args.host}:{args.port}: {error.strerror or error}"
            raise CommandError(msg) from error
        sys.stderr.write(f"serving the scoring API on {server.url} (Ctrl-C stops)\n")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            api.use_service(None)
    return 0
