"""Score one input object: stream it in bounded blocks, write the scored rows and the rejected
rows, and record the outcome (the part record) beside the run's output."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple

from mlops.batch import keys
from mlops.batch.chunks import Chunk
from mlops.batch.csv_format import CsvLayout, parse_csv, split_header
from mlops.batch.errors import BatchInputError, BatchObjectError
from mlops.batch.jsonl_format import parse_jsonl
from mlops.batch.prefetch import prefetched
from mlops.batch.reader import Block, ReadError, body_chunks, decompressed, line_blocks
from mlops.batch.scoring import BatchModel, Scores
from mlops.batch.writer import S3Writer
from mlops.pipeline.errors import TransientError
from mlops.serving.validation import RecordValidator

_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "403", "AccessDenied", "NotFound"})
Loader = Callable[["ScoreRequest"], tuple[BatchModel, RecordValidator]]
"""The pinned (model, version, sha256) ready to score, cached per container."""


class ScoreRequest(NamedTuple):
    run_id: str
    model: str
    version: int
    sha256: str
    artifact_uri: str
    input_bucket: str
    key: str
    size: int
    output_bucket: str
    output_prefix: str
    input_prefix: str | None = None

    @classmethod
    def from_event(cls, event: Any) -> ScoreRequest:
        if not isinstance(event, dict):
            raise BatchInputError("the event must be a JSON object")
        text = ("run_id", "model", "sha256", "artifact_uri", "input_bucket", "key")
        problems = [f"{name}: must be a non-empty string" for name in text
                    if not isinstance(event.get(name), str) or not event[name]]  # fmt: skip
        for name in ("output_bucket", "output_prefix"):
            if not isinstance(event.get(name), str) or not event[name]:
                problems.append(f"{name}: must be a non-empty string")
        version = event.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            problems.append("version: must be a positive integer")
        size = event.get("size", 0)
        if type(size) is not int or size < 0:
            problems.append("size: must be a non-negative integer")
        prefix = event.get("input_prefix")
        if prefix is not None and not isinstance(prefix, str):
            problems.append("input_prefix: must be a string")
        if problems:
            raise BatchInputError("invalid batch_score event: " + "; ".join(problems))
        return cls(
            event["run_id"], event["model"], event["version"], event["sha256"],
            event["artifact_uri"], event["input_bucket"], event["key"], size,
            event["output_bucket"], event["output_prefix"], prefix,
        )  # fmt: skip


class Outcome(NamedTuple):
    part: dict[str, Any]
    stages: dict[str, float]
    """Seconds per stage: read (S3 + inflate + split), parse, score (the wait for the scoring
    thread: scoring overlaps the next chunk's parsing), format, write."""

    def summary(self) -> dict[str, Any]:
        """What the Map child returns (small: the full record is in S3)."""
        return {name: self.part[name] for name in
                ("key", "status", "rows_in", "rows_scored", "rows_rejected")}  # fmt: skip


def score_object(request: ScoreRequest, *, s3: Any, load: Loader) -> Outcome:
    """Score the object; on an unreadable one, record it failed and raise BatchObjectError."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    job = _Job(request, s3)
    try:
        if not request.key.endswith("/"):
            job.run(load)
    except (ReadError, BatchObjectError) as error:
        job.abort()
        problem = error.problem if isinstance(error, BatchObjectError) else str(error)
        job.finish(started, clock, problem)
        raise BatchObjectError(request.key, problem) from None
    except BaseException:
        job.abort()
        raise
    return Outcome(job.finish(started, clock, None), job.stages)


class _Job:
    def __init__(self, request: ScoreRequest, s3: Any) -> None:
        self.request = request
        self.s3 = s3
        self.rows_in = self.rows_scored = self.rows_rejected = 0
        self.output: S3Writer | None = None
        self.errors: S3Writer | None = None
        self.stages = dict.fromkeys(("read", "parse", "score", "format", "write"), 0.0)
        self.relative = keys.relative_key(request.key, request.input_prefix)

    def run(self, load: Loader) -> None:
        fmt, named_gzip = keys.format_of(self.request.key)
        if fmt is None:
            supported = ", ".join(sorted(keys.CSV_SUFFIXES | keys.JSONL_SUFFIXES))
            raise BatchObjectError(
                self.request.key, f"unsupported format: use {supported} (or .gz)"
            )
        model, validator = load(self.request)
        gzipped, data = decompressed(self._body(), named_gzip=named_gzip)
        reading = prefetched(line_blocks(data, quoted=fmt == "csv"))
        with contextlib.closing(reading):  # stops the reading thread on any way out
            self._score(model, validator, self._timed(reading), fmt, gzipped)

    def _score(
        self,
        model: BatchModel,
        validator: RecordValidator,
        blocks: Iterator[Block],
        fmt: keys.Format,
        gzipped: bool,
    ) -> None:
        out_key = keys.output_key(self.request.output_prefix, self.relative, fmt, gzipped)
        layout: CsvLayout | None = None
        pending: tuple[Chunk, Future[Scores]] | None = None
        # onnxruntime releases the GIL: a chunk scores while the next one is parsed
        with ThreadPoolExecutor(1, thread_name_prefix="batch-score") as scorer:
            for block in blocks:
                tick = time.perf_counter()
                if fmt == "csv":
                    if layout is None:
                        header, rest = split_header(block)
                        if not header:
                            continue
                        layout = CsvLayout(header, validator.rules)
                        self._output(out_key, gzipped, "text/csv").write(
                            model.csv_header(layout.passthrough_names).encode("utf-8")
                        )
                        block = rest  # noqa: PLW2901 - the rows after the header
                    chunk = parse_csv(block, layout)
                else:
                    self._output(out_key, gzipped, "application/x-ndjson")
                    chunk = parse_jsonl(block, validator)
                self.stages["parse"] += time.perf_counter() - tick
                scoring = scorer.submit(model.score, chunk)
                if pending is not None:
                    self._emit(model, *pending, fmt)
                pending = (chunk, scoring)
            if pending is not None:
                self._emit(model, *pending, fmt)

    def _body(self) -> Iterator[bytes]:
        request = self.request
        uri = f"s3://{request.input_bucket}/{request.key}"
        try:
            response = self.s3.get_object(Bucket=request.input_bucket, Key=request.key)
        except self.s3.exceptions.ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _MISSING_CODES:
                problem = "access denied" if code in {"403", "AccessDenied"} else "not found"
                raise BatchObjectError(request.key, problem) from None
            raise TransientError(f"S3 error reading {uri}: {code}: {error}") from error
        try:
            yield from body_chunks(response["Body"])
        except Exception as error:  # the stream broke (timeout, reset): worth a retry
            raise TransientError(f"S3 stream of {uri} broke: {error}") from error

    def _timed(self, blocks: Iterator[Block]) -> Iterator[Block]:
        while True:
            tick = time.perf_counter()
            block = next(blocks, None)
            self.stages["read"] += time.perf_counter() - tick
            if block is None:
                return
            yield block

    def _output(self, key: str, gzipped: bool, content_type: str) -> S3Writer:
        if self.output is None:
            self.output = S3Writer(
                self.s3, self.request.output_bucket, key, gzipped=gzipped, content_type=content_type
            )
        return self.output

    def _emit(self, model: BatchModel, chunk: Chunk, scoring: Future[Scores], fmt: str) -> None:
        tick = time.perf_counter()
        scores = scoring.result()
        formatted = time.perf_counter()
        text = model.csv_rows(chunk, scores) if fmt == "csv" else model.jsonl_rows(chunk, scores)
        written = time.perf_counter()
        assert self.output is not None
        self.output.write(text)
        if chunk.rejected:
            if self.errors is None:
                key = keys.errors_key(self.request.output_prefix, self.relative)
                self.errors = S3Writer(
                    self.s3, self.request.output_bucket, key, gzipped=False,
                    content_type="application/x-ndjson",
                )  # fmt: skip
            self.errors.write(
                "".join(
                    json.dumps(item._asdict(), ensure_ascii=False) + "\n" for item in chunk.rejected
                ).encode("utf-8")
            )
        done = time.perf_counter()
        self.stages["score"] += formatted - tick
        self.stages["format"] += written - formatted
        self.stages["write"] += done - written
        self.rows_in += chunk.rows_in
        self.rows_scored += chunk.rows
        self.rows_rejected += len(chunk.rejected)

    def abort(self) -> None:
        for writer in (self.output, self.errors):
            if writer is not None:
                writer.abort()

    def finish(self, started: datetime, clock: float, problem: str | None) -> dict[str, Any]:
        """Close the outputs (success) and write the part record."""
        tick = time.perf_counter()
        try:
            if problem is None:
                for writer in (self.output, self.errors):
                    if writer is not None:
                        writer.close()
        except self.s3.exceptions.ClientError as error:
            self.abort()
            raise TransientError(f"S3 error writing the output: {error}") from error
        self.stages["write"] += time.perf_counter() - tick
        failed = problem is not None
        request = self.request
        part = {
            "key": request.key,
            "size": request.size,
            "status": "failed" if failed else "succeeded",
            "rows_in": 0 if failed else self.rows_in,
            "rows_scored": 0 if failed else self.rows_scored,
            "rows_rejected": 0 if failed else self.rows_rejected,
            "output_key": None if failed or self.output is None else self.output.key,
            "errors_key": None if failed or self.errors is None else self.errors.key,
            "started_at": started.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "seconds": round(time.perf_counter() - clock, 6),
            "stages": {name: round(seconds, 6) for name, seconds in self.stages.items()},
            "error": problem,
        }
        try:
            self.s3.put_object(
                Bucket=request.output_bucket,
                Key=keys.part_key(request.output_prefix, request.key),
                Body=json.dumps(part, sort_keys=True).encode("utf-8"),
                ContentType="application/json",
            )
        except self.s3.exceptions.ClientError as error:
            raise TransientError(f"S3 error writing the part record: {error}") from error
        return part
