"""batch_manifest Lambda: write the run's manifest from the input listing and the part records."""

from __future__ import annotations

from typing import Any

from mlops.aws import client
from mlops.batch import manifest_io
from mlops.batch.errors import BatchInputError
from mlops.batch.manifest import build_manifest
from mlops.observability import logger, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    run = event.get("run") if isinstance(event, dict) else None
    needed = ("run_id", "model", "input_bucket", "input_prefix", "output_bucket", "output_prefix")
    if not isinstance(run, dict) or any(not isinstance(run.get(n), str) for n in needed):
        msg = f"invalid batch_manifest event: run must be an object with {', '.join(needed)}"
        raise BatchInputError(msg)
    logger.append_keys(run_id=run["run_id"], model=run["model"])
    s3 = client("s3")
    result = build_manifest(
        event,
        list_objects=manifest_io.list_objects(s3),
        read_json=manifest_io.read_json(s3),
        write_json=manifest_io.write_json(s3),
    )
    logger.info("manifest written", extra=result)
    return result
