"""The score Lambda: API Gateway REST proxy events -> the scoring API (mlops.serving.api).

Carries only the base and scoring layers: nothing on this import path loads scikit-learn,
scipy or pandas.
"""

from __future__ import annotations

from typing import Any

from mlops.serving.api import handle
from mlops.serving.telemetry import logger


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context)
