"""A run reads its model's spec from the registry and names every field a bad one gets wrong."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlops.local.demo_data import make_spec
from mlops.pipeline.errors import PipelineInputError
from mlops.pipeline.specs import load_model_spec
from mlops.registry import InMemoryRegistryStore


def test_a_valid_stored_spec_is_loaded() -> None:
    store = InMemoryRegistryStore()
    store.put_spec("fraud", make_spec("fraud", "binary"), actor="test")

    assert load_model_spec(store, "fraud").task == "binary"


def test_a_bad_stored_spec_names_each_field_at_fault() -> None:
    store = InMemoryRegistryStore()
    spec = make_spec("fraud", "binary", split={"holdout_fraction": 0.9, "seed": -1})
    spec["estimator"] = {"kind": "deep_net", "params": {}}
    store.put_spec("fraud", spec, actor="test")

    with pytest.raises(PipelineInputError) as refused:
        load_model_spec(store, "fraud")
    message = str(refused.value)
    assert message.startswith("invalid model spec stored for 'fraud': ")
    assert "estimator.kind" in message
    assert "split.holdout_fraction" in message


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        (lambda store: None, "model 'fraud' not found"),
        (lambda store: store.create_model("fraud", actor="test"), "has no spec"),
    ],
)
def test_a_model_without_a_spec_cannot_train(
    setup: Callable[[InMemoryRegistryStore], object], problem: str
) -> None:
    store = InMemoryRegistryStore()
    setup(store)

    with pytest.raises(PipelineInputError, match=problem):
        load_model_spec(store, "fraud")
