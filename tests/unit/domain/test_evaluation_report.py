"""The evaluation report: self-contained HTML with inline SVG, everything escaped."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

from mlops.domain.report import build_report_json, render_report_html

HOSTILE = "<script>alert('x')</script>"


def binary_report(**overrides: object) -> dict[str, object]:
    arguments: dict[str, object] = {
        "model": "churn",
        "version": 3,
        "task": "binary",
        "metrics": {"roc_auc": 0.91, "log_loss": 0.3},
        "production_version": 2,
        "production_metrics": {"roc_auc": 0.88, "log_loss": 0.35},
        "decision_reason": "roc_auc 0.91 vs production 0.88: improvement 0.03 >= required 0",
        "confusion": {"classes": ["no", "yes"], "matrix": [[40, 5], [7, 48]]},
        "roc": [(0.0, 0.0), (0.1, 0.6), (0.4, 0.9), (1.0, 1.0)],
        "residuals": None,
    }
    arguments.update(overrides)
    return arguments


def test_the_html_has_a_metrics_table_a_heatmap_and_a_roc_curve() -> None:
    page = render_report_html(**binary_report())  # type: ignore[arg-type]

    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 2
    assert "<polyline" in page
    assert page.count("<rect") == 4
    assert ">48</text>" in page
    assert "<td>roc_auc</td><td>0.9100</td><td>0.8800</td><td class='better'>+0.0300</td>" in page
    assert "<td>log_loss</td><td>0.3000</td><td>0.3500</td><td class='better'>-0.0500</td>" in page
    assert "candidate v3" in page
    assert "production v2" in page
    assert "Gate: roc_auc 0.91 vs production 0.88" in page


def test_the_html_is_self_contained() -> None:
    page = render_report_html(**binary_report())  # type: ignore[arg-type]

    assert "<script" not in page
    assert re.search(r"(src|href)=", page) is None
    assert re.findall(r"https?://[^'\"]+", page) == ["http://www.w3.org/2000/svg"] * 2


def test_everything_is_escaped() -> None:
    page = render_report_html(
        **binary_report(  # type: ignore[arg-type]
            model=HOSTILE,
            task=HOSTILE,
            metrics={HOSTILE: 1.0},
            decision_reason=HOSTILE,
            confusion={"classes": [HOSTILE, "b&b"], "matrix": [[1, 0], [0, 1]]},
        )
    )

    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "b&amp;b" in page


def test_a_regression_report_plots_residuals() -> None:
    page = render_report_html(
        model="prices",
        version=1,
        task="regression",
        metrics={"rmse": 2.5, "r2": 0.8},
        production_version=None,
        production_metrics=None,
        decision_reason=None,
        confusion=None,
        roc=None,
        residuals=[(10.0, 1.5), (12.0, -2.0), (15.0, 0.5)],
    )

    assert page.count("<svg") == 1
    assert page.count("<circle") == 3
    assert "<td>rmse</td><td>2.5000</td><td>-</td><td>-</td>" in page
    assert "Gate:" not in page


def test_the_json_holds_the_same_data() -> None:
    report = build_report_json(**binary_report())  # type: ignore[arg-type]

    assert json.loads(json.dumps(report)) == report
    assert report["model"] == "churn"
    assert report["metrics"] == {"roc_auc": 0.91, "log_loss": 0.3}
    assert report["confusion"] == {"classes": ["no", "yes"], "matrix": [[40, 5], [7, 48]]}
    assert report["roc"][1] == [0.1, 0.6]
    assert report["residuals"] is None


def test_every_svg_is_well_formed_xml() -> None:
    page = render_report_html(
        **binary_report(  # type: ignore[arg-type]
            confusion={"classes": ["a<b", "c"], "matrix": [[1, 2], [3, 4]]}
        )
    )

    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.DOTALL)
    assert len(svgs) == 2
    for svg in svgs:
        assert ElementTree.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
