"""What a rule's target receives: the event, `Input`, `InputPath` or an `InputTransformer`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PATH_PART = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']+)'\]|\[\"([^\"]+)\"\]")


class TransformError(ValueError):
    """A target's input configuration EventBridge would reject."""


def json_path(document: Any, path: str) -> Any:
    """A value at a simple JSONPath (`$.detail.object.key`, `$.resources[0]`); None if absent."""
    path = path.strip()
    if not path.startswith("$"):
        msg = f"JSONPath must start with '$': {path!r}"
        raise TransformError(msg)
    value = document
    position = 1
    while position < len(path):
        match = _PATH_PART.match(path, position)
        if match is None:
            msg = f"unsupported JSONPath {path!r}"
            raise TransformError(msg)
        name, index = match.group(1) or match.group(3) or match.group(4), match.group(2)
        if index is not None:
            if not isinstance(value, list) or int(index) >= len(value):
                return None
            value = value[int(index)]
        elif isinstance(value, Mapping) and name in value:
            value = value[name]
        else:
            return None
        position = match.end()
    return value


def target_input(
    target: Mapping[str, Any], event: Mapping[str, Any], *, rule_name: str, rule_arn: str
) -> Any:
    """The payload EventBridge sends to `target` for `event` (a JSON value or a string)."""
    if "Input" in target:
        return _parse_json_or_text(target["Input"])
    if "InputPath" in target:
        return json_path(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer:
        return transform(
            transformer.get("InputPathsMap", {}),
            transformer["InputTemplate"],
            event,
            rule_name=rule_name,
            rule_arn=rule_arn,
        )
    return dict(event)


def transform(
    paths: Mapping[str, str],
    template: str,
    event: Mapping[str, Any],
    *,
    rule_name: str = "",
    rule_arn: str = "",
) -> Any:
    """Fill `<name>` placeholders the way EventBridge does.

    Inside a JSON string a string value goes in as its text; everywhere else a value goes in
    as JSON. A template that reads as JSON is delivered as JSON, any other as plain text.
    """
    values: dict[str, Any] = {name: json_path(event, path) for name, path in paths.items()}
    values["aws.events.rule-name"] = rule_name
    values["aws.events.rule-arn"] = rule_arn
    values["aws.events.event"] = dict(event)
    values["aws.events.event.json"] = dict(event)
    values["aws.events.event.ingestion-time"] = event.get("time")
    text = _fill(template, values)
    return _parse_json_or_text(text)


def _fill(template: str, values: Mapping[str, Any]) -> str:
    output: list[str] = []
    in_string = False
    position = 0
    while position < len(template):
        character = template[position]
        match = _PLACEHOLDER.match(template, position) if character == "<" else None
        if match is not None and match.group(1) in values:
            output.append(_render(values[match.group(1)], in_string=in_string))
            position = match.end()
            continue
        if character == "\\" and in_string:
            output.append(template[position : position + 2])
            position += 2
            continue
        if character == '"':
            in_string = not in_string
        output.append(character)
        position += 1
    return "".join(output)


def _render(value: Any, *, in_string: bool) -> str:
    if not in_string:
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)[1:-1]
    return json.dumps(json.dumps(value))[1:-1]


def _parse_json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
