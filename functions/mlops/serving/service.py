"""The scoring service: route a request to a version, validate, score, record. No HTTP here.

Canary: when the split sends a request to a candidate that cannot answer (it failed to load,
or its scoring raised an unexpected error), production answers it instead, the failure is
logged and counted (CanaryFailed), and the caller sees production's answer. A request the
candidate's own validation refuses is the request's fault, not the candidate's: it is refused
(4xx) as with any version that was routed to, and counts as no candidate failure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from mlops.domain.onnx_model import ModelOutput
from mlops.registry.enums import AliasName
from mlops.serving.errors import ModelNotFoundError, ModelUnavailableError, ServingError
from mlops.serving.model_cache import AliasEntry, LoadedModel, ModelCache
from mlops.serving.recording import Recorder
from mlops.serving.routing import goes_to_canary, is_captured
from mlops.serving.telemetry import Telemetry, logger
from mlops.serving.validation import PredictRequest, parse_feedback, parse_predict_request

if TYPE_CHECKING:
    from mlops.registry.store import RegistryStore

SERVED_BY_PRODUCTION = "production"
SERVED_BY_CANDIDATE = "candidate"
SERVED_BY_PINNED = "pinned"


class Route(NamedTuple):  # built per request: half the cost of a frozen dataclass
    primary: LoadedModel
    served_by: str
    shadow: LoadedModel | None = None
    fallback: LoadedModel | None = None
    """Production, when the canary split chose the candidate: it answers if the candidate fails."""
    canary_failed: bool | None = None
    """None: the split did not choose the candidate; else whether the candidate failed."""


class ServingLimits(NamedTuple):
    max_records: int
    capture_sample_rate: float
    max_body_bytes: int


class ScoringService:
    def __init__(
        self,
        open_store: Callable[[], RegistryStore],
        cache: ModelCache,
        recorder: Recorder,
        telemetry: Telemetry,
        limits: ServingLimits,
    ) -> None:
        self._open_store = open_store  # list_models only: the registry's full store, on demand
        self._cache = cache
        self._recorder = recorder
        self._telemetry = telemetry
        self._limits = limits

    @property
    def cache(self) -> ModelCache:
        return self._cache

    @property
    def limits(self) -> ServingLimits:
        return self._limits

    # ---- predict ------------------------------------------------------------------------
    def predict(self, name: str, document: Any, request_id: str) -> dict[str, Any]:
        started = time.perf_counter()
        request = parse_predict_request(document, max_records=self._limits.max_records)
        route = self.route(name, request, request_id)
        if route.fallback is None:
            served = route.primary
            output = served.model.predict_records(served.validator.validate(request.records))
        else:
            route, output = self._score_canary(route, route.fallback, request, request_id)
            served = route.primary
        predictions = format_predictions(output, served.record.classes)
        latency_ms = (time.perf_counter() - started) * 1000.0
        self._telemetry.prediction(
            name,
            served.version,
            latency_ms=latency_ms,
            predictions=predictions,
            classes=served.record.classes,
            canary_failed=route.canary_failed,
        )
        shadow = self._score_shadow(route, request, predictions, request_id)
        if is_captured(request_id, self._limits.capture_sample_rate):
            self._capture(route, request, predictions, shadow, request_id)
        return {
            "model": name,
            "version": served.version,
            "request_id": request_id,
            "served_by": route.served_by,
            "predictions": predictions,
        }

    def route(self, name: str, request: PredictRequest, request_id: str) -> Route:
        """Pinned version, explicit alias, else production with the candidate's canary/shadow."""
        if request.version is not None:
            return Route(self._cache.pinned(name, request.version), SERVED_BY_PINNED)
        production = self._cache.production(name)
        if request.alias is AliasName.PRODUCTION:
            return Route(production, SERVED_BY_PRODUCTION)
        candidate = self._cache.alias(name, AliasName.CANDIDATE)
        if request.alias is AliasName.CANDIDATE:
            if candidate.state is None:
                raise ModelNotFoundError(f"model {name!r} has no candidate version")
            if candidate.serving is None:
                msg = f"model {name!r} candidate version {candidate.state.version} cannot serve"
                raise ModelUnavailableError(msg)
            return Route(candidate.serving, SERVED_BY_CANDIDATE)
        return self._split(production, candidate, request_id)

    @staticmethod
    def _split(production: LoadedModel, candidate: AliasEntry, request_id: str) -> Route:
        """Default traffic: the candidate in shadow, or its canary share by request id (a
        candidate that failed to load leaves its share to production, counted as failed)."""
        state = candidate.state
        if state is None:
            return Route(production, SERVED_BY_PRODUCTION)
        if state.shadow:
            return Route(production, SERVED_BY_PRODUCTION, shadow=candidate.serving)
        if goes_to_canary(request_id, state.weight):
            if candidate.serving is None:
                _log_canary_failure(request_id, production, state.version, candidate.load_error)
                return Route(production, SERVED_BY_PRODUCTION, canary_failed=True)
            return Route(
                candidate.serving, SERVED_BY_CANDIDATE, fallback=production, canary_failed=False
            )
        return Route(production, SERVED_BY_PRODUCTION)

    @staticmethod
    def _score_canary(
        route: Route, production: LoadedModel, request: PredictRequest, request_id: str
    ) -> tuple[Route, ModelOutput]:
        """Score with the canary candidate; production answers if it fails unexpectedly."""
        candidate = route.primary
        try:
            return route, candidate.model.predict_records(
                candidate.validator.validate(request.records)
            )
        except ServingError:
            raise  # the request's own fault: refused as from any routed version
        except Exception as error:  # noqa: BLE001 - the caller must get production's answer
            _log_canary_failure(request_id, production, candidate.version, str(error))
        fallback = Route(production, SERVED_BY_PRODUCTION, canary_failed=True)
        records = production.validator.validate(request.records)
        return fallback, production.model.predict_records(records)

    def _score_shadow(
        self,
        route: Route,
        request: PredictRequest,
        answered: list[dict[str, Any]],
        request_id: str,
    ) -> list[dict[str, Any]] | None:
        """Score with the shadow candidate; its failures are logged, never returned."""
        shadow = route.shadow
        if shadow is None:
            return None
        try:
            records = shadow.validator.validate(request.records)
            predictions = format_predictions(
                shadow.model.predict_records(records), shadow.record.classes
            )
        except Exception:  # noqa: BLE001 - the shadow must never break the caller's answer
            logger.exception("shadow scoring failed", extra={"request_id": request_id})
            return None
        disagreements = sum(
            a.get("label", a.get("value")) != b.get("label", b.get("value"))
            for a, b in zip(answered, predictions, strict=True)
        )
        self._telemetry.shadow(shadow.name, shadow.version, disagreements=disagreements)
        logger.info(
            "shadow scored",
            extra={
                "request_id": request_id,
                "model": shadow.name,
                "production_version": route.primary.version,
                "shadow_version": shadow.version,
                "disagreements": disagreements,
            },
        )
        return predictions

    def _capture(
        self,
        route: Route,
        request: PredictRequest,
        predictions: list[dict[str, Any]],
        shadow: list[dict[str, Any]] | None,
        request_id: str,
    ) -> None:
        at = self._recorder.timestamp().isoformat()
        lines = []
        for index, (record, prediction) in enumerate(
            zip(request.records, predictions, strict=True)
        ):
            line: dict[str, Any] = {
                "request_id": request_id,
                "record": index,
                "at": at,
                "model": route.primary.name,
                "version": route.primary.version,
                "served_by": route.served_by,
                "features": record,
                "prediction": prediction,
            }
            if shadow is not None and route.shadow is not None:
                line["shadow"] = {"version": route.shadow.version, "prediction": shadow[index]}
            lines.append(line)
        try:
            self._recorder.capture(route.primary.name, request_id, lines)
        except Exception:  # noqa: BLE001 - a failed capture must not fail the prediction
            logger.exception("capture failed", extra={"request_id": request_id})

    # ---- models, feedback ---------------------------------------------------------------
    def list_models(self) -> dict[str, Any]:
        models = []
        store = self._open_store()
        for record in store.list_models():
            production = store.get_alias(record.name, AliasName.PRODUCTION)
            candidate = store.get_alias(record.name, AliasName.CANDIDATE)
            models.append(
                {
                    "name": record.name,
                    "description": record.description,
                    "latest_version": record.latest_version,
                    "production_version": production.version if production else None,
                    "candidate_version": candidate.version if candidate else None,
                }
            )
        return {"models": models}

    def describe_model(self, name: str) -> dict[str, Any]:
        production = self._cache.production(name)
        record = production.record
        candidate = self._cache.alias(name, AliasName.CANDIDATE)
        return {
            "name": name,
            "production_version": record.version,
            "task": record.task,
            "estimator": record.estimator,
            "classes": record.classes,
            "metrics": record.metrics,
            "feature_schema": record.feature_schema,
            "candidate": None
            if candidate.state is None
            else {
                "version": candidate.state.version,
                "weight": candidate.state.weight,
                "shadow": candidate.state.shadow,
            },
        }

    def feedback(self, name: str, document: Any) -> dict[str, Any]:
        production = self._cache.production(name)
        items = parse_feedback(
            document, max_items=self._limits.max_records, classes=production.record.classes
        )
        try:
            key = self._recorder.feedback(name, items)
        except Exception as error:
            logger.exception("feedback could not be stored", extra={"model": name})
            msg = "the feedback could not be stored; retry later"
            raise ModelUnavailableError(msg) from error
        return {"model": name, "accepted": len(items), "key": key}


def _log_canary_failure(
    request_id: str, production: LoadedModel, candidate_version: int, error: str | None
) -> None:
    logger.error(
        "canary candidate could not answer; production answered instead",
        extra={
            "request_id": request_id,
            "model": production.name,
            "candidate_version": candidate_version,
            "production_version": production.version,
            "error": error,
        },
    )


def format_predictions(output: ModelOutput, classes: list[str] | None) -> list[dict[str, Any]]:
    """Per record: {"label", "probabilities": {class: p}} or {"value"}; plain JSON floats."""
    if output.values is not None:  # a non-finite regression output (overflow) becomes null
        return [{"value": v if math.isfinite(v) else None} for v in output.values.tolist()]
    probabilities = output.probabilities.tolist() if output.probabilities is not None else None
    labels = output.labels.tolist() if output.labels is not None else None
    count = len(labels) if labels is not None else len(probabilities or [])
    predictions: list[dict[str, Any]] = []
    for index in range(count):
        prediction: dict[str, Any] = {}
        if labels is not None:
            prediction["label"] = labels[index]
        if probabilities is not None:
            row = probabilities[index]
            names = classes if classes and len(classes) == len(row) else map(str, range(len(row)))
            prediction["probabilities"] = dict(zip(names, row, strict=True))
        predictions.append(prediction)
    return predictions
