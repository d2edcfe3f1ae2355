"""`mlops monitor NAME`: the latest drift summary and the model's alarm states."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mlops.aws import client
from mlops.cli import CommandError, output
from mlops.cli.context import add_target_arguments, resolve_settings
from mlops.monitoring.objects import read_object
from mlops.registry.entities import validate_model_name


def register(subparsers: Any) -> None:
    monitor = subparsers.add_parser(
        "monitor", help="a model's latest drift summary, live quality and alarm states"
    )
    monitor.add_argument("name", help="model name")
    monitor.add_argument("--json", action="store_true", help="machine-readable output")
    add_target_arguments(monitor)
    monitor.set_defaults(func=_monitor)


def _monitor(args: argparse.Namespace) -> int:
    name = validate_model_name(args.name)
    settings = resolve_settings(args)
    summary = _latest(settings.data_bucket, name)
    alarms = _alarms(name)
    if args.json:
        output.write_json({"model": name, "latest": summary, "alarms": alarms})
        return 0
    if summary is None:
        output.write(f"{name}: no monitor report yet (the monitor runs on its schedule)")
    else:
        _print_summary(summary)
    rows = [
        [alarm["name"], alarm["state"], alarm["updated"], output.short(alarm["reason"], 70)]
        for alarm in alarms
    ]
    output.write("\nalarms:\n" + output.table(["ALARM", "STATE", "SINCE", "REASON"], rows))
    return 0


def _latest(bucket: str, name: str) -> dict[str, Any] | None:
    body = read_object(client("s3"), bucket, f"monitoring/{name}/latest.json")
    if body is None:
        return None
    try:
        summary = json.loads(body)
    except ValueError:
        msg = f"monitoring/{name}/latest.json in {bucket} is not JSON"
        raise CommandError(msg) from None
    if not isinstance(summary, dict):
        msg = f"monitoring/{name}/latest.json in {bucket} is not a JSON object"
        raise CommandError(msg)
    return summary


def _alarms(name: str) -> list[dict[str, str]]:
    cloudwatch = client("cloudwatch")
    alarms: list[dict[str, str]] = []
    paginator = cloudwatch.get_paginator("describe_alarms")
    for page in paginator.paginate(AlarmNamePrefix=f"mlops/{name}/"):
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            alarms.append(
                {
                    "name": alarm["AlarmName"],
                    "state": alarm.get("StateValue", "-"),
                    "updated": output.when(alarm.get("StateUpdatedTimestamp")),
                    "reason": alarm.get("StateReason", ""),
                }
            )
    return sorted(alarms, key=lambda alarm: alarm["name"])


def _print_summary(summary: dict[str, Any]) -> None:
    window = summary.get("window") or {}
    pairs = [
        ("model", str(summary.get("model"))),
        ("monitored", str(summary.get("time"))),
        ("window", f"{window.get('start') or 'first run'} .. {window.get('end')}"),
        ("production", f"v{summary.get('production_version')}"),
        ("verdict", f"{summary.get('verdict')}: {summary.get('reason')}"),
        ("rows", str(summary.get("rows"))),
        ("max PSI", _number(summary.get("max_psi"))),
        ("drifted share", _number(summary.get("drifted_share"))),
    ]
    quality = summary.get("quality") or {}
    overall = quality.get("overall") or {}
    if quality:
        figures = ", ".join(
            f"{key} {_number(value)}" for key, value in overall.items() if key != "rows"
        )
        pairs.append(
            (
                "live quality",
                f"{overall.get('rows', 0)} rows matched of {quality.get('feedback')} feedback"
                + (f": {figures}" if figures else ""),
            )
        )
    report = summary.get("report") or {}
    pairs.extend((f"report ({kind})", str(uri)) for kind, uri in sorted(report.items()))
    output.write(output.fields(pairs))
    top = summary.get("top_features") or []
    if top:
        rows = [
            [f["name"], f["type"], _number(f["psi"]), _number(f.get("ks")), f["status"]]
            for f in top
        ]
        output.write("\n" + output.table(["FEATURE", "TYPE", "PSI", "KS", "STATUS"], rows))


def _number(value: Any) -> str:
    return "-" if value is None else output.number(float(value))
