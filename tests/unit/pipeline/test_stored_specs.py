"""A run uses the spec it started with (else the registry's) and names every bad field."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlops.local.demo_data import make_spec
from mlops.pipeline.errors import PipelineInputError
from mlops.pipeline.payloads import PipelineInput
from mlops.pipeline.specs import load_model_spec, run_spec
from mlops.registry import InMemoryRegistryStore, Trigger, TriggerKind


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


def _payload(spec: dict[str, object] | None) -> PipelineInput:
    return PipelineInput(
        run_id="fraud-1",
        model="fraud",
        data_uri="s3://data/training/fraud/a.csv",
        trigger=Trigger(kind=TriggerKind.MANUAL, source_id="test"),
        spec=spec,
    )


def test_a_run_keeps_the_spec_it_started_with_when_the_stored_one_changes() -> None:
    store = InMemoryRegistryStore()
    started_with = make_spec("fraud", "binary")
    store.put_spec("fraud", started_with, actor="test")
    payload = _payload(started_with)
    store.put_spec("fraud", make_spec("fraud", "multiclass"), actor="test")  # edited mid-run

    assert run_spec(payload, store).task == "binary"
    assert run_spec(_payload(None), store).task == "multiclass"  # started without a copy


def test_a_bad_spec_in_the_run_input_names_the_field() -> None:
    spec = make_spec("fraud", "binary")
    spec["estimator"] = {"kind": "deep_net", "params": {}}

    with pytest.raises(PipelineInputError, match=r"in run 'fraud-1'.*estimator\.kind"):
        run_spec(_payload(spec), InMemoryRegistryStore())
