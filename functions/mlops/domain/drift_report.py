"""The drift report: JSON data and a self-contained HTML page with per-feature histograms.

One report per monitor run and model: the window, the production version's verdict, each
version's comparison with its own training baseline (mlops.domain.drift) and the live quality
summary. The HTML page has inline SVG histograms (training vs live bin shares), no external
assets and no JavaScript; every piece of text is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from mlops.domain.drift import NO_VERDICT, DriftResult

TOP_FEATURES = 5
BAR_WIDTH = 14
PLOT_HEIGHT = 140
TRAINING_COLOUR, LIVE_COLOUR = "#8aa9d6", "#e0823a"


def version_section(
    version: int, served_by: Mapping[str, int], result: DriftResult | None, problem: str = ""
) -> dict[str, Any]:
    """One version's part of the report: rows by route and its comparison (or why none)."""
    section: dict[str, Any] = {"version": version, "served_by": dict(sorted(served_by.items()))}
    if result is None:
        section.update(rows=sum(served_by.values()), verdict=NO_VERDICT, reason=problem)
        section["features"] = []
        return section
    section.update(result.as_dict())
    return section


def build_drift_report(
    *,
    model: str,
    time: str,
    window: Mapping[str, Any],
    production_version: int | None,
    versions: Sequence[Mapping[str, Any]],
    quality: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report's JSON. The model's verdict is its production version's (no verdict if that
    version served no rows in the window)."""
    production = next((v for v in versions if v["version"] == production_version), None)
    if production is None:
        reason = (
            "the model has no production version"
            if production_version is None
            else f"production version {production_version} served no captured rows"
        )
        verdict: dict[str, Any] = {
            "verdict": NO_VERDICT,
            "reason": reason,
            "rows": 0,
            "max_psi": None,
            "drifted_share": None,
        }
    else:
        verdict = {key: production.get(key) for key in ("verdict", "reason", "rows", "max_psi")} | {
            "drifted_share": production.get("drifted_share")
        }
    return {
        "model": model,
        "time": time,
        "window": dict(window),
        "production_version": production_version,
        **verdict,
        "versions": [dict(v) for v in versions],
        "quality": dict(quality) if quality is not None else None,
    }


def summarize(report: Mapping[str, Any], uris: Mapping[str, str]) -> dict[str, Any]:
    """What latest.json holds (and `mlops monitor` prints): the verdict, the production
    version's top features by PSI, the quality figures and where the full report is."""
    production = next(
        (v for v in report["versions"] if v["version"] == report["production_version"]), None
    )
    features = production["features"] if production else []
    top = [
        {key: feature[key] for key in ("name", "type", "psi", "ks", "status")}
        for feature in features[:TOP_FEATURES]
    ]
    return {
        "model": report["model"],
        "time": report["time"],
        "window": report["window"],
        "production_version": report["production_version"],
        "verdict": report["verdict"],
        "reason": report["reason"],
        "rows": report["rows"],
        "max_psi": report["max_psi"],
        "drifted_share": report["drifted_share"],
        "top_features": top,
        "versions": {str(v["version"]): v["rows"] for v in report["versions"]},
        "quality": report["quality"],
        "report": dict(uris),
    }


def render_drift_html(report: Mapping[str, Any]) -> str:
    """The report as one HTML page."""
    title = f"{report['model']}: input drift at {report['time']}"
    window = report["window"]
    parts = [
        f"<h1>{escape(title)}</h1>",
        (
            f"<p>Window: {escape(str(window.get('start') or 'first run'))} to "
            f"{escape(str(window.get('end')))}. Production version: "
            f"{escape(str(report['production_version']))}.</p>"
        ),
        (
            f"<p class='verdict'>Verdict: <b>{escape(str(report['verdict']))}</b>: "
            f"{escape(str(report['reason']))}</p>"
        ),
    ]
    if report.get("quality"):
        parts.append(_quality_table(report["quality"]))
    for version in report["versions"]:
        parts.append(_version_html(version))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )


_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:0.5em 0}"
    "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    ".drifted{color:#a00;font-weight:bold}.warn{color:#a60}.stable{color:#070}"
    "svg text{font-size:10px;font-family:sans-serif}.feature{display:inline-block;margin:1em}"
)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return escape(str(value))


def _quality_table(quality: Mapping[str, Any]) -> str:
    rows = ["<tr><th>traffic</th><th>rows</th><th>metric</th><th>value</th></tr>"]
    groups = {"all": quality.get("overall") or {}, **(quality.get("by_alias") or {})}
    for group, figures in groups.items():
        for name, value in figures.items():
            if name == "rows":
                continue
            rows.append(
                f"<tr><td>{escape(str(group))}</td><td>{_number(figures.get('rows'))}</td>"
                f"<td>{escape(str(name))}</td><td>{_number(value)}</td></tr>"
            )
    counts = (
        f"<p>Feedback items: {_number(quality.get('feedback'))}, matched "
        f"{_number(quality.get('matched'))}, unmatched {_number(quality.get('unmatched'))}.</p>"
    )
    return "<h2>Live quality</h2>" + counts + "<table>" + "".join(rows) + "</table>"


def _version_html(version: Mapping[str, Any]) -> str:
    routes = ", ".join(f"{escape(k)}: {v}" for k, v in version["served_by"].items())
    head = (
        f"<h2>Version {escape(str(version['version']))}</h2>"
        f"<p>{_number(version['rows'])} rows ({routes or 'none'}). "
        f"<span class='{_css(version['verdict'])}'>{escape(str(version['verdict']))}</span>: "
        f"{escape(str(version['reason']))}</p>"
    )
    features = version.get("features") or []
    if not features:
        return head
    rows = [
        (
            "<tr><th>feature</th><th>type</th><th>PSI</th><th>KS</th><th>status</th>"
            "<th>missing (training)</th><th>missing (live)</th></tr>"
        )
    ]
    rows.extend(
        f"<tr><td>{escape(f['name'])}</td><td>{escape(f['type'])}</td><td>{_number(f['psi'])}</td>"
        f"<td>{_number(f['ks'])}</td><td class='{_css(f['status'])}'>{escape(f['status'])}</td>"
        f"<td>{_number(f['training_missing_rate'])}</td><td>{_number(f['live_missing_rate'])}</td>"
        "</tr>"
        for f in features
    )
    charts = "".join(_histogram(f) for f in features)
    legend = (
        f"<p><span style='color:{TRAINING_COLOUR}'>&#9632;</span> training "
        f"<span style='color:{LIVE_COLOUR}'>&#9632;</span> live (share of rows per bin)</p>"
    )
    return head + "<table>" + "".join(rows) + "</table>" + legend + charts


def _css(status: str) -> str:
    return {"drifted": "drifted", "warn": "warn", "stable": "stable"}.get(status, "")


def _histogram(feature: Mapping[str, Any]) -> str:
    """Grouped bars per bin: training share, then live share; bin labels below, rotated."""
    bins: list[str] = feature["bins"]
    training: list[float] = feature["training_shares"]
    live: list[float] = feature["live_shares"]
    top = max([*training, *live, 1e-9])
    left, base = 36, 20 + PLOT_HEIGHT
    group = 2 * BAR_WIDTH + 8
    width = left + group * len(bins) + 10
    psi = _number(feature["psi"])
    body = [
        f"<text x='{left}' y='12'>{escape(feature['name'][:40])} (PSI {psi})</text>",
        f"<line x1='{left}' y1='{base}' x2='{width - 6}' y2='{base}' stroke='#333'/>",
        f"<text x='{left - 4}' y='24' text-anchor='end'>{top:.0%}</text>",
    ]
    for index, label in enumerate(bins):
        x = left + index * group + 4
        for offset, share, colour in ((0, training[index], TRAINING_COLOUR),
                                      (BAR_WIDTH, live[index], LIVE_COLOUR)):  # fmt: skip
            height = share / top * PLOT_HEIGHT
            body.append(
                f"<rect x='{x + offset}' y='{base - height:.1f}' width='{BAR_WIDTH}' "
                f"height='{height:.1f}' fill='{colour}'><title>{escape(label[:60])}: "
                f"{share:.1%}</title></rect>"
            )
        centre = x + BAR_WIDTH
        body.append(
            f"<text x='{centre}' y='{base + 10}' transform='rotate(40 {centre} {base + 10})'>"
            f"{escape(label[:18])}</text>"
        )
    height = base + 80
    return (
        f"<div class='feature'><svg xmlns='http://www.w3.org/2000/svg' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='{escape(feature['name'])}: training vs live'>"
        + "".join(body)
        + "</svg></div>"
    )
