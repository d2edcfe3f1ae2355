"""Property: no body, however random or malformed, gets a 5xx (1,000+ examples, warm handler)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from onnx_builders import build_classifier
from serving_harness import FakeClock, Registrar, call

from mlops import aws
from mlops.artifacts import ArtifactStore
from mlops.local.moto_transport import moto_http
from mlops.local.tables import create_registry_table
from mlops.registry.dynamodb import DynamoDBRegistryStore
from mlops.serving import api
from mlops.settings import get_settings, reset_settings

FEATURES = ("amount", "age", "country")

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["de", "fr", "us", "", "12.5"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
keys = st.sampled_from([*FEATURES, "extra", ""]) | st.text(max_size=6)
records = st.dictionaries(keys, json_values, max_size=5) | st.fixed_dictionaries(
    dict.fromkeys(FEATURES, json_values)
)
numbers = st.floats(min_value=-1e6, max_value=1e6) | st.integers(-(10**6), 10**6) | st.none()
plausible = st.fixed_dictionaries(
    {
        "amount": numbers,
        "age": numbers,
        "country": st.sampled_from(["de", "fr", "us", "", "atlantis"]) | st.none(),
    }
)
records = plausible | records
valid_envelopes = st.fixed_dictionaries(
    {"records": st.lists(plausible, min_size=1, max_size=4)},
    optional={"alias": st.sampled_from(["production", "candidate"]), "version": st.integers(1, 2)},
)
envelopes = valid_envelopes | st.fixed_dictionaries(
    {},
    optional={
        "records": st.lists(records, max_size=4) | json_values,
        "record": records | json_values,
        "version": st.integers(min_value=-2, max_value=4) | json_values,
        "alias": st.sampled_from(["production", "candidate", "staging"]) | json_values,
        "extra": json_values,
    },
)
feedback = st.fixed_dictionaries(
    {},
    optional={
        "items": st.lists(
            st.dictionaries(st.sampled_from(["request_id", "label", "value", "x"]), json_values),
            max_size=3,
        )
        | json_values
    },
)
bodies = (
    valid_envelopes.map(json.dumps)
    | envelopes.map(json.dumps)
    | feedback.map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=40)
    | st.binary(max_size=40).map(lambda b: b.decode("latin-1"))
)
targets = st.sampled_from(
    [
        ("POST", "/v1/models/fraud/predict"),
        ("POST", "/v1/models/fraud/feedback"),
        ("POST", "/v1/models/ghost/predict"),
        ("POST", "/v1/models/Bad_Name!/predict"),
        ("GET", "/v1/models/fraud"),
        ("GET", "/v1/health"),
        ("DELETE", "/v1/models/fraud"),
    ]
)
request_ids = st.none() | st.text(max_size=20) | st.sampled_from(["ok-1", "x" * 200])


@pytest.fixture(scope="module")
def warm_handler() -> Iterator[None]:
    """One moto world for all examples, so the session stays cached (fast examples)."""
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "MLOPS_REGISTRY_TABLE": "fuzz-registry",
            "MLOPS_ARTIFACT_BUCKET": "fuzz-artifacts",
            "MLOPS_DATA_BUCKET": "fuzz-data",
            "MLOPS_MAX_RECORDS_PER_REQUEST": "3",
            "MLOPS_MAX_BODY_BYTES": "2048",
        }.items():
            patch.setenv(variable, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        reset_settings()
        aws.reset_clients()
        with mock_aws(), moto_http():
            create_registry_table(aws.client("dynamodb"), "fuzz-registry")
            for bucket in ("fuzz-artifacts", "fuzz-data"):
                aws.client("s3").create_bucket(Bucket=bucket)
            store = DynamoDBRegistryStore("fuzz-registry", aws.client("dynamodb"))
            registrar = Registrar(store, ArtifactStore(aws.client("s3"), "fuzz-artifacts"))
            spec = {"features": [{"name": "country", "unknown_category": "reject"}]}
            registrar.register("fraud", build_classifier(), promote=True, spec=spec)
            api.use_service(api.build_service(get_settings(), clock=FakeClock()))
            yield
            api.use_service(None)
        reset_settings()
        aws.reset_clients()


@pytest.mark.usefixtures("warm_handler")
@settings(
    max_examples=1_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(target=targets, body=bodies, request_id=request_ids)
def test_no_input_yields_a_5xx(target: tuple[str, str], body: str, request_id: Any) -> None:
    method, path = target
    headers = {"X-Request-Id": request_id} if request_id is not None else None
    reply = call(method, path, raw=body, headers=headers)
    event(f"{method} {reply.status}")
    assert reply.status < 500, (reply.status, reply.body)
    assert isinstance(reply.body, dict)
    if reply.status >= 400:
        assert reply.body["message"]
        assert "Traceback" not in json.dumps(reply.body)
