"""`mlops models`: the model registry (list, create, show, history, promote, rollback and
clear-candidate)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from mlops.cli import CommandError, output
from mlops.cli.context import add_target_arguments, cli_actor, open_registry_for
from mlops.registry import (
    AliasName,
    AliasState,
    AuditAction,
    AuditEvent,
    ModelRecord,
    ModelVersion,
    RegistryStore,
)

Command = Callable[[argparse.Namespace], int]


def register(subparsers: Any) -> None:
    models = subparsers.add_parser("models", help="the model registry")
    commands = models.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="every model with its production and candidate versions")

    create = commands.add_parser("create", help="register a new model name")
    create.add_argument("name")
    create.add_argument("--description", default="")

    show = commands.add_parser("show", help="a model and its versions, or one version")
    show.add_argument("name")
    which = show.add_mutually_exclusive_group()
    which.add_argument("--version", type=int, help="show this version")
    which.add_argument("--alias", choices=[alias.value for alias in AliasName])
    show.add_argument("--limit", type=int, default=20, help="versions to list (default 20)")

    history = commands.add_parser("history", help="the model's audit trail, oldest first")
    history.add_argument("name")
    history.add_argument("--limit", type=int, default=100, help="latest events (default 100)")

    promote = commands.add_parser("promote", help="move production (or the candidate) to a version")
    promote.add_argument("name")
    promote.add_argument("version", type=int)
    promote.add_argument("--reason", default="")
    mode = promote.add_mutually_exclusive_group()
    mode.add_argument(
        "--canary", type=float, metavar="WEIGHT", help="make it the candidate with this share"
    )
    mode.add_argument("--shadow", action="store_true", help="make it a shadow candidate")

    rollback = commands.add_parser("rollback", help="move production back to its previous version")
    rollback.add_argument("name")
    rollback.add_argument("--reason", default="")

    clear = commands.add_parser("clear-candidate", help="remove the candidate (abort a canary)")
    clear.add_argument("name")
    clear.add_argument("--reason", default="")

    handlers: dict[str, Command] = {
        "list": _list,
        "create": _create,
        "show": _show,
        "history": _history,
        "promote": _promote,
        "rollback": _rollback,
        "clear-candidate": _clear_candidate,
    }
    for name, parser in commands.choices.items():
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        add_target_arguments(parser)
        parser.set_defaults(func=handlers[name])


# ---- commands -----------------------------------------------------------------------------
def _list(args: argparse.Namespace) -> int:
    store = open_registry_for(args)
    models = store.list_models()
    aliases = {record.name: _aliases(store, record.name) for record in models}
    if args.json:
        output.write_json(
            [
                {
                    **record.model_dump(mode="json", exclude={"spec"}),
                    "aliases": _aliases_json(aliases[record.name]),
                }
                for record in models
            ]
        )
        return 0
    rows = [
        [
            record.name,
            str(record.latest_version),
            _alias_text(aliases[record.name], AliasName.PRODUCTION),
            _alias_text(aliases[record.name], AliasName.CANDIDATE),
            output.when(record.updated_at),
            output.short(record.description, 40),
        ]
        for record in models
    ]
    headers = ["MODEL", "LATEST", "PRODUCTION", "CANDIDATE", "UPDATED", "DESCRIPTION"]
    output.write(output.table(headers, rows))
    return 0


def _create(args: argparse.Namespace) -> int:
    record = open_registry_for(args).create_model(
        args.name, actor=cli_actor(), description=args.description
    )
    if args.json:
        output.write_json(record.model_dump(mode="json"))
    else:
        output.write(f"created model {record.name}")
    return 0


def _show(args: argparse.Namespace) -> int:
    store = open_registry_for(args)
    if args.version is not None or args.alias is not None:
        alias = AliasName(args.alias) if args.alias else None
        version = store.resolve(args.name, version=args.version, alias=alias)
        if args.json:
            output.write_json(version.model_dump(mode="json"))
        else:
            output.write(_version_text(version))
        return 0
    record = store.get_model(args.name)
    aliases = _aliases(store, args.name)
    versions: list[ModelVersion] = store.list_versions(args.name, limit=args.limit).items
    if args.json:
        output.write_json(
            {
                **record.model_dump(mode="json"),
                "aliases": _aliases_json(aliases),
                "versions": [version.model_dump(mode="json") for version in versions],
            }
        )
        return 0
    output.write(_model_text(record, aliases))
    output.write("")
    output.write(_versions_table(versions))
    return 0


def _history(args: argparse.Namespace) -> int:
    events = open_registry_for(args).history(args.name, limit=args.limit)
    if args.json:
        output.write_json([event.model_dump(mode="json") for event in events])
        return 0
    rows = [
        [
            output.when(event.at),
            event.action.value,
            event.alias.value if event.alias else "-",
            _version_number(event.from_version),
            _version_number(event.to_version),
            event.actor,
            output.short(event.reason, 50),
        ]
        for event in events
    ]
    headers = ["TIME", "ACTION", "ALIAS", "FROM", "TO", "ACTOR", "REASON"]
    output.write(output.table(headers, rows))
    return 0


def _promote(args: argparse.Namespace) -> int:
    if args.canary is not None and not 0.0 <= args.canary <= 1.0:
        msg = f"--canary must be a share of traffic between 0 and 1, got {args.canary}"
        raise CommandError(msg)
    event = open_registry_for(args).promote(
        args.name,
        args.version,
        actor=cli_actor(),
        reason=args.reason,
        canary_weight=args.canary,
        shadow=args.shadow,
    )
    _report(args, event)
    return 0


def _rollback(args: argparse.Namespace) -> int:
    event = open_registry_for(args).rollback(args.name, actor=cli_actor(), reason=args.reason)
    _report(args, event)
    return 0


def _clear_candidate(args: argparse.Namespace) -> int:
    event = open_registry_for(args).clear_candidate(
        args.name, actor=cli_actor(), reason=args.reason
    )
    _report(args, event)
    return 0


# ---- formatting ---------------------------------------------------------------------------
def _report(args: argparse.Namespace, event: AuditEvent) -> None:
    if args.json:
        output.write_json(event.model_dump(mode="json"))
        return
    alias = event.alias.value if event.alias else "alias"
    if event.action is AuditAction.ALIAS_CLEARED:
        text = f"{event.model}: {alias} cleared"
    else:
        verb = "rolled back to" if event.action is AuditAction.ROLLBACK else "is now"
        text = f"{event.model}: {alias} {verb} {_version_number(event.to_version)}"
    if event.from_version is not None:
        text += f" (was {_version_number(event.from_version)})"
    if event.detail.get("shadow"):
        text += ", shadow: scores every request, answers none"
    elif "weight" in event.detail:
        text += f", canary: {event.detail['weight']:.0%} of traffic"
    if event.detail.get("candidate_cleared"):
        text += ", candidate cleared"
    output.write(text)


def _aliases(store: RegistryStore, name: str) -> list[AliasState]:
    found = (store.get_alias(name, alias) for alias in AliasName)
    return [state for state in found if state is not None]


def _aliases_json(aliases: list[AliasState]) -> dict[str, Any]:
    return {state.alias.value: state.model_dump(mode="json") for state in aliases}


def _alias_text(aliases: list[AliasState], wanted: AliasName) -> str:
    state = next((a for a in aliases if a.alias is wanted), None)
    if state is None:
        return "-"
    if wanted is AliasName.PRODUCTION:
        return f"v{state.version}"
    return (
        f"v{state.version} (shadow)" if state.shadow else f"v{state.version} ({state.weight:.0%})"
    )


def _version_number(version: int | None) -> str:
    return "-" if version is None else f"v{version}"


def _model_text(record: ModelRecord, aliases: list[AliasState]) -> str:
    production = next((a for a in aliases if a.alias is AliasName.PRODUCTION), None)
    previous = production.previous_versions if production else []
    return output.fields(
        [
            ("model", record.name),
            ("description", record.description or "-"),
            ("spec", "set" if record.spec is not None else "none (mlops specs put FILE)"),
            ("versions", str(record.latest_version)),
            ("production", _alias_text(aliases, AliasName.PRODUCTION)),
            ("rollback to", _version_number(previous[-1] if previous else None)),
            ("candidate", _alias_text(aliases, AliasName.CANDIDATE)),
            ("created", output.when(record.created_at)),
            ("updated", output.when(record.updated_at)),
        ]
    )


def _versions_table(versions: list[ModelVersion]) -> str:
    rows = [
        [
            f"v{version.version}",
            version.status.value,
            version.estimator,
            output.short(_metrics_text(version.metrics), 40),
            version.trigger.kind.value,
            output.when(version.created_at),
            output.short(version.status_reason or "", 40),
        ]
        for version in versions
    ]
    headers = ["VERSION", "STATUS", "ESTIMATOR", "METRICS", "TRIGGER", "CREATED", "REASON"]
    return output.table(headers, rows)


def _metrics_text(metrics: dict[str, float]) -> str:
    return ", ".join(f"{name}={output.number(value)}" for name, value in sorted(metrics.items()))


def _version_text(version: ModelVersion) -> str:
    status = version.status.value
    if version.status_reason:
        status += f" ({version.status_reason})"
    pairs = [
        ("model", version.model),
        ("version", str(version.version)),
        ("status", status),
        ("task", version.task),
        ("estimator", version.estimator),
        ("params", json.dumps(version.params, sort_keys=True)),
        ("metrics", _metrics_text(version.metrics) or "-"),
        ("classes", ", ".join(version.classes) if version.classes else "-"),
        ("artifact", _artifact_text(version)),
        ("data", _data_text(version)),
        ("code", version.code_version),
        ("trigger", f"{version.trigger.kind.value} ({version.trigger.source_id})"),
        ("run", version.run_id or "-"),
        ("created", output.when(version.created_at)),
        ("updated", output.when(version.updated_at)),
    ]
    pairs += [(f"report {name}", uri) for name, uri in sorted(version.reports.items())]
    features = [
        [
            feature.name,
            feature.type.value,
            ", ".join(feature.categories or []) or _range_text(feature.minimum, feature.maximum),
        ]
        for feature in version.feature_schema
    ]
    return output.fields(pairs) + "\n\n" + output.table(["FEATURE", "TYPE", "VALUES"], features)


def _artifact_text(version: ModelVersion) -> str:
    artifact = version.artifact
    if artifact is None:
        return "-"
    return f"{artifact.uri} ({artifact.size} bytes, sha256 {artifact.sha256[:12]}...)"


def _data_text(version: ModelVersion) -> str:
    data = version.data
    return "-" if data is None else f"{data.uri} ({data.rows} rows)"


def _range_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is None and maximum is None:
        return "-"
    low = "-" if minimum is None else output.number(minimum)
    high = "-" if maximum is None else output.number(maximum)
    return f"{low} .. {high}"
