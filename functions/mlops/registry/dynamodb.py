"""DynamoDB registry store: one table (`pk`/`sk`, no index), every change one conditional write.

Version numbers come from a counter on the model item, bumped in the same transaction that
puts the version (conditioned on the counter's value and on the version being new); a lost
race is retried with jittered backoff. Alias moves are one transaction conditioned on the
alias document read and on each version's status, with the audit event inside it: a lost race
changes nothing and raises ConcurrentUpdateError.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import random
import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from mlops.registry import items, layout, transitions
from mlops.registry.entities import (
    AliasName,
    AliasState,
    ArtifactRef,
    AuditAction,
    AuditEvent,
    ModelRecord,
    ModelVersion,
    NewVersion,
    Page,
    Run,
    RunStatus,
    RunStep,
    VersionStatus,
    utc_now,
    validate_model_name,
)
from mlops.registry.errors import (
    ConcurrentUpdateError,
    ModelExistsError,
    ModelNotFoundError,
    RegistryError,
    RunNotFoundError,
    VersionNotFoundError,
)
from mlops.registry.layout import Item, n, s
from mlops.registry.store import UNCHECKED, ExpectedProduction, RegistryStore

MAX_ATTEMPTS = 30
"""Attempts at a contended write (a version number, a run) or at unprocessed batch reads."""

RETRYABLE_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


class TransactionCancelledError(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


class DynamoDBRegistryStore(RegistryStore):
    """The registry on a DynamoDB table, through a low-level boto3 DynamoDB client."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        self._client = client

    # ---- models -------------------------------------------------------------------------
    def create_model(
        self, name: str, *, actor: str, description: str = "", spec: dict[str, Any] | None = None
    ) -> ModelRecord:
        validate_model_name(name)
        transitions.check_actor(actor)
        now = utc_now()
        record = ModelRecord(
            name=name, description=description, spec=spec, created_at=now, updated_at=now
        )
        event = transitions.new_event(name, AuditAction.MODEL_CREATED, actor, now)
        try:
            self._transact(
                self._put(items.model_item(record), "attribute_not_exists(pk)"),
                self._put({**layout.catalog_key(name), "name": s(name)}),
                self._put(items.audit_item(event), "attribute_not_exists(pk)"),
            )
        except TransactionCancelledError as error:
            raise ModelExistsError(name) from error
        return record

    def put_spec(self, name: str, spec: dict[str, Any], *, actor: str) -> ModelRecord:
        validate_model_name(name)
        with contextlib.suppress(ModelExistsError):
            self.create_model(name, actor=actor)
        now = utc_now()
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": layout.model_key(name),
                "UpdateExpression": "SET spec = :spec, updated_at = :now",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {
                    ":spec": layout.json_s(spec),
                    ":now": s(now.isoformat()),
                },
            }
        }
        event = transitions.new_event(name, AuditAction.SPEC_UPDATED, actor, now)
        try:
            self._transact(update, self._put(items.audit_item(event), "attribute_not_exists(pk)"))
        except TransactionCancelledError as error:
            raise ModelNotFoundError(name) from error
        return self.get_model(name)

    def get_model(self, name: str) -> ModelRecord:
        item = self._get(layout.model_key(name))
        if item is None:
            raise ModelNotFoundError(name)
        return items.model_from_item(item)

    def list_models(self) -> list[ModelRecord]:
        catalog = self._query(layout.CATALOG_PK, "MODEL#")
        keys = [layout.model_key(item["name"]["S"]) for item in catalog]
        records = [items.model_from_item(item) for item in self._batch_get(keys)]
        return sorted(records, key=lambda record: record.name)

    # ---- versions -----------------------------------------------------------------------
    def register_version(self, name: str, draft: NewVersion, *, actor: str) -> ModelVersion:
        transitions.check_draft(draft)
        transitions.check_actor(actor)
        for attempt in range(MAX_ATTEMPTS):
            latest = self.get_model(name).latest_version
            now = utc_now()
            version = ModelVersion(
                **draft.model_dump(), model=name, version=latest + 1, created_at=now, updated_at=now
            )
            event = transitions.registered_event(version, actor)
            counter = {
                "Update": {
                    "TableName": self.table_name,
                    "Key": layout.model_key(name),
                    "UpdateExpression": "SET latest_version = :next, updated_at = :now",
                    "ConditionExpression": "latest_version = :latest",
                    "ExpressionAttributeValues": {
                        ":next": n(version.version),
                        ":latest": n(latest),
                        ":now": s(now.isoformat()),
                    },
                }
            }
            try:
                self._transact(
                    counter,
                    self._put(items.version_item(version), "attribute_not_exists(pk)"),
                    self._put(items.audit_item(event), "attribute_not_exists(pk)"),
                )
            except TransactionCancelledError as error:
                if not RETRYABLE_REASONS.intersection(error.reasons):
                    raise
                _backoff(attempt)
                continue
            return version
        msg = f"could not allocate a version number for {name!r}: too much contention"
        raise ConcurrentUpdateError(msg)

    def get_version(self, name: str, version: int) -> ModelVersion:
        item = self._get(layout.version_key(name, version))
        if item is None:
            self.get_model(name)
            raise VersionNotFoundError(name, version)
        return items.version_from_item(item)

    def list_versions(self, name: str, *, limit: int = 50, next_token: str | None = None) -> Page:
        transitions.check_page_limit(limit)
        start = _decode_token(next_token, name)
        self.get_model(name)
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": s(f"MODEL#{name}"),
                ":prefix": s(layout.VERSION_PREFIX),
            },
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit + 1,
        }
        if start is not None:
            request["ExclusiveStartKey"] = start
        found = self._client.query(**request)["Items"]
        page = [items.version_from_item(item) for item in found[:limit]]
        token = None
        if len(found) > limit:
            last = found[limit - 1]
            token = _encode_token({"pk": last["pk"], "sk": last["sk"]})
        return Page(items=page, next_token=token)

    def update_version(
        self,
        name: str,
        version: int,
        *,
        actor: str,
        status: VersionStatus | None = None,
        reason: str | None = None,
        expected_statuses: frozenset[VersionStatus] | None = None,
        metrics: dict[str, float] | None = None,
        reports: dict[str, str] | None = None,
        artifact: ArtifactRef | None = None,
    ) -> ModelVersion:
        transitions.check_actor(actor)
        status = VersionStatus(status) if status is not None else None
        current = self.get_version(name, version)
        if status is not None:
            transitions.check_status_update(current, status, expected_statuses)
        else:
            transitions.check_expected(current, expected_statuses)
        now = utc_now()
        assignments = ["updated_at = :now"]
        names: dict[str, str] = {"#status": "status"}
        values: dict[str, Any] = {":now": s(now.isoformat())}
        conditions = ["attribute_exists(pk)"]
        if artifact is not None and transitions.check_artifact(current, artifact):
            names["#artifact"] = layout.ARTIFACT_ATTRIBUTE
            values[":artifact"] = items.artifact_s(artifact)
            assignments.append("#artifact = :artifact")
            conditions.append("attribute_not_exists(#artifact)")
        for attribute, updates in (("metrics", metrics), ("reports", reports)):
            for index, (key, value) in enumerate((updates or {}).items()):
                placeholder = f"{attribute[0]}{index}"
                names[f"#{placeholder}"] = key
                values[f":{placeholder}"] = layout.json_s(value)
                names[f"#{attribute}"] = attribute
                assignments.append(f"#{attribute}.#{placeholder} = :{placeholder}")
        allowed = set(expected_statuses or VersionStatus)
        if status is not None:
            allowed = {current.status}  # exact, so the audit event's "from" is true
            assignments += ["#status = :status", "status_reason = :reason"]
            values |= {":status": s(status.value), ":reason": layout.optional_s(reason)}
        for index, allowed_status in enumerate(sorted(allowed)):
            values[f":allowed{index}"] = s(allowed_status.value)
        conditions.append(f"#status IN ({', '.join(f':allowed{i}' for i in range(len(allowed)))})")
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": layout.version_key(name, version),
                "UpdateExpression": "SET " + ", ".join(assignments),
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        writes = [update]
        if status is not None:
            event = transitions.status_event(current, status, reason, actor, now)
            writes.append(self._put(items.audit_item(event), "attribute_not_exists(pk)"))
        try:
            self._transact(*writes)
        except TransactionCancelledError as error:
            fresh = self.get_version(name, version)
            if status is None:
                transitions.check_expected(fresh, expected_statuses)
            else:
                transitions.check_status_update(fresh, status, expected_statuses)
            transitions.check_artifact(fresh, artifact)
            msg = f"version {version} of {name!r} changed meanwhile; try again"
            raise ConcurrentUpdateError(msg) from error
        return self.get_version(name, version)

    # ---- aliases ------------------------------------------------------------------------
    def get_alias(self, name: str, alias: AliasName) -> AliasState | None:
        item = self._get(layout.alias_key(name, alias))
        return items.alias_from_item(item) if item else None

    def promote(
        self,
        name: str,
        version: int,
        *,
        actor: str,
        reason: str = "",
        canary_weight: float | None = None,
        shadow: bool = False,
        expected_production: ExpectedProduction = UNCHECKED,
        expected_candidate: int | None = None,
    ) -> AuditEvent:
        target = self.get_version(name, version)
        plan = transitions.plan_promotion(
            target,
            self.get_alias(name, AliasName.PRODUCTION),
            self.get_alias(name, AliasName.CANDIDATE),
            actor=actor,
            reason=reason,
            canary_weight=canary_weight,
            shadow=shadow,
            now=utc_now(),
            expected_production=expected_production,
            expected_candidate=expected_candidate,
        )
        return self._apply(name, plan)

    def clear_candidate(self, name: str, *, actor: str, reason: str = "") -> AuditEvent:
        self.get_model(name)
        plan = transitions.plan_clear_candidate(
            name,
            self.get_alias(name, AliasName.CANDIDATE),
            actor=actor,
            reason=reason,
            now=utc_now(),
        )
        return self._apply(name, plan)

    def reject_candidate(
        self, name: str, *, actor: str, reason: str, expected_version: int
    ) -> AuditEvent:
        self.get_model(name)
        plan = transitions.plan_reject_candidate(
            name,
            self.get_alias(name, AliasName.CANDIDATE),
            actor=actor,
            reason=reason,
            expected_version=expected_version,
            now=utc_now(),
        )
        return self._apply(name, plan)

    def rollback(self, name: str, *, actor: str, reason: str = "") -> AuditEvent:
        self.get_model(name)
        plan = transitions.plan_rollback(
            name,
            self.get_alias(name, AliasName.PRODUCTION),
            self.get_alias(name, AliasName.CANDIDATE),
            lambda number: self.get_version(name, number),
            actor=actor,
            reason=reason,
            now=utc_now(),
        )
        return self._apply(name, plan)

    def history(self, name: str, *, limit: int = 100) -> list[AuditEvent]:
        transitions.check_page_limit(limit)
        self.get_model(name)
        newest = self._client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": s(f"MODEL#{name}"),
                ":prefix": s(layout.AUDIT_PREFIX),
            },
            ScanIndexForward=False,
            ConsistentRead=True,
            Limit=limit,
        )["Items"]
        return [items.audit_from_item(item) for item in reversed(newest)]

    def _apply(self, name: str, plan: transitions.MovePlan) -> AuditEvent:
        """Write a plan in one transaction conditioned on every value it was planned from."""
        writes: list[dict[str, Any]] = []
        for change in plan.aliases:
            condition, values = "attribute_not_exists(pk)", {}
            if change.before is not None:
                expected = items.alias_condition(change.before)
                condition = "version = :version AND moved_at = :moved_at"
                values = {":version": expected["version"], ":moved_at": expected["moved_at"]}
            if change.after is None:
                op = {"Key": layout.alias_key(name, change.alias)}
                writes.append({"Delete": self._conditional(op, condition, values)})
            else:
                op = {"Item": items.alias_item(change.after)}
                writes.append({"Put": self._conditional(op, condition, values)})
        for status in plan.statuses:
            update = {
                "Key": layout.version_key(name, status.version),
                "UpdateExpression": "SET #status = :after, status_reason = :reason, "
                "updated_at = :now",
                "ExpressionAttributeNames": {"#status": "status"},
            }
            values = {
                ":before": s(status.before.value),
                ":after": s(status.after.value),
                ":reason": layout.optional_s(status.reason),
                ":now": s(plan.event.at.isoformat()),
            }
            writes.append({"Update": self._conditional(update, "#status = :before", values)})
        writes.append(self._put(items.audit_item(plan.event), "attribute_not_exists(pk)"))
        try:
            self._transact(*writes)
        except TransactionCancelledError as error:
            msg = f"the registry of {name!r} changed while moving an alias; nothing was changed"
            raise ConcurrentUpdateError(msg) from error
        return plan.event

    # ---- runs ---------------------------------------------------------------------------
    def create_run(self, run: Run) -> Run:
        for attempt in range(MAX_ATTEMPTS):
            try:
                self._transact(
                    self._put(items.run_item(run), "attribute_not_exists(pk)"),
                    self._put(items.run_index_item(run)),
                )
            except TransactionCancelledError as error:
                if "ConditionalCheckFailed" in error.reasons:
                    return self.get_run(run.run_id)  # created before: idempotent
                if "TransactionConflict" not in error.reasons:
                    raise
                _backoff(attempt)
                continue
            return run
        msg = f"could not record run {run.run_id!r}: too much contention"
        raise ConcurrentUpdateError(msg)

    def get_run(self, run_id: str) -> Run:
        item = self._get(layout.run_key(run_id))
        if item is None:
            raise RunNotFoundError(run_id)
        return items.run_from_item(item)

    def list_runs(self, name: str, *, limit: int = 50) -> list[Run]:
        transitions.check_page_limit(limit)
        index = self._client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": s(f"MODEL#{name}"), ":prefix": s(layout.RUN_PREFIX)},
            ScanIndexForward=False,
            ConsistentRead=True,
            Limit=limit,
        )["Items"]
        run_ids = [item["run_id"]["S"] for item in index]
        found = {
            run.run_id: run
            for run in map(
                items.run_from_item, self._batch_get([layout.run_key(rid) for rid in run_ids])
            )
        }
        return [found[run_id] for run_id in run_ids if run_id in found]

    def record_run_step(self, run_id: str, step: RunStep) -> Run:
        return self._update_run(
            run_id, "SET steps = list_append(steps, :step)", {":step": {"L": [items.doc(step)]}}
        )

    def finish_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        reason: str | None = None,
        version: int | None = None,
    ) -> Run:
        return self._update_run(
            run_id,
            "SET #status = :status, reason = :reason, version = :version, finished_at = :now",
            {
                ":status": s(RunStatus(status).value),
                ":reason": layout.optional_s(reason),
                ":version": {"NULL": True} if version is None else n(version),
                ":now": s(utc_now().isoformat()),
            },
            {"#status": "status"},
        )

    def _update_run(
        self,
        run_id: str,
        expression: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> Run:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": layout.run_key(run_id),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
        }
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            response = self._client.update_item(**request)
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                raise RunNotFoundError(run_id) from error
            raise
        return items.run_from_item(response["Attributes"])

    # ---- low-level helpers --------------------------------------------------------------
    def _get(self, key: Item) -> Item | None:
        response = self._client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True)
        found: Item | None = response.get("Item")
        return found

    def _query(self, pk: str, prefix: str) -> Iterator[Item]:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": s(pk), ":prefix": s(prefix)},
            "ConsistentRead": True,
        }
        while True:
            response = self._client.query(**request)
            yield from response["Items"]
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _batch_get(self, keys: list[Item]) -> Iterator[Item]:
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {
                self.table_name: {"Keys": keys[start : start + 100], "ConsistentRead": True}
            }
            for attempt in range(MAX_ATTEMPTS):
                response = self._client.batch_get_item(RequestItems=pending)
                yield from response["Responses"].get(self.table_name, [])
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                _backoff(attempt)
            else:  # never return a listing with entries silently missing
                msg = f"DynamoDB left {self.table_name} keys unread after {MAX_ATTEMPTS} attempts"
                raise RegistryError(msg)

    def _put(self, item: Item, condition: str | None = None) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table_name, "Item": item}
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def _conditional(
        self, op: dict[str, Any], condition: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        request = {"TableName": self.table_name, **op, "ConditionExpression": condition}
        if values:
            request["ExpressionAttributeValues"] = values
        return request

    def _transact(self, *writes: dict[str, Any]) -> None:
        try:
            self._client.transact_write_items(TransactItems=list(writes))
        except ClientError as error:
            if _error_code(error) != "TransactionCanceledException":
                raise
            reasons = [
                reason.get("Code", "None")
                for reason in error.response.get("CancellationReasons", [])
            ]
            raise TransactionCancelledError(reasons) from error


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _backoff(attempt: int) -> None:
    """Full-jitter exponential backoff, capped at a quarter second."""
    time.sleep(random.uniform(0, min(0.25, 0.005 * 2**attempt)))  # noqa: S311 - jitter, not crypto


def _encode_token(key: Item) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def _decode_token(token: str | None, name: str) -> Item | None:
    if token is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
        if key["pk"] != s(f"MODEL#{name}") or not key["sk"]["S"].startswith(layout.VERSION_PREFIX):
            raise ValueError(token)
    except (ValueError, TypeError, KeyError, binascii.Error) as error:
        msg = f"next_token: not a token this registry returned: {token!r}"
        raise ValueError(msg) from error
    decoded: Item = key
    return decoded
