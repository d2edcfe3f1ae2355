"""Where a CLI command runs: the settings from the environment, or from a deployed stack.

If the environment configures the registry (MLOPS_REGISTRY_TABLE, as the local cloud's
`mlops local up` prints), the command uses the environment. Otherwise it reads the outputs of
the CloudFormation stack named by `--stack` (default "Mlops") with the default credentials.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mlops import aws
from mlops.cli import CommandError
from mlops.registry import RegistryStore, open_registry
from mlops.settings import STACK_OUTPUT_FIELDS, Settings, SettingsError, get_settings

DEFAULT_STACK = "Mlops"
REQUIRED_OUTPUTS = ("RegistryTableName", "ArtifactBucketName", "DataBucketName")


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack",
        default=DEFAULT_STACK,
        help="CloudFormation stack to read resource names from, unless MLOPS_REGISTRY_TABLE "
        f"is set (default: {DEFAULT_STACK})",
    )


def resolve_settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment if it names the registry, else from the stack outputs."""
    try:
        configured = get_settings()
    except SettingsError as error:
        raise CommandError(f"invalid settings: {error}") from None
    if "registry_table" in configured.fields_set:
        return configured
    stack = getattr(args, "stack", DEFAULT_STACK)
    outputs = _stack_outputs(stack)
    missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
    if missing:
        msg = f"stack {stack!r} has no output {', '.join(missing)}: is it an mlops stack?"
        raise CommandError(msg)
    fields = {
        field: outputs[name] for name, field in STACK_OUTPUT_FIELDS.items() if name in outputs
    }
    try:
        return configured.replace(**fields)
    except SettingsError as error:
        raise CommandError(f"stack {stack!r} has invalid outputs: {error}") from None


def open_registry_for(args: argparse.Namespace) -> RegistryStore:
    return open_registry(resolve_settings(args))


def _stack_outputs(stack: str) -> dict[str, str]:
    try:
        response: dict[str, Any] = aws.client("cloudformation").describe_stacks(StackName=stack)
    except ClientError as error:
        message = str(error.response.get("Error", {}).get("Message", error))
        if "does not exist" in message:
            msg = (
                f"stack {stack!r} not found: deploy it (cdk deploy), pass --stack NAME, "
                "or set MLOPS_REGISTRY_TABLE (see `mlops local up`)"
            )
            raise CommandError(msg) from None
        msg = f"cannot read stack {stack!r}: {message}"
        raise CommandError(msg) from None
    except BotoCoreError as error:
        msg = f"cannot read stack {stack!r}: {error}"
        raise CommandError(msg) from None
    [description] = response["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs", [])}


def cli_actor() -> str:
    """Who the audit trail names for changes made from this shell."""
    return f"cli:{getpass.getuser()}"
