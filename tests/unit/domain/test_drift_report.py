"""The drift report: JSON with the production version's verdict, a summary, and an HTML page
with inline SVG histograms, escaped text, no scripts and no external assets."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from mlops.domain.baseline import compute_baseline
from mlops.domain.dataset import Table
from mlops.domain.drift import compare_to_baseline
from mlops.domain.drift_report import (
    build_drift_report,
    render_drift_html,
    summarize,
    version_section,
)
from mlops.registry.entities import FeatureSchema, FeatureType

SCHEMA = [
    FeatureSchema(name="amount", type=FeatureType.NUMERIC),
    FeatureSchema(name="<script>alert(1)</script>", type=FeatureType.CATEGORICAL),
]
ODD = "<script>alert(1)</script>"


def table(n: int, seed: int, shift: float = 0.0) -> Table:
    rng = np.random.default_rng(seed)
    plans = rng.choice(np.array(["a&b", "c"], dtype=object), n)
    return Table({"amount": rng.normal(10 + shift, 2, n), ODD: plans}, n)


def rows(data: Table) -> list[dict[str, Any]]:
    return [
        {"amount": float(data["amount"][i]), ODD: str(data[ODD][i])} for i in range(data.n_rows)
    ]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    baseline = compute_baseline(table(2_000, 0), SCHEMA)
    production = compare_to_baseline(baseline, rows(table(300, 1, shift=4.0)))
    candidate = compare_to_baseline(baseline, rows(table(20, 2)))
    return build_drift_report(
        model="fraud",
        time="2026-12-04T12:00:00Z",
        window={"start": "2026-12-04T11:00:00Z", "end": "2026-12-04T12:00:00Z"},
        production_version=3,
        versions=[
            version_section(3, {"production": 300}, production),
            version_section(4, {"candidate": 20}, candidate),
            version_section(2, {"pinned": 5}, None, "no usable training baseline"),
        ],
        quality={
            "feedback": 2,
            "matched": 1,
            "unmatched": 1,
            "overall": {"rows": 1, "mae": 0.5},
            "by_alias": {"production": {"rows": 1, "mae": 0.5}},
        },
    )


def test_the_model_verdict_is_the_production_versions(report: dict[str, Any]) -> None:
    # Then the report's verdict is version 3's, with every version's own section
    assert (report["verdict"], report["rows"]) == ("drifted", 300)
    assert report["max_psi"] >= 0.2
    assert [v["version"] for v in report["versions"]] == [3, 4, 2]
    assert report["versions"][1]["verdict"] == "no verdict"
    assert report["versions"][2]["reason"] == "no usable training baseline"
    feature = report["versions"][0]["features"][0]
    assert feature["name"] == "amount"
    assert set(feature) >= {
        "type",
        "psi",
        "ks",
        "status",
        "bins",
        "training_shares",
        "live_shares",
        "training_missing_rate",
        "live_missing_rate",
    }
    assert json.loads(json.dumps(report, allow_nan=False)) == report


def test_no_production_rows_means_no_verdict() -> None:
    report = build_drift_report(
        model="fraud", time="t", window={}, production_version=3, versions=[]
    )
    assert report["verdict"] == "no verdict"
    assert "production version 3 served no captured rows" in report["reason"]


def test_the_summary_names_the_top_features_and_the_reports(report: dict[str, Any]) -> None:
    uris = {"json": "s3://b/monitoring/fraud/reports/x/drift.json", "html": "s3://b/x.html"}

    summary = summarize(report, uris)

    assert summary["verdict"] == "drifted"
    assert [f["name"] for f in summary["top_features"]] == ["amount", ODD]
    assert set(summary["top_features"][0]) == {"name", "type", "psi", "ks", "status"}
    assert summary["report"] == uris
    assert summary["versions"] == {"3": 300, "4": 20, "2": 5}
    assert summary["quality"]["overall"]["mae"] == 0.5


def test_the_html_page_is_self_contained_and_escaped(report: dict[str, Any]) -> None:
    page = render_drift_html(report)

    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a&amp;b" in page
    assert not re.search(r"(src|href)\s*=", page)
    # One histogram per feature with a verdict or rows: version 3 and 4, two features each
    assert page.count("<svg") == 4
    assert page.count("<rect") == 2 * sum(
        len(f["bins"]) for v in report["versions"] for f in v["features"]
    )
    assert "Live quality" in page
