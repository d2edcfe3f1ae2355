"""Drift statistics against known values: PSI, the interpolated KS, verdicts and thresholds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from mlops.domain.baseline import compute_baseline
from mlops.domain.dataset import Table
from mlops.domain.drift import (
    EPSILON,
    DriftThresholds,
    compare_to_baseline,
    ks_statistic,
    population_stability_index,
    training_cdf,
)
from mlops.registry.entities import FeatureSchema, FeatureType

SCHEMA = [
    FeatureSchema(name="amount", type=FeatureType.NUMERIC),
    FeatureSchema(name="age", type=FeatureType.NUMERIC),
    FeatureSchema(name="country", type=FeatureType.CATEGORICAL),
]


def draw(n: int, seed: int, *, amount_shift: float = 0.0) -> Table:
    """amount ~ N(100 + shift, 20), age ~ N(40, 10), country in de/fr/us (40/35/25%)."""
    rng = np.random.default_rng(seed)
    countries = rng.choice(np.array(["de", "fr", "us"], dtype=object), n, p=[0.4, 0.35, 0.25])
    return Table(
        {
            "amount": rng.normal(100 + amount_shift, 20, n),
            "age": rng.normal(40, 10, n),
            "country": countries,
        },
        n,
    )


def records(table: Table) -> list[dict[str, Any]]:
    """The table as API records (null for a missing number, as captures hold them)."""
    rows = []
    for i in range(table.n_rows):
        amount = float(table["amount"][i])
        rows.append(
            {
                "amount": None if math.isnan(amount) else amount,
                "age": float(table["age"][i]),
                "country": str(table["country"][i]),
            }
        )
    return rows


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    return compute_baseline(draw(5_000, seed=0), SCHEMA)


def test_psi_of_known_shares() -> None:
    # Given shares 50/50 against 25/75, Then PSI = 0.25 ln(0.5) ... by hand
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert population_stability_index([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected)
    # And identical shares give 0, an empty bin on both sides adds nothing
    assert population_stability_index([0.2, 0.8, 0.0], [0.2, 0.8, 0.0]) == 0.0
    # And an empty training bin is raised to EPSILON (finite, large)
    one_sided = population_stability_index([1.0, 0.0], [0.9, 0.1])
    by_hand = (0.9 - 1.0) * math.log(0.9) + (0.1 - EPSILON) * math.log(0.1 / EPSILON)
    assert one_sided == pytest.approx(by_hand)


def test_training_cdf_interpolates_between_percentiles_and_jumps_at_ties() -> None:
    quantiles = [0.0, 1.0, 1.0, 3.0]  # the 0, 1/3, 2/3, 1 quantiles
    at = np.array([-1.0, 0.5, 1.0, 2.0, 3.0, 4.0])

    assert training_cdf(quantiles, at).tolist() == pytest.approx([0, 1 / 6, 2 / 3, 5 / 6, 1, 1])
    assert training_cdf(quantiles, at, left=True).tolist() == pytest.approx(
        [0, 1 / 6, 1 / 3, 5 / 6, 1, 1]
    )


def test_ks_against_hand_computed_values() -> None:
    uniform = np.linspace(0, 1, 101).tolist()  # training ~ U(0, 1): F(x) = x
    # One live value at 0.5: F_live jumps 0 -> 1 there; |1 - 0.5| = |0 - 0.5| = 0.5
    assert ks_statistic([0.5], uniform) == pytest.approx(0.5)
    # Live values 0.1, 0.2: max(1/2 - 0.1, 1 - 0.2, 0.1 - 0, 0.2 - 1/2) = 0.8
    assert ks_statistic([0.2, 0.1], uniform) == pytest.approx(0.8)
    # Live entirely above the training range: 1
    assert ks_statistic([5.0, 6.0], uniform) == pytest.approx(1.0)
    # Missing values are left out; none left, or no quantiles: no statistic
    assert ks_statistic([math.nan, 0.5], uniform) == pytest.approx(0.5)
    assert ks_statistic([math.nan], uniform) is None
    assert ks_statistic([0.5], []) is None


def test_ks_from_percentiles_is_close_to_the_exact_statistic() -> None:
    rng = np.random.default_rng(3)
    training, live = rng.normal(0, 1, 4_000), rng.normal(0.3, 1, 500)
    quantiles = np.quantile(training, np.linspace(0, 1, 101)).tolist()
    grid = np.sort(np.concatenate([training, live]))
    exact = np.max(
        np.abs(
            np.searchsorted(np.sort(live), grid, side="right") / live.size
            - np.searchsorted(np.sort(training), grid, side="right") / training.size
        )
    )

    assert ks_statistic(live, quantiles) == pytest.approx(exact, abs=0.011)


def test_identical_distributions_are_stable(baseline: dict[str, Any]) -> None:
    # Given live rows drawn from the training distribution
    result = compare_to_baseline(baseline, records(draw(400, seed=1)))

    # Then every feature's PSI is near 0 and the verdict is stable
    assert result.verdict == "stable"
    assert result.rows == 400
    assert all(f.psi < 0.1 for f in result.features), [(f.name, f.psi) for f in result.features]
    assert result.drifted_share == 0.0
    amount = next(f for f in result.features if f.name == "amount")
    assert amount.ks is not None
    assert amount.ks < 0.1


def test_a_two_sd_mean_shift_drifts_that_feature_only(baseline: dict[str, Any]) -> None:
    # Given a few hundred live rows with amount's mean moved by two standard deviations
    result = compare_to_baseline(baseline, records(draw(300, seed=2, amount_shift=40.0)))

    # Then amount drifted (PSI >= 0.2, large KS), the others stayed below 0.1
    by_name = {f.name: f for f in result.features}
    assert by_name["amount"].psi >= 0.2
    assert by_name["amount"].status == "drifted"
    assert by_name["amount"].ks is not None
    assert by_name["amount"].ks > 0.5
    assert by_name["age"].psi < 0.1
    assert by_name["country"].psi < 0.1
    assert result.verdict == "drifted"
    assert result.max_psi == by_name["amount"].psi
    assert result.drifted_share == pytest.approx(1 / 3)
    assert result.ranked()[0].name == "amount"
    assert "amount" in result.reason


def test_too_few_rows_give_no_verdict(baseline: dict[str, Any]) -> None:
    # Given fewer live rows than the minimum, even shifted ones
    result = compare_to_baseline(baseline, records(draw(199, seed=2, amount_shift=40.0)))

    # Then there is no verdict, and it says why
    assert result.verdict == "no verdict"
    assert not result.has_verdict
    assert "199" in result.reason
    assert "200" in result.reason
    # And no rows at all: no verdict, no features
    empty = compare_to_baseline(baseline, [])
    assert (empty.verdict, empty.features, empty.max_psi) == ("no verdict", [], None)
    # And the minimum is configurable
    assert compare_to_baseline(baseline, records(draw(50, 1)), DriftThresholds(min_rows=50)).verdict


def test_unseen_categories_and_missing_values_have_their_own_bins(
    baseline: dict[str, Any],
) -> None:
    live = records(draw(300, seed=4))
    for row in live[:150]:
        row["country"] = "jp"  # never seen in training
    for row in live[150:225]:
        row["amount"] = None  # missing (training had none)
    for row in live[225:235]:
        del row["age"]  # absent: missing too

    result = compare_to_baseline(baseline, live)

    by_name = {f.name: f for f in result.features}
    country = by_name["country"]
    assert country.bins == ["de", "fr", "us", "other", "missing"]
    assert country.live_shares[3] == pytest.approx(0.5)
    assert country.training_shares[3] == 0.0
    assert country.status == "drifted"
    amount = by_name["amount"]
    assert amount.bins[-1] == "missing"
    assert (amount.training_missing_rate, amount.live_missing_rate) == (0.0, 0.25)
    assert amount.psi >= 0.2
    assert by_name["age"].live_missing_rate == pytest.approx(10 / 300)


def test_warn_between_the_thresholds() -> None:
    limits = DriftThresholds()
    assert [limits.status(p) for p in (0.0, 0.099, 0.1, 0.199, 0.2, 3.0)] == [
        "stable",
        "stable",
        "warn",
        "warn",
        "drifted",
        "drifted",
    ]
    with pytest.raises(ValueError, match="warn_psi"):
        DriftThresholds(warn_psi=0.3, alarm_psi=0.2)
    with pytest.raises(ValueError, match="min_rows"):
        DriftThresholds(min_rows=0)


def test_a_format_1_baseline_still_gives_psi_without_ks(baseline: dict[str, Any]) -> None:
    old = {
        **baseline,
        "format": 1,
        "features": {
            name: {k: v for k, v in stats.items() if k != "quantiles"}
            for name, stats in baseline["features"].items()
        },
    }

    result = compare_to_baseline(old, records(draw(300, seed=2, amount_shift=40.0)))

    amount = next(f for f in result.features if f.name == "amount")
    assert amount.psi >= 0.2
    assert amount.ks is None


def test_the_baseline_keeps_101_training_percentiles() -> None:
    table = draw(1_000, seed=5)
    stats = compute_baseline(table, SCHEMA)["features"]["amount"]
    assert len(stats["quantiles"]) == 101
    assert stats["quantiles"][0] == table["amount"].min()
    assert stats["quantiles"][-1] == table["amount"].max()
    assert stats["quantiles"][50] == pytest.approx(np.median(table["amount"]))
