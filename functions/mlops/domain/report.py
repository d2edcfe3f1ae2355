"""The evaluation report: JSON data and a self-contained HTML page with inline SVG charts.

No external assets and no JavaScript; every piece of text is HTML-escaped.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mlops.domain.spec import metric_direction

Point = tuple[float, float]
CHART = 320
MARGIN = 40


class Confusion(BaseModel):
    """Rows are true classes, columns predicted classes, both in `classes` order."""

    model_config = ConfigDict(extra="forbid")

    classes: list[str]
    matrix: list[list[int]]


class ReportData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    version: int
    task: str
    metrics: dict[str, float]
    production_version: int | None = None
    production_metrics: dict[str, float] | None = None
    decision_reason: str | None = None
    confusion: Confusion | None = None
    roc: list[Point] | None = None
    residuals: list[Point] | None = Field(default=None, description="(predicted, residual)")


def build_report_json(**fields: Any) -> dict[str, Any]:
    """The report's data (ReportData's fields) as a JSON-able dict (what evaluation.json holds)."""
    return ReportData.model_validate(fields).model_dump(mode="json")


def render_report_html(**fields: Any) -> str:
    """A self-contained HTML page (what evaluation.html holds) from ReportData's fields."""
    data = ReportData.model_validate(fields)
    title = f"{data.model} v{data.version}: evaluation"
    sections = [f"<h1>{escape(title)}</h1>", f"<p>Task: {escape(data.task)}</p>"]
    if data.decision_reason is not None:
        sections.append(f"<p class='decision'>Gate: {escape(data.decision_reason)}</p>")
    sections.append(_metrics_table(data))
    if data.confusion is not None:
        sections.append("<h2>Confusion matrix</h2>" + _confusion_svg(data.confusion))
    if data.roc:
        sections.append("<h2>ROC curve</h2>" + _roc_svg(data.roc))
    if data.residuals:
        sections.append("<h2>Residuals</h2>" + _residual_svg(data.residuals))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )


_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}.better{color:#070}.worse{color:#a00}"
    "svg text{font-size:11px;font-family:sans-serif}"
)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if math.isfinite(value) else str(value)


def _metrics_table(data: ReportData) -> str:
    production = data.production_metrics or {}
    label = (
        f"production v{data.production_version}"
        if data.production_version is not None
        else "production"
    )
    rows = [
        (
            f"<tr><th>metric</th><th>candidate v{data.version}</th><th>{escape(label)}</th>"
            "<th>change</th></tr>"
        )
    ]
    for name, value in data.metrics.items():
        before = production.get(name)
        change, css = "-", ""
        if before is not None:
            delta = value - before
            change = f"{delta:+.4f}"
            try:
                gain = delta if metric_direction(name) == "max" else -delta
                css = " class='better'" if gain > 0 else " class='worse'" if gain < 0 else ""
            except ValueError:
                css = ""
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{_number(value)}</td><td>{_number(before)}</td>"
            f"<td{css}>{change}</td></tr>"
        )
    return "<h2>Metrics</h2><table>" + "".join(rows) + "</table>"


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}' "
        f"viewBox='0 0 {width:.0f} {height:.0f}' role='img' aria-label='{escape(label)}'>"
        + "".join(body)
        + "</svg>"
    )


def _confusion_svg(confusion: Confusion) -> str:
    size = len(confusion.classes)
    cell = max(24, min(60, 480 // max(size, 1)))
    left, top = 110, 30
    body = [f"<text x='{left}' y='14'>predicted &#8594;</text>"]
    for row_index, row in enumerate(confusion.matrix):
        total = sum(row) or 1
        for column_index, count in enumerate(row):
            x, y = left + column_index * cell, top + row_index * cell
            shade = count / total
            fill = f"rgb({int(255 - 200 * shade)},{int(255 - 120 * shade)},255)"
            body.append(
                f"<rect x='{x}' y='{y}' width='{cell}' height='{cell}' fill='{fill}' "
                "stroke='#fff'/>"
                f"<text x='{x + cell / 2:.1f}' y='{y + cell / 2 + 4:.1f}' "
                f"text-anchor='middle'>{count}</text>"
            )
    for index, name in enumerate(confusion.classes):
        short = escape(name[:14])
        body.append(
            f"<text x='{left - 6}' y='{top + index * cell + cell / 2 + 4:.1f}' "
            f"text-anchor='end'>{short}</text>"
            f"<text x='{left + index * cell + cell / 2:.1f}' y='{top + size * cell + 14}' "
            f"text-anchor='middle'>{short}</text>"
        )
    width, height = left + size * cell + 10, top + size * cell + 24
    return _svg(width, height, body, "confusion matrix, rows are true classes")


def _scale(value: float, low: float, high: float, pixels: float) -> float:
    return 0.0 if high == low else (value - low) / (high - low) * pixels


def _axes(x_label: str, y_label: str) -> list[str]:
    end = MARGIN + CHART
    return [
        f"<line x1='{MARGIN}' y1='{end}' x2='{end}' y2='{end}' stroke='#333'/>",
        f"<line x1='{MARGIN}' y1='{MARGIN}' x2='{MARGIN}' y2='{end}' stroke='#333'/>",
        (
            f"<text x='{MARGIN + CHART / 2}' y='{end + 28}' text-anchor='middle'>"
            f"{escape(x_label)}</text>"
        ),
        (
            f"<text x='12' y='{MARGIN + CHART / 2}' "
            f"transform='rotate(-90 12 {MARGIN + CHART / 2})' "
            f"text-anchor='middle'>{escape(y_label)}</text>"
        ),
    ]


def _roc_svg(points: list[Point]) -> str:
    end = MARGIN + CHART
    coordinates = " ".join(
        f"{MARGIN + fpr * CHART:.1f},{end - tpr * CHART:.1f}" for fpr, tpr in points
    )
    body = [
        *_axes("false positive rate", "true positive rate"),
        (
            f"<line x1='{MARGIN}' y1='{end}' x2='{end}' y2='{MARGIN}' stroke='#aaa' "
            "stroke-dasharray='4 4'/>"
        ),
        f"<polyline points='{coordinates}' fill='none' stroke='#1f5fbf' stroke-width='2'/>",
    ]
    return _svg(end + 10, end + 40, body, "ROC curve")


def _residual_svg(points: list[Point]) -> str:
    end = MARGIN + CHART
    xs = [x for x, _ in points]
    bound = max(abs(y) for _, y in points) or 1.0
    low, high = min(xs), max(xs)
    zero = end - CHART / 2
    body = [
        *_axes("predicted", "actual - predicted"),
        (
            f"<line x1='{MARGIN}' y1='{zero}' x2='{end}' y2='{zero}' stroke='#aaa' "
            "stroke-dasharray='4 4'/>"
        ),
    ]
    body.extend(
        f"<circle cx='{MARGIN + _scale(x, low, high, CHART):.1f}' "
        f"cy='{end - _scale(y, -bound, bound, CHART):.1f}' r='2.5' fill='#1f5fbf' "
        "fill-opacity='0.6'/>"
        for x, y in points
    )
    body.append(f"<text x='{MARGIN + 4}' y='{MARGIN + 12}'>&#177;{_number(bound)}</text>")
    return _svg(end + 10, end + 40, body, "residuals against predictions")
