"""Racing registrations, promotions and rollbacks on moto's DynamoDB.

Each round releases THREADS threads at once through a barrier, each doing one operation;
after every round the registry must be consistent: version numbers unique and gapless,
exactly one production version whose status agrees with the alias (and the same for the
candidate), and exactly one audit event per alias move a thread was told succeeded.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from registry_contract import ACTOR, MODEL, draft

from mlops.registry import (
    AliasName,
    AliasNotSetError,
    AuditAction,
    AuditEvent,
    ConcurrentUpdateError,
    DynamoDBRegistryStore,
    InMemoryRegistryStore,
    NothingToRollBackError,
    NotPromotableError,
    RegistryStore,
    VersionStatus,
)

THREADS = 8
ROUNDS = 12
ALIAS_ACTIONS = {AuditAction.ALIAS_MOVED, AuditAction.ALIAS_CLEARED, AuditAction.ROLLBACK}
LOST = (ConcurrentUpdateError, NotPromotableError, NothingToRollBackError, AliasNotSetError)


def test_racing_threads_keep_the_dynamodb_registry_consistent(
    store: DynamoDBRegistryStore, serialized_moto_dynamodb: None
) -> None:
    race_and_check(store, optimistic=True)


def test_racing_threads_keep_the_in_memory_registry_consistent() -> None:
    race_and_check(InMemoryRegistryStore(), optimistic=False)


def race_and_check(store: RegistryStore, *, optimistic: bool) -> None:
    """optimistic: the store reads, then writes conditionally, so some races must be lost
    (the in-memory store holds one lock from read to write, so it never loses one)."""
    # Given a model with one production version
    store.create_model(MODEL, actor=ACTOR)
    store.register_version(MODEL, draft(), actor=ACTOR)
    store.promote(MODEL, 1, actor=ACTOR)
    registered = [1]
    alias_moves: list[AuditEvent] = []
    lost_races = 0
    rng = random.Random(20261127)

    for round_number in range(ROUNDS):
        operations = [_pick(rng, store, len(registered)) for _ in range(THREADS)]
        # When THREADS operations start at the same instant
        outcomes = _race(operations)
        # Then nothing unexpected was raised
        errors = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, LOST)]
        assert errors == [], f"round {round_number}: {errors!r}"
        lost_races += sum(isinstance(o, ConcurrentUpdateError) for o in outcomes)
        registered += [o for o in outcomes if isinstance(o, int)]
        alias_moves += [o for o in outcomes if isinstance(o, AuditEvent)]
        # And the registry is consistent
        _check_versions(store, registered)
        _check_aliases(store)
        _check_audit(store, registered, alias_moves)
    assert len(alias_moves) >= ROUNDS, "the races should let some alias moves through"
    assert len(registered) > ROUNDS, "the races should register versions"
    assert (lost_races > 0) is optimistic, "races are lost only between read and write"


def _pick(rng: random.Random, store: RegistryStore, known: int) -> Callable[[], Any]:
    kind = rng.choice(["register", "register", "promote", "promote", "canary", "rollback"])
    version = rng.randint(1, known)
    if kind == "register":
        return lambda: store.register_version(MODEL, draft(), actor="racer").version
    if kind == "promote":
        return lambda: store.promote(MODEL, version, actor="racer")
    if kind == "canary":
        return lambda: store.promote(MODEL, version, actor="racer", canary_weight=0.2)
    return lambda: store.rollback(MODEL, actor="racer")


def _race(operations: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(operations))

    def run(operation: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return operation()
        except Exception as error:  # noqa: BLE001 - the test inspects every outcome
            return error

    with ThreadPoolExecutor(max_workers=len(operations)) as pool:
        return list(pool.map(run, operations))


def _check_versions(store: RegistryStore, registered: list[int]) -> None:
    assert sorted(registered) == list(range(1, len(registered) + 1)), "unique and gapless"
    assert store.get_model(MODEL).latest_version == len(registered)
    listed = store.list_versions(MODEL, limit=1000).items
    assert [v.version for v in listed] == list(range(len(registered), 0, -1))


def _check_aliases(store: RegistryStore) -> None:
    by_status = Counter[VersionStatus]()
    holders: dict[VersionStatus, list[int]] = {}
    for version in store.list_versions(MODEL, limit=1000).items:
        by_status[version.status] += 1
        holders.setdefault(version.status, []).append(version.version)
    production = store.get_alias(MODEL, AliasName.PRODUCTION)
    assert production is not None
    assert holders[VersionStatus.PRODUCTION] == [production.version], "one production version"
    candidate = store.get_alias(MODEL, AliasName.CANDIDATE)
    expected = [candidate.version] if candidate else []
    assert holders.get(VersionStatus.CANDIDATE, []) == expected
    assert production.version not in production.previous_versions[-1:]


def _check_audit(
    store: RegistryStore, registered: list[int], alias_moves: list[AuditEvent]
) -> None:
    history = store.history(MODEL, limit=1000)
    moves = [event for event in history if event.action in ALIAS_ACTIONS]
    # one event per move that succeeded, plus the first promotion made before the races
    assert len(moves) == len(alias_moves) + 1
    assert {event.event_id for event in moves[1:]} == {event.event_id for event in alias_moves}
    registrations = [e for e in history if e.action is AuditAction.VERSION_REGISTERED]
    assert sorted(e.to_version for e in registrations) == sorted(registered)
