"""The Validate step: fingerprint the data file, validate it against the spec, store the report."""

from __future__ import annotations

from typing import Any

from mlops.artifacts import split_s3_uri
from mlops.domain.dataset import Table
from mlops.domain.snapshot import SNAPSHOT_SUFFIX, table_to_npz
from mlops.domain.validation import validate_bytes
from mlops.pipeline.errors import ObjectUnreadableError
from mlops.pipeline.jsonio import json_bytes
from mlops.pipeline.payloads import PipelineInput, ValidationResult
from mlops.pipeline.recording import ensure_run, recorded_step
from mlops.pipeline.s3io import put_object, read_object
from mlops.pipeline.specs import run_spec
from mlops.registry.entities import ArtifactRef, DataFingerprint
from mlops.registry.store import RegistryStore

STAGING_PREFIX = "staging/"
"""Artifact-bucket prefix of what one run hands from step to step (expires after days)."""


def validation_report_uri(artifact_bucket: str, run_id: str) -> str:
    return f"s3://{artifact_bucket}/runs/{run_id}/validation.json"


def _write_snapshot(s3: Any, artifact_bucket: str, run_id: str, table: Table) -> ArtifactRef:
    """Store the validated rows for Train: it fits on exactly these, and never parses again.
    They are staged for the run only: `staging/` expires (the file and its sha256 stay the
    record of what was trained on)."""
    uri = f"s3://{artifact_bucket}/{STAGING_PREFIX}{run_id}/validated{SNAPSHOT_SUFFIX}"
    body = table_to_npz(table)
    digest = put_object(s3, uri, body, "application/octet-stream")
    return ArtifactRef(uri=uri, sha256=digest, size=len(body))


def run_validation(
    payload: PipelineInput, *, store: RegistryStore, s3: Any, artifact_bucket: str
) -> ValidationResult:
    """Validate the run's data; an invalid or unreadable file is a result, not an error."""
    ensure_run(store, payload)
    with recorded_step(store, payload.run_id, "validate") as step:
        spec = run_spec(payload, store)
        report: dict[str, Any]
        snapshot: ArtifactRef | None = None
        try:
            data = read_object(s3, payload.data_uri)
        except ObjectUnreadableError as error:
            fingerprint = DataFingerprint(uri=payload.data_uri, rows=0)
            report = {
                "valid": False,
                "reason": str(error),
                "checks": [{"name": "readable", "passed": False, "detail": error.problem}],
                "rows": 0,
            }
        else:
            _, key = split_s3_uri(payload.data_uri)
            validation, table = validate_bytes(data.body, key, spec)
            report = validation.model_dump(mode="json")
            fingerprint = DataFingerprint(
                uri=payload.data_uri, sha256=data.sha256, etag=data.etag, rows=validation.rows
            )
            if validation.valid and table is not None:
                snapshot = _write_snapshot(s3, artifact_bucket, payload.run_id, table)
        report_uri = validation_report_uri(artifact_bucket, payload.run_id)
        document = {
            **report,
            "run_id": payload.run_id,
            "model": payload.model,
            "data": fingerprint.model_dump(mode="json"),
        }
        put_object(s3, report_uri, json_bytes(document), "application/json")
        result = ValidationResult(
            valid=bool(report["valid"]),
            reason=report.get("reason"),
            report_uri=report_uri,
            data=fingerprint,
            table=snapshot,
        )
        step.outcome = "valid" if result.valid else "invalid"
        step.detail = {"rows": fingerprint.rows, "report_uri": report_uri}
        if result.reason:
            step.detail["reason"] = result.reason
        return result
