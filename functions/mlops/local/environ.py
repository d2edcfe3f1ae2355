"""A per-thread view of os.environ, so in-process Lambdas never mutate the shared environment.

Handlers run on Step Functions' worker threads and on the caller's thread at the same time as
other code reads the environment (botocore creating clients, mlops.settings). Setting and
deleting real variables around each call would race with those readers (a variable removed
between listing the keys and reading one raises KeyError). Instead, `os.environ` is replaced by
a view that, on a thread running a handler, overlays the function's variables and hides the
process' own; every other thread sees the real environment, untouched.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock


@dataclass
class Layer:
    """One thread's view: variables set for it and process variables hidden from it."""

    overrides: dict[str, str] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)


class LayeredEnviron(os._Environ):  # type: ignore[type-arg]
    """os.environ whose reads and writes go to the current thread's Layer, if it has one."""

    def __init__(self, original: Any) -> None:
        super().__init__(
            original._data,
            original.encodekey,
            original.decodekey,
            original.encodevalue,
            original.decodevalue,
        )
        self._shared: dict[Any, Any] = original._data
        self._local = threading.local()

    # ---- layers ----------------------------------------------------------------------------
    def _layer(self) -> Layer | None:
        stack: list[Layer] = getattr(self._local, "stack", [])
        return stack[-1] if stack else None

    @contextmanager
    def layer(self, variables: Mapping[str, str], hide: set[str]) -> Iterator[None]:
        """Within the block, this thread sees the process' variables minus `hide`, plus these."""
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        self._local.stack.append(Layer(dict(variables), set(hide) - set(variables)))
        try:
            yield
        finally:
            self._local.stack.pop()

    def base_keys(self) -> list[str]:
        return [self.decodekey(key) for key in list(self._shared)]

    # ---- the mapping -----------------------------------------------------------------------
    def __getitem__(self, key: str) -> str:
        layer = self._layer()
        if layer is not None:
            if key in layer.overrides:
                return layer.overrides[key]
            if key in layer.hidden:
                raise KeyError(key)
        value: str = super().__getitem__(key)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        layer = self._layer()
        if layer is None:
            super().__setitem__(key, value)
            return
        layer.overrides[key] = str(value)
        layer.hidden.discard(key)

    def __delitem__(self, key: str) -> None:
        layer = self._layer()
        if layer is None:
            super().__delitem__(key)
            return
        if key not in self:
            raise KeyError(key)
        layer.overrides.pop(key, None)
        layer.hidden.add(key)

    def __iter__(self) -> Iterator[str]:
        layer = self._layer()
        keys = self.base_keys()
        if layer is None:
            yield from keys
            return
        yield from (key for key in keys if key not in layer.hidden and key not in layer.overrides)
        yield from list(layer.overrides)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return {key: value for key in self if (value := self.get(key)) is not None}


@contextmanager
def layered_environ() -> Iterator[LayeredEnviron]:
    """Install a LayeredEnviron as os.environ (re-entrant: an installed one is reused)."""
    if isinstance(os.environ, LayeredEnviron):
        yield os.environ
        return
    layered = LayeredEnviron(os.environ)
    with mock.patch.object(os, "environ", layered):
        yield layered
