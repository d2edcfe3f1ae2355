"""The post-promotion guard's logic on the in-memory registry, with fake alarms and notifier."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlops.domain.spec import SpecError, parse_spec
from mlops.guard.events import AlarmFired, Sweep
from mlops.guard.guard import FiringAlarm, GuardDeps, run_guard
from mlops.local.demo_data import make_spec
from mlops.registry import (
    AliasName,
    ArtifactRef,
    AuditAction,
    InMemoryRegistryStore,
    NewVersion,
    Trigger,
    TriggerKind,
    VersionStatus,
)

MODEL = "churn"
ERRORS_ALARM = f"mlops/{MODEL}/guard/errors"


@dataclass
class FakeAlarms:
    """CloudWatch as the guard sees it: the alarms in ALARM, by name."""

    firing: dict[str, FiringAlarm] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def fire(self, name: str, since: datetime, reason: str = "Threshold Crossed") -> None:
        self.firing[name] = FiringAlarm(name=name, reason=reason, since=since)

    def __call__(self, prefix: str) -> list[FiringAlarm]:
        self.asked.append(prefix)
        return [alarm for name, alarm in self.firing.items() if name.startswith(prefix)]


@dataclass
class World:
    store: InMemoryRegistryStore
    alarms: FakeAlarms
    notes: list[tuple[str, dict[str, Any]]]

    @property
    def deps(self) -> GuardDeps:
        return GuardDeps(self.store, self.alarms, lambda s, b: self.notes.append((s, b)))

    def canary_started(self, name: str = MODEL) -> datetime:
        candidate = self.store.get_alias(name, AliasName.CANDIDATE)
        assert candidate is not None
        return candidate.updated_at


def _draft(version_hint: int) -> NewVersion:
    return NewVersion(
        task="binary",
        estimator="logistic_regression",
        artifact=ArtifactRef(
            uri=f"s3://art/models/m/{version_hint}/model.onnx", sha256="a" * 64, size=1
        ),
        trigger=Trigger(kind=TriggerKind.MANUAL, source_id="test"),
    )


def _model(store: InMemoryRegistryStore, name: str, guard_minutes: int | None = 30) -> None:
    spec = {"promotion": {"mode": "canary", "guard_minutes": guard_minutes}}
    store.put_spec(name, spec if guard_minutes else {}, actor="test")
    for number in (1, 2):
        store.register_version(name, _draft(number), actor="test")
    store.promote(name, 1, actor="test")


@pytest.fixture
def world() -> World:
    store = InMemoryRegistryStore()
    _model(store, MODEL)
    store.promote(MODEL, 2, actor="test", canary_weight=0.2)
    return World(store, FakeAlarms(), [])


def _alarm(at: datetime, name: str = ERRORS_ALARM) -> AlarmFired:
    return AlarmFired(model=MODEL, alarm_name=name, reason="Threshold Crossed: 1 datapoint", at=at)


# ---- an alarm fires ----------------------------------------------------------------------------
def test_a_guard_alarm_rolls_the_canary_back_at_once(world: World) -> None:
    # When the errors alarm fires a minute into the canary
    [outcome] = run_guard(_alarm(world.canary_started() + timedelta(minutes=1)), world.deps)

    # Then the canary is rejected with the alarm's name and reason, production untouched
    assert (outcome.outcome, outcome.version) == ("rolled-back", 2)
    version = world.store.get_version(MODEL, 2)
    assert version.status is VersionStatus.REJECTED
    assert version.status_reason == f"{ERRORS_ALARM} in ALARM: Threshold Crossed: 1 datapoint"
    assert world.store.get_alias(MODEL, AliasName.CANDIDATE) is None
    assert world.store.resolve(MODEL).version == 1
    # And one audit record says who and why, and a notification went out
    event = world.store.history(MODEL)[-1]
    assert (event.action, event.actor, event.from_version) == (
        AuditAction.CANDIDATE_REJECTED,
        f"guard:{ERRORS_ALARM}",
        2,
    )
    [(subject, body)] = world.notes
    assert subject == f"mlops: canary v2 of {MODEL} rolled back"
    assert (body["outcome"], body["reason"]) == ("rolled-back", version.status_reason)


@pytest.mark.parametrize("move", [{"shadow": True}, None], ids=["shadow", "no candidate"])
def test_an_alarm_without_a_canary_changes_nothing(
    world: World, move: dict[str, Any] | None
) -> None:
    # Given a shadow candidate, or none at all
    world.store.clear_candidate(MODEL, actor="test")
    if move is not None:
        world.store.promote(MODEL, 2, actor="test", **move)
    history = world.store.history(MODEL)

    [outcome] = run_guard(_alarm(datetime.now(UTC)), world.deps)

    assert outcome.outcome == "ignored"
    assert world.store.history(MODEL) == history
    assert world.notes == []


def test_an_alarm_for_a_canary_replaced_meanwhile_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the guard read canary v2, but v2 was replaced by v3 before it wrote
    world.store.register_version(MODEL, _draft(3), actor="test")
    stale = world.store.get_alias(MODEL, AliasName.CANDIDATE)
    world.store.promote(MODEL, 3, actor="other", canary_weight=0.1)
    real_get_alias = world.store.get_alias
    monkeypatch.setattr(
        world.store,
        "get_alias",
        lambda name, alias: stale if alias is AliasName.CANDIDATE else real_get_alias(name, alias),
    )

    [outcome] = run_guard(_alarm(datetime.now(UTC)), world.deps)

    # Then the racing change wins: v3 stays the canary, nothing is notified
    monkeypatch.undo()
    assert (outcome.outcome, outcome.version) == ("skipped", 2)
    assert "registry changed meanwhile" in outcome.reason
    assert world.store.get_version(MODEL, 3).status is VersionStatus.CANDIDATE
    assert world.notes == []


# ---- the sweep ---------------------------------------------------------------------------------
def test_a_canary_is_watched_during_its_guard_period(world: World) -> None:
    now = world.canary_started() + timedelta(minutes=29)

    [outcome] = run_guard(Sweep(now=now), world.deps)

    assert (outcome.outcome, outcome.version) == ("watching", 2)
    assert "guard period of 30 min ends" in outcome.reason
    assert world.alarms.asked == [f"mlops/{MODEL}/guard/"]
    assert world.store.get_version(MODEL, 2).status is VersionStatus.CANDIDATE


def test_a_clean_guard_period_promotes_the_canary(world: World) -> None:
    # When the sweep runs once the 30 minutes have passed, with no guard alarm in ALARM
    now = world.canary_started() + timedelta(minutes=30)
    [outcome] = run_guard(Sweep(now=now), world.deps)

    # Then the canary is production, the old production archived, the candidate cleared
    assert (outcome.outcome, outcome.version) == ("promoted", 2)
    assert world.store.resolve(MODEL).version == 2
    assert world.store.get_alias(MODEL, AliasName.CANDIDATE) is None
    assert world.store.get_version(MODEL, 1).status is VersionStatus.ARCHIVED
    event = world.store.history(MODEL)[-1]
    assert (event.action, event.actor, event.reason) == (
        AuditAction.ALIAS_MOVED,
        "guard:sweep",
        "guard period of 30 min passed clean",
    )
    assert event.detail == {"candidate_cleared": True}
    assert [subject for subject, _ in world.notes] == [
        f"mlops: canary v2 of {MODEL} promoted to production"
    ]


def test_an_alarm_still_firing_at_the_end_of_the_period_rolls_back(world: World) -> None:
    # Given a guard alarm that went into ALARM before this canary started and never recovered
    started = world.canary_started()
    world.alarms.fire(ERRORS_ALARM, since=started - timedelta(minutes=5))
    # Then it does not condemn the canary during its period ...
    [during] = run_guard(Sweep(now=started + timedelta(minutes=10)), world.deps)
    assert during.outcome == "watching"
    # ... but the canary is not promoted over it either: at the end it is rolled back
    [outcome] = run_guard(Sweep(now=started + timedelta(minutes=30)), world.deps)
    assert (outcome.outcome, outcome.version) == ("rolled-back", 2)
    assert world.store.get_version(MODEL, 2).status_reason == (
        f"{ERRORS_ALARM} in ALARM: Threshold Crossed"
    )
    assert world.store.resolve(MODEL).version == 1


def test_a_missed_alarm_is_caught_by_the_next_sweep(world: World) -> None:
    # Given a guard alarm that fired during the canary, but whose event never reached the guard
    started = world.canary_started()
    world.alarms.fire(ERRORS_ALARM, since=started + timedelta(seconds=1), reason="errors")

    [outcome] = run_guard(Sweep(now=started + timedelta(minutes=5)), world.deps)

    assert (outcome.outcome, outcome.version) == ("rolled-back", 2)
    assert world.store.history(MODEL)[-1].actor == "guard:sweep"


def test_a_production_that_moved_meanwhile_wins_over_the_sweep(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the sweep read production v1 just before someone else rolled out v3 directly
    world.store.register_version(MODEL, _draft(3), actor="test")
    stale = world.store.get_alias(MODEL, AliasName.PRODUCTION)
    real_get_alias = world.store.get_alias
    world.store.promote(MODEL, 3, actor="other")

    def stale_production(name: str, alias: AliasName) -> Any:
        return stale if alias is AliasName.PRODUCTION else real_get_alias(name, alias)

    monkeypatch.setattr(world.store, "get_alias", stale_production)
    [outcome] = run_guard(Sweep(now=world.canary_started() + timedelta(hours=1)), world.deps)
    monkeypatch.undo()

    # Then the sweep changed nothing
    assert outcome.outcome == "skipped"
    assert world.store.resolve(MODEL).version == 3


def test_each_model_has_its_own_guard_period(world: World) -> None:
    # Given a second model whose spec asks for 5 minutes, and a third with no canary
    _model(world.store, "fraud", guard_minutes=5)
    world.store.promote("fraud", 2, actor="test", canary_weight=0.5)
    _model(world.store, "quiet", guard_minutes=None)
    now = max(world.canary_started(), world.canary_started("fraud")) + timedelta(minutes=6)

    outcomes = {o.model: o.outcome for o in run_guard(Sweep(now=now), world.deps)}

    assert outcomes == {MODEL: "watching", "fraud": "promoted"}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (0, "greater than or equal to 1"),
        (10_081, "less than or equal to 10080"),
        (True, "valid integer"),
        ("30", "valid integer"),
    ],
)
def test_a_bad_guard_period_is_refused_naming_the_field(value: Any, problem: str) -> None:
    spec = make_spec("churn", "binary", promotion={"mode": "canary", "guard_minutes": value})
    with pytest.raises(SpecError, match=f"promotion.guard_minutes: Input should be.*{problem}"):
        parse_spec(spec, "spec.yaml")
    default = make_spec("churn", "binary")
    assert parse_spec(default, "spec.yaml").promotion.guard_minutes == 30
