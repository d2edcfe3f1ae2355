"""Hot reload: promotions serve within T seconds; a bad new artifact never displaces a good one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from onnx_builders import BuiltModel
from serving_harness import FakeClock, Registrar, call

from mlops import aws
from mlops.serving.api import current_service

pytestmark = pytest.mark.usefixtures("serving")

RECORD = {"amount": 120.0, "age": 45, "country": "fr"}
PREDICT = "/v1/models/fraud/predict"
REFRESH = 30.0  # MLOPS_ALIAS_REFRESH_SECONDS in conftest


def served_version() -> int:
    reply = call("POST", PREDICT, {"record": RECORD})
    assert reply.status == 200, reply.body
    version: int = reply.body["version"]
    return version


def stdout_documents(out: str) -> list[dict[str, Any]]:
    documents = []
    for line in out.splitlines():
        if line.startswith("{"):
            documents.append(json.loads(line))
    return documents


def test_promotion_is_served_within_the_refresh_interval(
    registrar: Registrar, classifier: BuiltModel, classifier_v2: BuiltModel, clock: FakeClock
) -> None:
    # Given v1 serving
    registrar.register("fraud", classifier, promote=True)
    assert served_version() == 1
    # When v2 is promoted
    v2 = registrar.register("fraud", classifier_v2)
    registrar.store.promote("fraud", v2, actor="test", reason="better")
    # Then v1 may still answer until the alias is re-read, and v2 answers once T has passed
    clock.advance(REFRESH - 1)
    assert served_version() == 1
    clock.advance(1)
    assert served_version() == 2
    # And a rollback is picked up the same way, without a restart
    registrar.store.rollback("fraud", actor="test", reason="oops")
    clock.advance(REFRESH)
    assert served_version() == 1


def test_tampered_new_artifact_is_refused_and_old_version_keeps_serving(
    registrar: Registrar,
    classifier: BuiltModel,
    classifier_v2: BuiltModel,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given v1 serving and v2 promoted, but v2's object altered after registration
    registrar.register("fraud", classifier, promote=True)
    assert served_version() == 1
    v2 = registrar.register("fraud", classifier_v2)
    aws.client("s3").put_object(
        Bucket="serving-artifacts", Key=f"models/fraud/{v2}/model.onnx", Body=classifier.onnx
    )
    registrar.store.promote("fraud", v2, actor="test")
    capsys.readouterr()
    # When the alias is re-read
    clock.advance(REFRESH)
    # Then v1 keeps answering
    assert served_version() == 1
    assert served_version() == 1
    # And a metric and an error log say why, once per refresh
    documents = stdout_documents(capsys.readouterr().out)
    failures = [d for d in documents if "ModelLoadFailures" in d]
    assert [(d["model"], d["version"]) for d in failures] == [("fraud", str(v2))]
    [error] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "keeps serving" in error.getMessage()
    assert "integrity" in error.__dict__["error"]
    assert error.__dict__["version"] == v2
    # And pinning the tampered version is refused, never silently loaded
    pinned = call("POST", PREDICT, {"record": RECORD, "version": v2})
    assert pinned.status == 409
    assert "integrity" in pinned.body["message"]


def test_corrupt_new_artifact_keeps_the_old_version(
    registrar: Registrar, classifier: BuiltModel, clock: FakeClock
) -> None:
    registrar.register("fraud", classifier, promote=True)
    assert served_version() == 1
    v2 = registrar.register("fraud", classifier, onnx=b"\x08\x07 not an onnx graph")
    registrar.store.promote("fraud", v2, actor="test")
    clock.advance(REFRESH)
    assert served_version() == 1


def test_first_version_that_cannot_load_is_a_503_not_a_crash(
    registrar: Registrar, classifier: BuiltModel
) -> None:
    registrar.register("fraud", classifier, promote=True, onnx=b"garbage")
    reply = call("POST", PREDICT, {"record": RECORD})
    assert reply.status == 503
    assert "cannot be loaded" in reply.body["message"]


def test_sessions_are_cached_by_version_and_checksum(
    registrar: Registrar, classifier: BuiltModel, classifier_v2: BuiltModel, clock: FakeClock
) -> None:
    # Given v1 served, then v2, then v1 again by rollback
    registrar.register("fraud", classifier, promote=True)
    first = current_service().cache.production("fraud")
    v2 = registrar.register("fraud", classifier_v2)
    registrar.store.promote("fraud", v2, actor="test")
    clock.advance(REFRESH)
    assert served_version() == 2
    registrar.store.rollback("fraud", actor="test")
    clock.advance(REFRESH)
    # Then the very same loaded session serves v1 again (no reload)
    assert current_service().cache.production("fraud") is first


def test_an_unreadable_registry_keeps_the_loaded_version_serving(
    registrar: Registrar,
    classifier: BuiltModel,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given v1 serving
    registrar.register("fraud", classifier, promote=True)
    assert served_version() == 1
    capsys.readouterr()
    # When the registry table can no longer be read (here: it is gone) and T has passed
    aws.client("dynamodb").delete_table(TableName="serving-registry")
    clock.advance(REFRESH)
    # Then v1 keeps answering, and a metric and an error log name the registry
    assert served_version() == 1
    failures = [d for d in stdout_documents(capsys.readouterr().out) if "RegistryReadFailures" in d]
    assert [d["model"] for d in failures] == ["fraud"]
    [error] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "registry could not be read" in error.getMessage()
    assert "ResourceNotFoundException" in error.__dict__["error"]
    # And a model never read before gets a 503 naming the registry, not a 500
    unknown = call("POST", "/v1/models/other/predict", {"record": RECORD})
    assert unknown.status == 503
    assert "registry cannot be read" in unknown.body["message"]
