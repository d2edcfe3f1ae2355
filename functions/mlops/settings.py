"""Settings: the only module that reads the environment. Validated once, at cold start.

A frozen dataclass filled from `MLOPS_<FIELD>` variables and checked by hand: a pydantic model
cost the score API's cold start ~40 ms for ten fields.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from dataclasses import replace as _replace
from functools import lru_cache
from typing import Any, TypeVar

ENV_PREFIX = "MLOPS_"
STACK_OUTPUT_FIELDS = {
    "RegistryTableName": "registry_table",
    "ArtifactBucketName": "artifact_bucket",
    "DataBucketName": "data_bucket",
    "NotificationTopicArn": "notification_topic_arn",
    "TrainingStateMachineArn": "training_state_machine_arn",
    "BatchStateMachineArn": "batch_state_machine_arn",
}
"""The stack's outputs (docs/architecture.md) -> the Settings fields they fill."""

_T = TypeVar("_T")
_Check = Callable[[object], object]
"""Turns a given value (a string from the environment, or already typed) into the field's value;
raises ValueError with the problem."""


class SettingsError(ValueError):
    """Every invalid setting at once, as `MLOPS_<FIELD>: <problem>`; `problems` has the pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{_variable(name)}: {problem}" for name, problem in problems))


def _variable(name: str) -> str:
    """The environment variable of a Settings field."""
    return ENV_PREFIX + name.upper()


def _text(min_length: int = 0, *, optional: bool = False) -> _Check:
    def check(value: object) -> object:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if len(value) < min_length:
            raise ValueError(f"must be at least {min_length} characters long")
        return value

    return check


def _number(parse: Callable[[object], float], low: float, high: float | None = None) -> _Check:
    def check(value: object) -> object:
        number = parse(value)
        if number < low:
            raise ValueError(f"must be at least {low}")
        if high is not None and number > high:
            raise ValueError(f"must be at most {high}")
        return number

    return check


def _int(value: object) -> int:
    """An int, or a string of one: optional sign and ASCII digits (no "1.0", "1_000", "1e3")."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in ("+", "-") else text
        if digits.isascii() and digits.isdigit():
            return int(text)
    raise ValueError("must be an integer")


def _float(value: object) -> float:
    """A finite int or float, or a string of one in ASCII decimal notation (no "1_0", "nan")."""
    if isinstance(value, str) and value.isascii() and "_" not in value:
        try:
            value = float(value)  # nan and inf(inity) parse, and are refused below
        except ValueError:
            value = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise ValueError("must be a finite number")


def _setting(default: _T, check: _Check) -> _T:
    result: _T = field(default=default, metadata={"check": check})
    return result


@dataclass(frozen=True, slots=True)
class Settings:
    """Every Lambda's configuration. CDK sets these variables; the local cloud does the same.

    Construction validates (and parses strings, as the environment gives them); an invalid
    value raises SettingsError. `fields_set` names the fields given explicitly.
    """

    registry_table: str = _setting("mlops-registry", _text(3))
    artifact_bucket: str = _setting("mlops-artifacts", _text(3))
    data_bucket: str = _setting("mlops-data", _text(3))
    notification_topic_arn: str | None = _setting(None, _text(optional=True))
    training_state_machine_arn: str | None = _setting(None, _text(optional=True))
    batch_state_machine_arn: str | None = _setting(None, _text(optional=True))
    code_version: str = _setting("unknown", _text())
    # serving
    alias_refresh_seconds: float = _setting(30.0, _number(_float, 0))
    max_records_per_request: int = _setting(100, _number(_int, 1, 10_000))
    max_body_bytes: int = _setting(1_048_576, _number(_int, 1_024, 6_291_456))
    capture_sample_rate: float = _setting(0.0, _number(_float, 0, 1))
    fields_set: frozenset[str] = field(default=frozenset(), kw_only=True, compare=False, repr=False)

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        for setting in fields(self):
            if "check" in setting.metadata:
                try:
                    value = setting.metadata["check"](getattr(self, setting.name))
                except ValueError as error:
                    problems.append((setting.name, str(error)))
                else:
                    object.__setattr__(self, setting.name, value)
        if problems:
            raise SettingsError(problems)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the `MLOPS_*` variables of known fields (others are ignored)."""
        source = os.environ if environ is None else environ
        return cls.from_values(
            {name: source[_variable(name)] for name in _NAMES if _variable(name) in source}
        )

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from the known fields of `values` (others are ignored); the rest default."""
        given = {name: values[name] for name in _NAMES if name in values}
        return cls(**given, fields_set=frozenset(given))

    def replace(self, **values: Any) -> Settings:
        """A validated copy with these fields changed (they join `fields_set`)."""
        return _replace(self, **values, fields_set=self.fields_set.union(values))

    def as_dict(self) -> dict[str, Any]:
        """Every field's value by name (without `fields_set`)."""
        return {name: getattr(self, name) for name in _NAMES}


_CHECKS = {setting.name: setting.metadata["check"] for setting in fields(Settings)
           if "check" in setting.metadata}  # fmt: skip
_NAMES = tuple(_CHECKS)


def check_setting(name: str, value: object) -> object:
    """`value` as Settings would hold it in field `name`; ValueError naming the problem (the
    CDK app checks cdk.json's serving values with the same rules)."""
    return _CHECKS[name](value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment()


def reset_settings() -> None:
    """Forget the cached settings (the local cloud switches environments between functions)."""
    get_settings.cache_clear()
