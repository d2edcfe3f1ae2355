"""EventBridge event patterns: the content filters EventBridge documents, matched in Python.

Supported: exact values (strings, numbers compared numerically, booleans, null), `prefix`,
`suffix` (both also with `equals-ignore-case`), `equals-ignore-case`, `wildcard`,
`anything-but` (values, lists, prefix, suffix, wildcard), `exists`, `numeric`, `cidr`,
nested objects, `$or`, and array-valued event fields (a match on any element).
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

_MISSING = object()

_NUMERIC_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class PatternError(ValueError):
    """The pattern is not one EventBridge would accept."""


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """True when `event` matches the EventBridge `pattern`."""
    return _match_object(pattern, event)


def validate(pattern: Mapping[str, Any]) -> None:
    """Raise PatternError for a pattern EventBridge would refuse (checked at deploy time)."""
    if not isinstance(pattern, Mapping):
        msg = f"an event pattern is an object, got {pattern!r}"
        raise PatternError(msg)
    for key, expected in pattern.items():
        if key == "$or":
            for branch in expected:
                validate(branch)
        elif isinstance(expected, Mapping):
            validate(expected)
        elif isinstance(expected, list) and expected:
            for matcher in expected:
                for probe in ("text", 1.5):
                    try:
                        _match_value(matcher, probe)
                    except (KeyError, TypeError, ValueError) as error:
                        if isinstance(error, PatternError):
                            raise
                        msg = f"pattern field {key!r}: invalid content filter {matcher!r}"
                        raise PatternError(msg) from error
        else:
            msg = f"pattern field {key!r} must be an object or a non-empty array"
            raise PatternError(msg)


def _match_object(pattern: Mapping[str, Any], value: Any) -> bool:
    for key, expected in pattern.items():
        if key == "$or":
            if not any(_match_object(branch, value) for branch in expected):
                return False
            continue
        field = value.get(key, _MISSING) if isinstance(value, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            # an absent (or non-object) field matches only patterns that ask for absence
            if not _match_object(expected, field if isinstance(field, Mapping) else {}):
                return False
        elif isinstance(expected, list):
            if not _match_field(expected, field):
                return False
        else:
            msg = f"pattern field {key!r} must be an object or an array"
            raise PatternError(msg)
    return True


def _match_field(matchers: list[Any], field: Any) -> bool:
    if not matchers:
        msg = "empty arrays are not allowed in event patterns"
        raise PatternError(msg)
    if field is _MISSING:
        return any(_is_exists(matcher, wanted=False) for matcher in matchers)
    values = field if isinstance(field, list) else [field]
    return any(_match_value(matcher, value) for matcher in matchers for value in values)


def _is_exists(matcher: Any, *, wanted: bool) -> bool:
    return isinstance(matcher, Mapping) and matcher.get("exists", not wanted) is wanted


def _match_value(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return _equal(matcher, value)
    if len(matcher) != 1:
        msg = f"a content filter has exactly one key, got {sorted(matcher)}"
        raise PatternError(msg)
    ((name, argument),) = matcher.items()
    test = _FILTERS.get(name)
    if test is None:
        msg = f"unknown content filter {name!r}"
        raise PatternError(msg)
    return test(argument, value)


def _equal(expected: Any, value: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    if isinstance(expected, int | float) and isinstance(value, int | float):
        return float(expected) == float(value)
    return bool(expected == value)


def _prefix(argument: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(argument, Mapping):
        return value.lower().startswith(str(argument["equals-ignore-case"]).lower())
    return value.startswith(argument)


def _suffix(argument: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(argument, Mapping):
        return value.lower().endswith(str(argument["equals-ignore-case"]).lower())
    return value.endswith(argument)


def _equals_ignore_case(argument: Any, value: Any) -> bool:
    return isinstance(value, str) and value.lower() == str(argument).lower()


def _wildcard(argument: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = re.split(r"(?<!\\)\*", str(argument))
    regex = ".*".join(re.escape(part.replace("\\*", "*")) for part in parts)
    return re.fullmatch(regex, value) is not None


def _anything_but(argument: Any, value: Any) -> bool:
    if isinstance(argument, Mapping):
        return not _match_value(argument, value)
    excluded = argument if isinstance(argument, list) else [argument]
    return not any(_equal(item, value) for item in excluded)


def _exists(argument: Any, _value: Any) -> bool:
    return bool(argument)  # called only for present fields


def _numeric(argument: Any, value: Any) -> bool:
    if not isinstance(argument, list) or not argument or len(argument) % 2:
        msg = f"numeric filter needs operator/value pairs, got {argument!r}"
        raise PatternError(msg)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    for index in range(0, len(argument), 2):
        comparison = _NUMERIC_OPERATORS.get(argument[index])
        if comparison is None:
            msg = f"unknown numeric operator {argument[index]!r}"
            raise PatternError(msg)
        if not comparison(float(value), float(argument[index + 1])):
            return False
    return True


def _cidr(argument: Any, value: Any) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(argument, strict=False)
    except ValueError:
        return False


_FILTERS: dict[str, Callable[[Any, Any], bool]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "anything-but": _anything_but,
    "exists": _exists,
    "numeric": _numeric,
    "cidr": _cidr,
}
