"""Canary hashing, and the model cache's refresh / fallback rules on the in-memory registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from onnx_builders import BuiltModel, build_classifier

from mlops.artifacts import ArtifactStore
from mlops.registry import errors as registry_errors
from mlops.registry.entities import AliasName, NewVersion, Trigger, TriggerKind
from mlops.registry.memory import InMemoryRegistryStore
from mlops.serving.errors import ModelNotFoundError, ModelUnavailableError
from mlops.serving.model_cache import ModelCache
from mlops.serving.registry_view import AliasTarget, ModelState, ServedVersion
from mlops.serving.routing import goes_to_canary, is_captured, unit_interval


def test_canary_share_is_close_to_the_weight_and_deterministic() -> None:
    ids = [f"req-{i}" for i in range(10_000)]
    for weight in (0.0, 0.05, 0.1, 0.5, 1.0):
        chosen = [goes_to_canary(i, weight) for i in ids]
        assert abs(sum(chosen) / len(ids) - weight) <= 0.015
        assert chosen == [goes_to_canary(i, weight) for i in ids]


def test_canary_and_capture_decisions_are_independent() -> None:
    ids = [f"req-{i}" for i in range(10_000)]
    both = sum(goes_to_canary(i, 0.5) and is_captured(i, 0.5) for i in ids)
    assert abs(both / len(ids) - 0.25) <= 0.02
    assert all(0.0 <= unit_interval(i, b"x") < 1.0 for i in ids[:100])


class StoreServingRegistry:
    """Serving's registry view over the in-memory store (the DynamoDB one is tested on moto);
    `unreachable` makes every read fail as a throttled or unreachable table would."""

    def __init__(self, store: InMemoryRegistryStore) -> None:
        self._store = store
        self.unreachable = False

    def model_state(self, name: str) -> ModelState | None:
        if self.unreachable:
            raise ConnectionError("registry unreachable")
        try:
            record = self._store.get_model(name)
        except registry_errors.ModelNotFoundError:
            return None

        def target(alias: AliasName) -> AliasTarget | None:
            state = self._store.get_alias(name, alias)
            return AliasTarget(state.version, state.weight, state.shadow) if state else None

        return ModelState(record.spec, target(AliasName.PRODUCTION), target(AliasName.CANDIDATE))

    def version(self, name: str, version: int) -> ServedVersion | None:
        if self.unreachable:
            raise ConnectionError("registry unreachable")
        try:
            record = self._store.get_version(name, version)
        except (registry_errors.ModelNotFoundError, registry_errors.VersionNotFoundError):
            return None
        return ServedVersion.from_fields(record.model_dump(mode="json"))


class FakeS3:
    """Just enough of an S3 client for ArtifactStore."""

    class exceptions:  # noqa: N801 - mirrors boto3's client.exceptions namespace
        class NoSuchKey(Exception):  # noqa: N818 - boto3's name
            pass

        class ClientError(Exception):
            pass

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, dict[str, str]]] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **kw: Any) -> None:  # noqa: N803
        self.objects[(Bucket, Key)] = (Body, kw.get("Metadata", {}))

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        if (Bucket, Key) not in self.objects:
            raise self.exceptions.NoSuchKey(Key)
        body, metadata = self.objects[(Bucket, Key)]

        @dataclass
        class Body:
            data: bytes

            def read(self) -> bytes:
                return self.data

        return {"Body": Body(body), "Metadata": metadata}


@dataclass
class World:
    store: InMemoryRegistryStore = field(default_factory=InMemoryRegistryStore)
    s3: FakeS3 = field(default_factory=FakeS3)
    now: float = 0.0
    failures: list[tuple[str, int | None]] = field(default_factory=list)
    registry: StoreServingRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.registry = StoreServingRegistry(self.store)

    def cache(self) -> ModelCache:
        return ModelCache(
            self.registry,
            ArtifactStore(self.s3, "artifacts"),
            refresh_seconds=10.0,
            clock=lambda: self.now,
            on_failure=lambda model, version, _error: self.failures.append((model, version)),
        )

    def register(self, built: BuiltModel, onnx: bytes | None = None) -> int:
        if "mm" not in {m.name for m in self.store.list_models()}:
            self.store.create_model("mm", actor="t")
        version = self.store.get_model("mm").latest_version + 1
        ref = ArtifactStore(self.s3, "artifacts").put(
            "mm", version, "model.onnx", onnx or built.onnx
        )
        draft = NewVersion(
            task="classification",
            estimator="lr",
            feature_schema=built.feature_schema,
            classes=built.classes,
            artifact=ref,
            trigger=Trigger(kind=TriggerKind.MANUAL, source_id="t"),
        )
        return self.store.register_version("mm", draft, actor="t").version


@pytest.fixture(scope="module")
def built() -> BuiltModel:
    return build_classifier()


def test_alias_is_reread_only_after_the_refresh_interval(built: BuiltModel) -> None:
    world = World()
    cache = world.cache()
    world.register(built)
    world.store.promote("mm", 1, actor="t")
    assert cache.production("mm").version == 1
    world.register(built)
    world.store.promote("mm", 2, actor="t")
    world.now = 9.99
    assert cache.production("mm").version == 1
    world.now = 10.0
    assert cache.production("mm").version == 2


def test_failed_load_keeps_previous_and_reports_once_per_refresh(built: BuiltModel) -> None:
    world = World()
    cache = world.cache()
    world.register(built)
    world.store.promote("mm", 1, actor="t")
    cache.production("mm")
    world.register(built, onnx=b"corrupt")
    world.store.promote("mm", 2, actor="t")
    world.now = 10.0
    assert cache.production("mm").version == 1
    assert cache.production("mm").version == 1
    assert world.failures == [("mm", 2)]
    world.now = 20.0
    assert cache.production("mm").version == 1
    assert world.failures == [("mm", 2), ("mm", 2)]


def test_unknown_and_unpromoted_models(built: BuiltModel) -> None:
    world = World()
    cache = world.cache()
    with pytest.raises(ModelNotFoundError):
        cache.production("ghost")
    with pytest.raises(ModelNotFoundError):
        cache.production("ghost")  # cached negative answer, still a 404
    with pytest.raises(ModelNotFoundError):
        cache.production("Not A Name")
    world.register(built)
    with pytest.raises(ModelUnavailableError, match="no production version"):
        cache.production("mm")
    assert cache.alias("mm", AliasName.CANDIDATE).state is None


def test_an_unreadable_registry_keeps_what_was_read_before(built: BuiltModel) -> None:
    # Given a model served from the cache, When the registry becomes unreadable after a refresh
    # interval, Then the cached version keeps serving, the failure is reported (no version),
    # and the next interval tries again
    world = World()
    cache = world.cache()
    world.register(built)
    world.store.promote("mm", 1, actor="t")
    assert cache.production("mm").version == 1
    world.registry.unreachable = True
    world.now = 10.0
    assert cache.production("mm").version == 1
    assert cache.production("mm").version == 1  # not re-read within the interval
    assert world.failures == [("mm", None)]
    world.register(built)
    world.store.promote("mm", 2, actor="t")
    world.registry.unreachable = False
    world.now = 20.0
    assert cache.production("mm").version == 2


def test_an_unreadable_registry_with_nothing_cached_is_a_503_naming_the_registry(
    built: BuiltModel,
) -> None:
    world = World()
    cache = world.cache()
    world.register(built)
    world.store.promote("mm", 1, actor="t")
    world.registry.unreachable = True
    with pytest.raises(ModelUnavailableError, match="registry cannot be read"):
        cache.production("mm")
    with pytest.raises(ModelUnavailableError, match="registry cannot be read"):
        cache.pinned("mm", 1)
    world.registry.unreachable = False
    assert cache.production("mm").version == 1
