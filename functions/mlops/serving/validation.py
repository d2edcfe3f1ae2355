"""All request validation for the scoring API, in one place.

Every check collects every fault before raising, so one 4xx answer names each field at fault:
`{"message": ..., "errors": [{"record": i, "field": name, "problem": ...}]}`. Records are
checked against the served version's feature schema with precompiled per-feature rules (no
per-record model construction): that is the hot path.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from mlops.registry.enums import AliasName, FeatureType
from mlops.serving.errors import (
    MalformedRequestError,
    PayloadTooLargeError,
    RequestValidationError,
)

FLOAT32_MAX = 3.4028234663852886e38
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
PREDICT_KEYS = frozenset({"records", "record", "version", "alias"})
ALIASES = {alias.value: alias for alias in AliasName}
MISSING_CATEGORY = ""

Problem = dict[str, Any]
_ABSENT = object()


def _problem(field: str | None, problem: str, record: int | None = None) -> Problem:
    fault: Problem = {"field": field, "problem": problem}
    if record is not None:
        fault = {"record": record, **fault}
    return fault


# ---- body -----------------------------------------------------------------------------------
def parse_json_body(body: str | None, *, base64_encoded: bool, max_bytes: int) -> Any:
    """The decoded JSON document; 413 above max_bytes, 400 for anything that is not JSON."""
    if body is None or body == "":
        raise MalformedRequestError("the request body is empty; send a JSON object")
    raw: str | bytes = body
    if base64_encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise MalformedRequestError("the request body is not valid base64") from error
    if isinstance(raw, bytes) or raw.isascii():  # one byte per character: no need to encode
        size = len(raw)
    else:
        size = len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        msg = f"the request body has {size} bytes, more than the limit of {max_bytes}"
        raise PayloadTooLargeError(msg, [_problem("body", "too large")])
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError
        msg = f"the request body is not valid JSON: {error}"
        raise MalformedRequestError(msg) from error


def validate_request_id(value: str) -> str:
    if not REQUEST_ID_PATTERN.fullmatch(value):
        problem = "must be 1-128 letters, digits, '.', '_', ':' or '-', starting alphanumeric"
        raise RequestValidationError("invalid request id", [_problem("X-Request-Id", problem)])
    return value


# ---- predict envelope -----------------------------------------------------------------------
class PredictRequest(NamedTuple):  # built per request: half the cost of a frozen dataclass
    records: list[Any]
    version: int | None = None
    alias: AliasName | None = None


def parse_predict_request(document: Any, *, max_records: int) -> PredictRequest:
    """The envelope: `records` (a list) or `record` (one object), optional version or alias."""
    if not isinstance(document, dict):
        msg = "the request body must be a JSON object with 'records' or 'record'"
        raise MalformedRequestError(msg)
    errors = [_problem(key, "unknown field") for key in document if key not in PREDICT_KEYS]
    records: list[Any] = []
    if ("records" in document) == ("record" in document):
        errors.append(_problem("records", "give exactly one of 'records' or 'record'"))
    elif "record" in document:
        records = [document["record"]]
    elif not isinstance(document["records"], list):
        errors.append(_problem("records", "must be a list of JSON objects"))
    else:
        records = document["records"]
        if not records:
            errors.append(_problem("records", "must hold at least one record"))
        elif len(records) > max_records:
            problem = f"too many records: {len(records)}, the limit is {max_records}"
            errors.append(_problem("records", problem))
    version = document.get("version")
    if version is not None and (type(version) is not int or version < 1):
        errors.append(_problem("version", "must be a positive integer"))
    alias = document.get("alias")
    if alias is not None and (not isinstance(alias, str) or alias not in ALIASES):
        errors.append(_problem("alias", f"must be one of {sorted(ALIASES)}"))
    if version is not None and alias is not None:
        errors.append(_problem("alias", "give a version or an alias, not both"))
    if errors:
        raise RequestValidationError("the request is invalid", errors)
    return PredictRequest(records, version, None if alias is None else ALIASES[alias])


# ---- records against the feature schema -----------------------------------------------------
class Feature(Protocol):
    """One declared input: the registry's FeatureSchema, or serving's plain copy of it."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> FeatureType: ...
    @property
    def categories(self) -> list[str] | None: ...


class FeatureRule(NamedTuple):
    """How one feature's values are checked (batch scoring applies the same rules)."""

    name: str
    numeric: bool
    categories: frozenset[str] | None
    reject_unknown: bool
    accepted: frozenset[str] | None
    """Strings accepted without a closer look (None: any string)."""


def _rule(feature: Feature, reject_unknown: bool) -> FeatureRule:
    categories = frozenset(feature.categories) if feature.categories is not None else None
    accepted = None
    if reject_unknown and categories is not None:
        accepted = categories | {MISSING_CATEGORY}
    return FeatureRule(
        feature.name, feature.type is FeatureType.NUMERIC, categories, reject_unknown, accepted
    )


def _reject_unknown_features(spec: Mapping[str, Any] | None) -> frozenset[str]:
    """Features whose spec says `unknown_category: reject` (absent spec: none)."""
    if not spec:
        return frozenset()
    features = spec.get("features") or []
    return frozenset(
        str(feature.get("name"))
        for feature in features
        if isinstance(feature, Mapping) and feature.get("unknown_category") == "reject"
    )


class RecordValidator:
    """Checks records against one version's feature schema; returns model-ready records.

    Numbers must be JSON numbers (not booleans, not numeric strings), finite and within float32
    range; `null` is a missing value (numeric: imputed by the artifact; categorical: the empty
    category). Categories must be strings; unseen ones pass through (they encode to zeros)
    unless the spec says `reject`.
    """

    def __init__(
        self, feature_schema: Sequence[Feature], spec: Mapping[str, Any] | None = None
    ) -> None:
        rejecting = _reject_unknown_features(spec)
        self._rules = tuple(_rule(f, f.name in rejecting) for f in feature_schema)
        self._names = frozenset(rule.name for rule in self._rules)
        self._numbers = tuple(rule.name for rule in self._rules if rule.numeric)
        self._strings = tuple(
            (rule.name, rule.accepted) for rule in self._rules if not rule.numeric
        )

    def validate(self, records: list[Any]) -> list[dict[str, Any]]:
        """Model-ready records, or RequestValidationError naming every fault.

        A record that needs no substitution is passed on as is (the hot path); one with
        nulls is copied with the missing-value stand-ins.
        """
        clean: list[dict[str, Any]] = []
        errors: list[Problem] = []
        for index, record in enumerate(records):
            if type(record) is dict and record.keys() == self._names and self._is_ready(record):
                clean.append(record)  # the hot path: nothing to report, nothing to substitute
                continue
            if type(record) is not dict:
                errors.append(_problem(None, "must be a JSON object of feature values", index))
                continue
            if record.keys() != self._names:
                errors.extend(self._key_problems(index, record))
            row = record
            for rule in self._rules:
                value = record.get(rule.name, _ABSENT)
                if rule.numeric:
                    kind = type(value)
                    if (kind is float or kind is int) and -FLOAT32_MAX <= value <= FLOAT32_MAX:
                        continue
                elif type(value) is str and (rule.accepted is None or value in rule.accepted):
                    continue
                if value is _ABSENT:
                    continue
                if value is None:
                    row = dict(row) if row is record else row
                    row[rule.name] = math.nan if rule.numeric else MISSING_CATEGORY
                    continue
                problem = self._check(rule, value)
                if problem is not None:
                    errors.append(_problem(rule.name, problem, index))
            clean.append(row)
        if errors:
            fields = sorted({str(fault["field"]) for fault in errors if fault["field"] is not None})
            named = f": fields at fault: {', '.join(fields)}" if fields else ""
            raise RequestValidationError(f"invalid records{named}", errors)
        return clean

    @property
    def rules(self) -> tuple[FeatureRule, ...]:
        """The per-feature rules, in schema order."""
        return self._rules

    def _is_ready(self, record: dict[str, Any]) -> bool:
        """Whether a record holding exactly the schema's features is model-ready as is: every
        number an int or float within float32 range (not NaN), every category an accepted
        string. Anything else takes validate's per-feature checks."""
        for name in self._numbers:
            value = record[name]
            kind = type(value)
            if not ((kind is float or kind is int) and -FLOAT32_MAX <= value <= FLOAT32_MAX):
                return False
        for name, accepted in self._strings:
            value = record[name]
            if type(value) is not str or (accepted is not None and value not in accepted):
                return False
        return True

    def _key_problems(self, index: int, record: dict[str, Any]) -> list[Problem]:
        missing = [
            _problem(rule.name, "missing", index) for rule in self._rules if rule.name not in record
        ]
        extra = [
            _problem(str(key), "unknown feature", index) for key in record if key not in self._names
        ]
        return missing + extra

    @staticmethod
    def _check(rule: FeatureRule, value: Any) -> str | None:
        return _number_problem(value) if rule.numeric else _category_problem(rule, value)


def _number_problem(value: Any) -> str | None:
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            return "must be a finite number"
    elif kind is not int:
        return f"must be a number, not {_json_type(value)}"
    if abs(value) > FLOAT32_MAX:
        return "is out of the float32 range"
    return None


def _category_problem(rule: FeatureRule, value: Any) -> str | None:
    if type(value) is not str:
        return f"must be a string, not {_json_type(value)}"
    if (
        rule.reject_unknown
        and rule.categories is not None
        and value != MISSING_CATEGORY
        and value not in rule.categories
    ):
        return f"unknown category {value[:64]!r}"
    return None


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", str: "a string", list: "an array", dict: "an object"}
    return names.get(type(value), type(value).__name__)


# ---- feedback -------------------------------------------------------------------------------
def parse_feedback(
    document: Any, *, max_items: int, classes: list[str] | None
) -> list[dict[str, Any]]:
    """`{"items": [{"request_id", ["record",] "label" | "value"}]}`; labels must be known
    classes; `record` (0-based) names one record of a request of several."""
    if not isinstance(document, dict):
        raise MalformedRequestError("the request body must be a JSON object with 'items'")
    errors = [_problem(key, "unknown field") for key in document if key != "items"]
    items = document.get("items")
    if not isinstance(items, list) or not items:
        errors.append(_problem("items", "must be a non-empty list"))
        raise RequestValidationError("the feedback is invalid", errors)
    if len(items) > max_items:
        errors.append(_problem("items", f"too many items: {len(items)}, the limit is {max_items}"))
        raise RequestValidationError("the feedback is invalid", errors)
    clean: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        item_errors = _feedback_item_problems(index, item, classes)
        errors.extend(item_errors)
        if not item_errors:
            clean.append(dict(item))
    if errors:
        raise RequestValidationError("the feedback is invalid", errors)
    return clean


def _feedback_item_problems(index: int, item: Any, classes: list[str] | None) -> list[Problem]:
    if not isinstance(item, dict):
        return [_problem(None, "must be a JSON object", index)]
    allowed = {"request_id", "record", "label", "value"}
    problems = [_problem(str(key), "unknown field", index) for key in item if key not in allowed]
    request_id = item.get("request_id")
    if not isinstance(request_id, str) or not REQUEST_ID_PATTERN.fullmatch(request_id):
        problems.append(_problem("request_id", "must be a request id string", index))
    if "record" in item:
        record = item["record"]
        if type(record) is not int or record < 0:
            problems.append(_problem("record", "must be a non-negative integer", index))
    if ("label" in item) == ("value" in item):
        problems.append(_problem("label", "give exactly one of 'label' or 'value'", index))
    elif "label" in item:
        label = item["label"]
        if not isinstance(label, str):
            problems.append(_problem("label", "must be a string", index))
        elif classes is not None and label not in classes:
            problems.append(_problem("label", f"must be one of {classes}", index))
    else:
        value = item["value"]
        finite = type(value) is int or (type(value) is float and math.isfinite(value))
        if not finite:
            problems.append(_problem("value", "must be a finite number", index))
    return problems
