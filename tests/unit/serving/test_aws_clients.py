"""mlops.aws: one client per service and process, configured from the environment, renewed on
reset (the local cloud resets when it changes a function's AWS variables). No AWS calls."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

from mlops import aws


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.reset_clients()
    yield monkeypatch
    aws.reset_clients()


def test_a_service_has_one_client_even_when_threads_race_for_it() -> None:
    # When eight threads ask for the same service's client at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        clients = list(pool.map(lambda _: aws.client("dynamodb"), range(8)))
    # Then they all got the one cached client
    assert all(client is clients[0] for client in clients)
    assert aws.client("dynamodb") is clients[0]


def test_region_and_endpoint_come_from_the_environment(
    environment: pytest.MonkeyPatch,
) -> None:
    # Given an environment naming a region and an endpoint (as the local cloud's server mode)
    environment.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    # When a client is created
    s3 = aws.client("s3")
    # Then it talks to that endpoint in that region
    assert s3.meta.region_name == "eu-west-1"
    assert s3.meta.endpoint_url == "http://127.0.0.1:4566"


def test_reset_reads_the_environment_again(environment: pytest.MonkeyPatch) -> None:
    # Given a cached client
    before = aws.client("s3")
    # When the environment changes and the clients are reset
    environment.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    environment.setenv("AWS_ACCESS_KEY_ID", "other-key")
    aws.reset_clients()
    after = aws.client("s3")
    # Then the new client follows the new region and credentials
    assert after is not before
    assert after.meta.region_name == "ap-southeast-2"
    url = after.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    assert "=other-key" in url  # the access key id the URL is signed with


def test_the_loader_knows_the_same_services_as_botocores_without_opening_each_folder() -> None:
    fast, botocores = aws._ServiceFolderLoader(), Loader()

    for model_type in ("service-2", "endpoint-rule-set-1"):
        assert fast.list_available_services(model_type) == botocores.list_available_services(
            model_type
        )


def test_an_unknown_service_is_still_refused_by_name() -> None:
    with pytest.raises(UnknownServiceError, match="no-such-service"):
        aws.client("no-such-service")


def test_models_on_aws_data_path_are_found(environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given a custom model folder on AWS_DATA_PATH, as botocore allows
    (tmp_path / "private-service" / "2024-01-01").mkdir(parents=True)
    environment.setenv("AWS_DATA_PATH", str(tmp_path))
    environment.setattr(aws, "_loader", None)
    aws.reset_clients()
    # Then the loader looks there first, then in botocore's own data
    loader = aws._current_session().get_component("data_loader")
    assert loader.search_paths[0] == str(tmp_path)
    assert "private-service" in loader.list_available_services("service-2")
    assert "dynamodb" in loader.list_available_services("service-2")
