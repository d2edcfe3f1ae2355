"""CloudWatch's Embedded Metric Format extraction, done locally: EMF lines become metrics.

In AWS, CloudWatch Logs turns every EMF document a Lambda writes to stdout into metric data.
Locally, while the cloud runs, stdout is teed: each complete line that is an EMF document
(serving telemetry's `sys.stdout.write`, Powertools Metrics' `print`, the monitor's output)
is put into moto's CloudWatch with its Timestamp, every directive's namespace, each of its
dimension sets and each metric's unit; array values become one datapoint each. Every line,
EMF or not, still reaches the stream it was written to, unchanged (as in a Lambda log).

Test runners swap `sys.stdout` between phases, so the tee is also installed around each
in-process Lambda call (unless one of ours is already in place): what a handler prints is
ingested whoever owns `sys.stdout` at that moment.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO, cast
from unittest import mock

from moto.cloudwatch.models import cloudwatch_backends

from mlops.local.names import Place

LOGGER = logging.getLogger(__name__)
MAX_VALUES = 100
"""EMF allows up to 100 values per metric (an array)."""


def datapoints(document: Any) -> list[tuple[str, dict[str, Any]]]:
    """(namespace, put_metric_data entry) for every metric of an EMF document; [] if the
    document is not EMF. Metrics without a numeric value and dimension sets naming a missing
    or non-string member are skipped, as CloudWatch skips them."""
    if not isinstance(document, dict):
        return []
    metadata = document.get("_aws")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("CloudWatchMetrics"), list):
        return []
    timestamp = _timestamp(metadata.get("Timestamp"))
    if timestamp is None:
        return []
    found = []
    for directive in metadata["CloudWatchMetrics"]:
        if not isinstance(directive, dict) or not isinstance(directive.get("Namespace"), str):
            continue
        dimension_sets = [
            dimensions
            for names in directive.get("Dimensions") or [[]]
            if (dimensions := _dimensions(document, names)) is not None
        ]
        for metric in directive.get("Metrics") or []:
            name = metric.get("Name") if isinstance(metric, dict) else None
            values = _values(document.get(name)) if isinstance(name, str) else []
            if not values:
                continue
            entry: dict[str, Any] = {"MetricName": name, "Timestamp": timestamp}
            unit = metric.get("Unit")
            if isinstance(unit, str) and unit:
                entry["Unit"] = unit
            for dimensions in dimension_sets:
                for value in values:
                    found.append(
                        (
                            directive["Namespace"],
                            {**entry, "Dimensions": dimensions, "Value": value},
                        )
                    )
    return found


def _timestamp(value: Any) -> datetime | None:
    """EMF's epoch milliseconds as moto keeps times: naive UTC."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value / 1000.0, UTC).replace(tzinfo=None)


def _dimensions(document: dict[str, Any], names: Any) -> list[dict[str, str]] | None:
    if not isinstance(names, list):
        return None
    dimensions = []
    for name in names:
        value = document.get(name) if isinstance(name, str) else None
        if not isinstance(value, str):
            return None
        dimensions.append({"Name": name, "Value": value})
    return dimensions


def _values(value: Any) -> list[float]:
    candidates = value[:MAX_VALUES] if isinstance(value, list) else [value]
    return [
        float(item)
        for item in candidates
        if isinstance(item, int | float) and not isinstance(item, bool) and math.isfinite(item)
    ]


class MetricsIngester:
    """Puts the EMF documents written to stdout into moto's CloudWatch of one account/region."""

    def __init__(self, place: Place) -> None:
        self.place = place
        self.ingested = 0
        self._lock = threading.RLock()

    def ingest(self, line: str) -> int:
        """Ingest one line if it is an EMF document; returns the datapoints it gave."""
        text = line.strip()
        if not text.startswith("{") or '"_aws"' not in text:
            return 0
        try:
            found = datapoints(json.loads(text))
            backend = cloudwatch_backends[self.place.account][self.place.region]
            for namespace, entry in found:
                backend.put_metric_data(namespace, [entry])
        except Exception as error:  # noqa: BLE001 - a bad line must never break its writer
            LOGGER.warning("EMF line not ingested: %s", error)
            return 0
        self.ingested += len(found)
        return len(found)

    @contextmanager
    def installed(self, lambdas: Any) -> Iterator[None]:
        """Tee sys.stdout while open, and around every call of `lambdas.call` (the in-process
        Lambdas' one entry)."""
        tee = _Tee(sys.stdout, self)
        teed = sys.stdout = cast("TextIO", tee)
        original: Callable[..., Any] = lambdas.call

        def call(*args: Any, **kwargs: Any) -> Any:
            with self.redirected():
                return original(*args, **kwargs)

        try:
            with mock.patch.object(lambdas, "call", call):
                yield
        finally:
            tee.active = False
            if sys.stdout is teed:
                sys.stdout = tee.stream

    @contextmanager
    def redirected(self) -> Iterator[None]:
        """Tee sys.stdout for the block, unless one of this ingester's tees already is it."""
        with self._lock:
            current = sys.stdout
            if isinstance(current, _Tee) and current.active and current.ingester is self:
                yield
                return
            tee = _Tee(current, self)
            teed = sys.stdout = cast("TextIO", tee)
            try:
                yield
            finally:
                tee.active = False
                if sys.stdout is teed:
                    sys.stdout = current


class _Tee:
    """A text stream that writes through and hands each complete line to the ingester (lines
    are assembled per thread: print() writes the text and the newline separately)."""

    def __init__(self, stream: TextIO, ingester: MetricsIngester) -> None:
        self.stream = stream
        self.ingester = ingester
        self.active = True
        self._pending = threading.local()

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        if self.active and text:
            pending: str = getattr(self._pending, "text", "") + text
            *lines, rest = pending.split("\n")
            self._pending.text = rest
            for line in lines:
                self.ingester.ingest(line)
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, isatty, buffer, ...
        return getattr(self.stream, name)
