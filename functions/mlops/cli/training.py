"""`mlops specs`, `mlops train` and `mlops runs`: model specs, manual training, run history."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from mlops.aws import client
from mlops.cli import CommandError, output
from mlops.cli.context import add_target_arguments, cli_actor, open_registry_for, resolve_settings
from mlops.domain.spec import SpecError, load_spec
from mlops.pipeline.errors import PipelineInputError
from mlops.pipeline.events import TrainingRequest
from mlops.pipeline.run_ids import manual_run_id
from mlops.pipeline.trigger import start_training
from mlops.pipeline.wiring import trigger_deps
from mlops.registry.entities import Run, RunStatus, Trigger, TriggerKind
from mlops.registry.errors import RegistryError

POLL_SECONDS = 1.0
FINISHED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


def register(subparsers: Any) -> None:
    _register_specs(subparsers)
    _register_train(subparsers)
    _register_runs(subparsers)


def _register_specs(subparsers: Any) -> None:
    specs = subparsers.add_parser("specs", help="model specs (what to train and how to judge it)")
    commands = specs.add_subparsers(dest="command", required=True)
    put = commands.add_parser("put", help="validate a JSON or YAML spec and store it")
    put.add_argument("file", type=Path)
    show = commands.add_parser("show", help="print a model's spec")
    show.add_argument("name")
    for parser, func in ((put, _specs_put), (show, _specs_show)):
        add_target_arguments(parser)
        parser.set_defaults(func=func)


def _register_train(subparsers: Any) -> None:
    train = subparsers.add_parser("train", help="start a training run on a data file")
    train.add_argument("name", help="model name")
    train.add_argument("--data", required=True, help="s3://bucket/key of a CSV or JSON Lines file")
    train.add_argument("--wait", action="store_true", help="wait for the run and print it")
    train.add_argument("--timeout", type=float, default=900.0, help="seconds to wait (--wait)")
    train.add_argument(
        "--nonce", default=None, help="idempotency key: the same key and data start one run"
    )
    add_target_arguments(train)
    train.set_defaults(func=_train)


def _register_runs(subparsers: Any) -> None:
    runs = subparsers.add_parser("runs", help="training runs: status, steps, outcome")
    commands = runs.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="a model's runs, newest first")
    listing.add_argument("name")
    listing.add_argument("--limit", type=int, default=20)
    show = commands.add_parser("show", help="one run: status, each step's timing, the outcome")
    show.add_argument("run_id")
    for parser, func in ((listing, _runs_list), (show, _runs_show)):
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        add_target_arguments(parser)
        parser.set_defaults(func=func)


# ---- specs --------------------------------------------------------------------------------
def _specs_put(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        msg = f"cannot read {path}: {error.strerror}"
        raise CommandError(msg) from None
    try:
        spec = load_spec(text, path.name)
    except SpecError as error:
        raise CommandError(str(error)) from None
    store = open_registry_for(args)
    store.put_spec(spec.name, spec.model_dump(mode="json"), actor=cli_actor())
    output.write(f"stored the spec of {spec.name} ({spec.task}, {spec.estimator.kind})")
    return 0


def _specs_show(args: argparse.Namespace) -> int:
    try:
        record = open_registry_for(args).get_model(args.name)
    except RegistryError as error:
        raise CommandError(str(error)) from None
    if record.spec is None:
        msg = f"model {args.name!r} has no spec: set one with `mlops specs put FILE`"
        raise CommandError(msg)
    output.write(json.dumps(record.spec, indent=2, sort_keys=True))
    return 0


# ---- train --------------------------------------------------------------------------------
def _train(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    store = open_registry_for(args)
    try:
        deps = trigger_deps(settings, store)
    except PipelineInputError as error:
        raise CommandError(str(error)) from None
    deps = dataclasses.replace(deps, notify=lambda _subject, _body: None)  # errors print here
    nonce = args.nonce or uuid.uuid4().hex
    request = TrainingRequest(
        model=args.name,
        trigger=Trigger(kind=TriggerKind.MANUAL, source_id=cli_actor(), detail={"nonce": nonce}),
        run_id=manual_run_id(args.name, args.data, nonce),
        data_uri=args.data,
    )
    outcome = start_training(request, deps)
    if outcome.outcome == "rejected":
        raise CommandError(outcome.reason or "the run was rejected")
    output.write(f"run {outcome.run_id} {outcome.outcome} ({outcome.execution_arn})")
    if not args.wait:
        return 0
    _wait_for(outcome.execution_arn or "", args.timeout)
    run = store.get_run(request.run_id)
    _print_run(run)
    return 0 if run.status is RunStatus.SUCCEEDED else 1


def _wait_for(execution_arn: str, timeout: float) -> None:
    sfn = client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        if status in FINISHED:
            return
        time.sleep(POLL_SECONDS)
    msg = f"the run did not finish within {timeout:.0f} s (see `mlops runs show`)"
    raise CommandError(msg)


# ---- runs ---------------------------------------------------------------------------------
def _runs_list(args: argparse.Namespace) -> int:
    store = open_registry_for(args)
    try:
        store.get_model(args.name)
        runs = store.list_runs(args.name, limit=args.limit)
    except RegistryError as error:
        raise CommandError(str(error)) from None
    if args.json:
        output.write(json.dumps([run.model_dump(mode="json") for run in runs], indent=2))
        return 0
    rows = [
        [
            run.run_id,
            run.status.value,
            run.trigger.kind.value,
            "-" if run.version is None else str(run.version),
            output.when(run.started_at),
            _duration(run.started_at, run.finished_at),
            output.short(run.reason or ""),
        ]
        for run in runs
    ]
    output.write(
        output.table(["RUN", "STATUS", "TRIGGER", "VERSION", "STARTED", "TOOK", "REASON"], rows)
    )
    return 0


def _runs_show(args: argparse.Namespace) -> int:
    try:
        run = open_registry_for(args).get_run(args.run_id)
    except RegistryError as error:
        raise CommandError(str(error)) from None
    if args.json:
        output.write(json.dumps(run.model_dump(mode="json"), indent=2))
        return 0
    _print_run(run)
    return 0


def _print_run(run: Run) -> None:
    lines = [
        f"run:      {run.run_id}",
        f"model:    {run.model}",
        f"status:   {run.status.value}",
        f"trigger:  {run.trigger.kind.value} ({run.trigger.source_id})",
        f"data:     {run.data_uri}",
        f"started:  {output.when(run.started_at)}",
        f"took:     {_duration(run.started_at, run.finished_at)}",
    ]
    if run.version is not None:
        lines.append(f"version:  {run.version}")
    if run.reason:
        lines.append(f"reason:   {run.reason}")
    output.write("\n".join(lines))
    rows = [
        [
            step.name,
            step.outcome,
            output.when(step.started_at),
            _duration(step.started_at, step.finished_at),
            output.short(_step_detail(step.detail), 90),
        ]
        for step in sorted(run.steps, key=lambda step: step.started_at)
    ]
    output.write("\n" + output.table(["STEP", "OUTCOME", "STARTED", "TOOK", "DETAIL"], rows))


def _step_detail(detail: dict[str, Any]) -> str:
    if "error" in detail:
        return str(detail["error"])
    if detail.get("reason"):
        return str(detail["reason"])
    return ", ".join(
        f"{key}={value}" for key, value in detail.items() if not isinstance(value, dict | list)
    )


def _duration(start: datetime, end: datetime | None) -> str:
    if end is None:
        return "running"
    return f"{(end - start).total_seconds():.2f}s"
