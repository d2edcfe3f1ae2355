"""CloudFormation intrinsic functions, resolved against the local cloud's physical resources."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

NO_VALUE = object()
"""What `{"Ref": "AWS::NoValue"}` resolves to: the enclosing key or list item is dropped."""

_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class IntrinsicError(Exception):
    """A template expression the local cloud cannot resolve."""


RefLookup = Callable[[str], Any]
AttLookup = Callable[[str, str], Any]


class Resolver:
    """Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::If, ... in values.

    `ref(logical_id)` and `get_att(logical_id, attribute)` answer for resources; parameters,
    pseudo parameters, mappings and conditions come from the template itself.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        pseudo: Mapping[str, str],
        ref: RefLookup,
        get_att: AttLookup,
    ) -> None:
        self._template = template
        self._pseudo = dict(pseudo)
        self._ref = ref
        self._get_att = get_att
        self._conditions: dict[str, bool] = {}

    # ---- public ---------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        resolved = self._resolve(value)
        return None if resolved is NO_VALUE else resolved

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definitions = self._template.get("Conditions", {})
            if name not in definitions:
                msg = f"unknown condition {name!r}"
                raise IntrinsicError(msg)
            self._conditions[name] = bool(self._resolve(definitions[name]))
        return self._conditions[name]

    # ---- recursion ------------------------------------------------------------------------
    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = self._functions().get(key)
            if handler is not None:
                return handler(argument)
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _functions(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": self._fn_ref,
            "Fn::GetAtt": self._fn_get_att,
            "Fn::Join": self._fn_join,
            "Fn::Sub": self._fn_sub,
            "Fn::Select": self._fn_select,
            "Fn::Split": self._fn_split,
            "Fn::If": self._fn_if,
            "Fn::Equals": self._fn_equals,
            "Fn::And": lambda args: all(self._resolve(arg) for arg in args),
            "Fn::Or": lambda args: any(self._resolve(arg) for arg in args),
            "Fn::Not": lambda args: not self._resolve(args[0]),
            "Condition": self.condition,
            "Fn::FindInMap": self._fn_find_in_map,
            "Fn::Base64": lambda arg: base64.b64encode(str(self._resolve(arg)).encode()).decode(),
            "Fn::ToJsonString": lambda arg: json.dumps(self._resolve(arg), separators=(",", ":")),
            "Fn::GetAZs": lambda _arg: [f"{self._pseudo['AWS::Region']}{z}" for z in "abc"],
            "Fn::ImportValue": self._unsupported("Fn::ImportValue"),
        }

    @staticmethod
    def _unsupported(name: str) -> Callable[[Any], Any]:
        def fail(argument: Any) -> Any:
            msg = f"{name} is not supported by the local cloud (argument {argument!r})"
            raise IntrinsicError(msg)

        return fail

    # ---- functions ------------------------------------------------------------------------
    def _fn_ref(self, name: Any) -> Any:
        name = self._resolve(name)
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        parameters = self._template.get("Parameters", {})
        if name in parameters:
            return parameters[name].get("Default", "")
        if name in self._template.get("Resources", {}):
            return self._ref(name)
        msg = f"Ref to unknown name {name!r}"
        raise IntrinsicError(msg)

    def _fn_get_att(self, argument: Any) -> Any:
        argument = self._resolve(argument)
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        logical_id, attribute = argument
        if logical_id not in self._template.get("Resources", {}):
            msg = f"Fn::GetAtt on unknown resource {logical_id!r}"
            raise IntrinsicError(msg)
        return self._get_att(logical_id, attribute)

    def _fn_join(self, argument: Any) -> str:
        delimiter, items = argument
        parts = self._resolve(items)
        return str(self._resolve(delimiter)).join(_as_text(part) for part in parts)

    def _fn_sub(self, argument: Any) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        else:
            text, variables = argument[0], self._resolve(argument[1])

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _as_text(variables[name])
            if "." in name and name.split(".", 1)[0] in self._template.get("Resources", {}):
                return _as_text(self._fn_get_att(name))
            return _as_text(self._fn_ref(name))

        return _SUB_VARIABLE.sub(substitute, text)

    def _fn_select(self, argument: Any) -> Any:
        index, items = self._resolve(argument)
        return items[int(index)]

    def _fn_split(self, argument: Any) -> list[str]:
        delimiter, text = self._resolve(argument)
        return str(text).split(delimiter)

    def _fn_if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self._resolve(when_true if self.condition(name) else when_false)

    def _fn_equals(self, argument: Any) -> bool:
        left, right = self._resolve(argument)
        return bool(left == right)

    def _fn_find_in_map(self, argument: Any) -> Any:
        name, top, second = self._resolve(argument)
        try:
            return self._template["Mappings"][name][top][second]
        except KeyError as error:
            msg = f"Fn::FindInMap: no {name}/{top}/{second} in Mappings"
            raise IntrinsicError(msg) from error


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
