"""The model spec a run trains with: the copy its execution input carries, else the registry's."""

from __future__ import annotations

from typing import Any

from mlops.domain.spec import ModelSpec, SpecError, parse_spec
from mlops.pipeline.errors import PipelineInputError
from mlops.pipeline.payloads import PipelineInput
from mlops.registry.errors import ModelNotFoundError
from mlops.registry.store import RegistryStore


def load_model_spec(store: RegistryStore, model: str) -> ModelSpec:
    """The model's validated spec; PipelineInputError for an unknown model or a bad spec."""
    try:
        record = store.get_model(model)
    except ModelNotFoundError as error:
        raise PipelineInputError(str(error)) from None
    if record.spec is None:
        msg = f"model {model!r} has no spec: set one with `mlops specs put FILE`"
        raise PipelineInputError(msg)
    return _parsed(record.spec, f"stored for {model!r}")


def run_spec(payload: PipelineInput, store: RegistryStore) -> ModelSpec:
    """The spec the run started with (so every step uses the same one); an execution started
    without one (e.g. by hand, from the console) reads the registry's."""
    if payload.spec is None:
        return load_model_spec(store, payload.model)
    return _parsed(payload.spec, f"in run {payload.run_id!r}")


def _parsed(document: dict[str, Any], source: str) -> ModelSpec:
    """The validated spec; PipelineInputError naming every bad field."""
    try:
        return parse_spec(document, source)
    except SpecError as error:
        raise PipelineInputError(str(error)) from None
