"""One monitor tick: every model with a production version (or the one the event names).

Per model: the captures written since the last run (S3 LastModified watermark, kept in
`monitoring/<model>/state.json`) are grouped by the version that served them and compared with
that version's training baseline; the model-level drift metrics come from the rows of the
version production points to now (rows of earlier versions are reported, not published).
Feedback written since the last run is joined with its captures (live quality). Then the report
(`monitoring/<model>/reports/<time>/drift.json` and `drift.html`), `latest.json` (its summary)
and the state are written, in that order: a run that fails part-way is redone by the next one.
A redelivered event (same time as the last completed run) changes nothing.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from mlops.artifacts import ArtifactError, ArtifactStore
from mlops.domain.drift import DriftResult, DriftThresholds, compare_to_baseline
from mlops.domain.drift_report import (
    build_drift_report,
    render_drift_html,
    summarize,
    version_section,
)
from mlops.domain.live_quality import join_feedback, live_quality
from mlops.monitoring import objects
from mlops.monitoring.metrics import drift_documents, print_document, quality_documents
from mlops.pipeline.jsonio import json_bytes
from mlops.registry.entities import AliasName, ModelVersion
from mlops.registry.errors import RegistryError
from mlops.registry.store import RegistryStore

SOURCE = "mlops.monitor"
STATE_FORMAT = 1
MAX_OBJECTS = 20_000
"""Capture (and feedback) objects read per run and model; the rest wait for the next run."""
FEEDBACK_LOOKBACK_DAYS = 2
JSON, HTML = "application/json", "text/html; charset=utf-8"


class MonitorEventError(ValueError):
    """The event is not a monitor event; the message names the field at fault."""


@dataclass(frozen=True)
class MonitorEvent:
    time: datetime
    model: str | None = None
    min_rows: int | None = None

    @property
    def stamp(self) -> str:
        return self.time.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_monitor_event(event: Any) -> MonitorEvent:
    """`{"source": "mlops.monitor", "time": ISO 8601, "model"?: name, "min_rows"?: int}`."""
    if not isinstance(event, dict):
        raise MonitorEventError("the event must be a JSON object")
    if event.get("source") != SOURCE:
        raise MonitorEventError(f"source: must be {SOURCE!r}, got {event.get('source')!r}")
    try:
        moment = datetime.fromisoformat(str(event.get("time")))
    except ValueError:
        raise MonitorEventError(f"time: not an ISO 8601 time: {event.get('time')!r}") from None
    if moment.tzinfo is None:
        raise MonitorEventError(f"time: needs a time zone: {event.get('time')!r}")
    model = event.get("model")
    if model is not None and not isinstance(model, str):
        raise MonitorEventError("model: must be a model name")
    min_rows = event.get("min_rows")
    if min_rows is not None and (type(min_rows) is not int or min_rows < 1):
        raise MonitorEventError("min_rows: must be a positive integer")
    return MonitorEvent(moment.astimezone(UTC).replace(microsecond=0), model, min_rows)


@dataclass(frozen=True)
class MonitorDeps:
    s3: Any
    data_bucket: str
    store: RegistryStore
    artifacts: ArtifactStore
    emit: Callable[[dict[str, Any]], None] = print_document
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)
    max_objects: int = MAX_OBJECTS


def monitor(event: MonitorEvent, deps: MonitorDeps) -> dict[str, Any]:
    """Monitor the named model, or every model with a production version; a summary each.
    A model that fails does not stop the others: MonitorRunError after all ran."""
    if event.min_rows is not None:
        thresholds = DriftThresholds(
            deps.thresholds.warn_psi, deps.thresholds.alarm_psi, event.min_rows
        )
        deps = replace(deps, thresholds=thresholds)
    names = [event.model] if event.model else [m.name for m in deps.store.list_models()]
    summaries, failures = [], {}
    for name in names:
        try:
            summaries.append(monitor_model(name, event, deps))
        except Exception as error:  # noqa: BLE001 - one model's failure must not stop the rest
            failures[name] = f"{type(error).__name__}: {error}"
    if failures:
        raise MonitorRunError(failures, summaries)
    return {"time": event.stamp, "models": summaries}


class MonitorRunError(RuntimeError):
    def __init__(self, failures: dict[str, str], summaries: list[dict[str, Any]]) -> None:
        details = "; ".join(f"{name}: {problem}" for name, problem in sorted(failures.items()))
        super().__init__(f"monitoring failed for {len(failures)} model(s): {details}")
        self.failures = failures
        self.summaries = summaries


def monitoring_prefix(model: str) -> str:
    return f"monitoring/{model}/"


def monitor_model(model: str, event: MonitorEvent, deps: MonitorDeps) -> dict[str, Any]:
    production = deps.store.get_alias(model, AliasName.PRODUCTION)
    if production is None:
        return {"model": model, "outcome": "skipped", "reason": "no production version"}
    state_key = monitoring_prefix(model) + "state.json"
    state = objects.read_json(deps.s3, deps.data_bucket, state_key) or {}
    if state.get("last_time") == event.stamp:
        return {"model": model, "outcome": "already monitored", "time": event.stamp}
    run = _Run(model, event, deps)
    candidate = deps.store.get_alias(model, AliasName.CANDIDATE)
    captures = run.new_captures(objects.Watermark.from_dict(state.get("captures")))
    sections = run.drift(captures.by_request, production.version)
    feedback = run.new_feedback(objects.Watermark.from_dict(state.get("feedback")))
    quality = run.quality(
        feedback.items,
        captures.by_request,
        production.version,
        None if candidate is None else candidate.version,
    )
    window = {
        "start": state.get("last_time"),
        "end": event.stamp,
        "capture_objects": captures.objects,
        "captures_left_for_later": captures.left,
        "bad_lines": captures.bad_lines + feedback.bad_lines,
        "feedback_objects": feedback.objects,
    }
    report = build_drift_report(
        model=model,
        time=event.stamp,
        window=window,
        production_version=production.version,
        versions=sections,
        quality=quality,
    )
    summary = run.write(report)
    new_state = {
        "format": STATE_FORMAT,
        "last_time": event.stamp,
        "captures": captures.watermark.as_dict(),
        "feedback": feedback.watermark.as_dict(),
    }
    objects.put_bytes(deps.s3, deps.data_bucket, state_key, json_bytes(new_state), JSON)
    return {"outcome": "monitored", **_brief(summary)}


def _brief(summary: Mapping[str, Any]) -> dict[str, Any]:
    quality = summary.get("quality") or {}
    return {
        "model": summary["model"],
        "verdict": summary["verdict"],
        "rows": summary["rows"],
        "max_psi": summary["max_psi"],
        "quality_rows": (quality.get("overall") or {}).get("rows", 0),
        "report": summary["report"].get("json"),
    }


@dataclass
class _Captures:
    by_request: dict[str, list[dict[str, Any]]]
    watermark: objects.Watermark
    objects: int
    left: int
    bad_lines: int


@dataclass
class _Feedback:
    items: list[dict[str, Any]]
    watermark: objects.Watermark
    objects: int
    bad_lines: int


class _Run:
    """One model's tick: reads, statistics, metrics and writes."""

    def __init__(self, model: str, event: MonitorEvent, deps: MonitorDeps) -> None:
        self.model = model
        self.event = event
        self.deps = deps
        self.timestamp_ms = int(event.time.timestamp() * 1000)
        self._versions: dict[int, ModelVersion | None] = {}

    # ---- captures and drift -------------------------------------------------------------
    def new_captures(self, mark: objects.Watermark) -> _Captures:
        deps = self.deps
        prefix = f"captures/{self.model}/"
        found = objects.list_new(deps.s3, deps.data_bucket, prefix, mark, deps.max_objects)
        lines = objects.read_lines(deps.s3, deps.data_bucket, [o.key for o in found.objects])
        by_request: dict[str, list[dict[str, Any]]] = {}
        for rows in lines.by_key.values():
            for row in rows:
                by_request.setdefault(str(row.get("request_id")), []).append(row)
        return _Captures(
            by_request, found.watermark, len(found.objects), found.left_for_later, lines.bad_lines
        )

    def drift(
        self, by_request: Mapping[str, list[dict[str, Any]]], production: int
    ) -> list[dict[str, Any]]:
        """Each version's report section; publishes the production version's metrics."""
        grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for rows in by_request.values():
            for row in rows:
                version = row.get("version")
                if type(version) is int and isinstance(row.get("features"), dict):
                    grouped[version].append(row)
        sections = []
        for version in sorted(grouped):
            rows = grouped[version]
            routes = Counter(str(row.get("served_by", "")) for row in rows)
            result, problem = self._compare(version, [row["features"] for row in rows])
            if result is not None and version == production:
                for document in drift_documents(self.model, result, self.timestamp_ms):
                    self.deps.emit(document)
            sections.append(version_section(version, routes, result, problem))
        return sections

    def _compare(
        self, version: int, records: list[dict[str, Any]]
    ) -> tuple[DriftResult | None, str]:
        record = self._version(version)
        if record is None:
            return None, f"version {version} is not in the registry"
        uri = record.reports.get("baseline") or self.deps.artifacts.uri(
            self.model, version, "baseline.json"
        )
        try:
            baseline = json.loads(self.deps.artifacts.load(uri))
        except (ArtifactError, ValueError) as error:
            return None, f"no usable training baseline: {error}"
        return compare_to_baseline(baseline, records, self.deps.thresholds), ""

    def _version(self, version: int) -> ModelVersion | None:
        if version not in self._versions:
            try:
                self._versions[version] = self.deps.store.get_version(self.model, version)
            except RegistryError:
                self._versions[version] = None
        return self._versions[version]

    # ---- feedback and live quality ------------------------------------------------------
    def new_feedback(self, mark: objects.Watermark) -> _Feedback:
        deps = self.deps
        prefix = f"feedback/{self.model}/"
        found = objects.list_new(deps.s3, deps.data_bucket, prefix, mark, deps.max_objects)
        lines = objects.read_lines(deps.s3, deps.data_bucket, [o.key for o in found.objects])
        items = [item for rows in lines.by_key.values() for item in rows]
        return _Feedback(items, found.watermark, len(found.objects), lines.bad_lines)

    def quality(
        self,
        items: list[dict[str, Any]],
        known: Mapping[str, list[dict[str, Any]]],
        production: int,
        candidate: int | None,
    ) -> dict[str, Any] | None:
        """The window's live quality (None without feedback); publishes its metrics."""
        if not items:
            return None
        captures = dict(known)
        wanted = {str(item.get("request_id")): item for item in items}
        missing = [item for rid, item in wanted.items() if rid not in captures]
        if missing:
            with ThreadPoolExecutor(max_workers=min(objects.READ_THREADS, len(missing))) as pool:
                found = list(pool.map(self._find_capture, missing))
            for item, lines in zip(missing, found, strict=True):
                if lines:
                    captures[str(item["request_id"])] = lines
        record = self._version(production)
        task = record.task if record is not None else "binary"
        candidate_record = self._version(candidate) if candidate is not None else None
        classes = {
            "production": record.classes if record is not None else None,
            "candidate": candidate_record.classes if candidate_record is not None else None,
        }
        result = live_quality(task, join_feedback(items, captures), classes)
        for document in quality_documents(self.model, result, self.timestamp_ms):
            self.deps.emit(document)
        return result

    def _find_capture(self, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The capture of the item's request: its received day, then up to 2 days before."""
        try:
            received = datetime.fromisoformat(str(item.get("received_at"))).astimezone(UTC)
        except ValueError:
            return []
        for days in range(FEEDBACK_LOOKBACK_DAYS + 1):
            day = (received - timedelta(days=days)).date().isoformat()
            key = f"captures/{self.model}/{day}/{item.get('request_id')}.jsonl"
            body = objects.read_object(self.deps.s3, self.deps.data_bucket, key)
            if body is not None:
                return objects.parse_json_lines(body)[0]
        return []

    # ---- outputs ------------------------------------------------------------------------
    def write(self, report: dict[str, Any]) -> dict[str, Any]:
        deps, prefix = self.deps, monitoring_prefix(self.model)
        folder = f"{prefix}reports/{self.event.time.strftime('%Y-%m-%dT%H-%M-%SZ')}/"
        html = render_drift_html(report).encode()
        uris = {
            "json": objects.put_bytes(
                deps.s3, deps.data_bucket, folder + "drift.json", json_bytes(report), JSON
            ),
            "html": objects.put_bytes(deps.s3, deps.data_bucket, folder + "drift.html", html, HTML),
        }
        summary = summarize(report, uris)
        objects.put_bytes(
            deps.s3, deps.data_bucket, prefix + "latest.json", json_bytes(summary), JSON
        )
        return summary
