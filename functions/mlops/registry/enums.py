"""The registry's names and states, free of pydantic: the score path imports them."""

from __future__ import annotations

from enum import StrEnum

MODEL_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$"
"""Model names: lowercase letters, digits and single hyphens; usable in S3 keys, ARNs and
Step Functions execution names."""


class VersionStatus(StrEnum):
    REGISTERED = "registered"
    CANDIDATE = "candidate"
    PRODUCTION = "production"
    ARCHIVED = "archived"
    REJECTED = "rejected"
    FAILED = "failed"


PROMOTABLE_STATUSES = frozenset(
    {VersionStatus.REGISTERED, VersionStatus.CANDIDATE, VersionStatus.ARCHIVED}
)
"""Statuses a version may be promoted from. Rejected and failed versions never serve."""


class AliasName(StrEnum):
    PRODUCTION = "production"
    CANDIDATE = "candidate"


class TriggerKind(StrEnum):
    S3_UPLOAD = "s3-upload"
    ALARM = "alarm"
    SCHEDULE = "schedule"
    MANUAL = "manual"


class FeatureType(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


class AuditAction(StrEnum):
    MODEL_CREATED = "model-created"
    SPEC_UPDATED = "spec-updated"
    VERSION_REGISTERED = "version-registered"
    STATUS_CHANGED = "status-changed"
    ALIAS_MOVED = "alias-moved"
    ALIAS_CLEARED = "alias-cleared"
    CANDIDATE_REJECTED = "candidate-rejected"
    ROLLBACK = "rollback"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    FAILED = "failed"
