"""Synthesize the stack once per session (bundling skipped) and expose the template."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # `infra` is a directory of the repo, not installed
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from infra.app import STACK_NAME, build_app  # noqa: E402

SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}
TEST_CONFIG: dict[str, Any] = {
    "models": [
        {"name": "churn", "schedule": "rate(1 day)"},
        {"name": "price", "schedule": None},
    ],
    "serving": {
        "alias_refresh_seconds": 15,
        "max_records_per_request": 50,
        "max_body_bytes": 262144,
        "capture_sample_rate": 0.25,
        "memory_mb": 1536,
    },
    "api": {
        "auth": "iam",
        "cors_origins": [],
        "throttle_rate_limit": 20,
        "throttle_burst_limit": 40,
    },
    "training": {"memory_mb": 4096, "timeout_minutes": 15},
    "notification_emails": ["ops@example.com"],
    "code_version": "abc1234",
}


@dataclass(frozen=True)
class Synth:
    """One synthesized cloud assembly: the template and where its files are."""

    outdir: Path
    template: dict[str, Any]

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{STACK_NAME}.template.json"

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }

    def function(self, name: str) -> tuple[str, dict[str, Any]]:
        """(logical id, resource) of the function whose handler is mlops.handlers.<name>."""
        handler = f"mlops.handlers.{name}.handler"
        matches = [
            (logical_id, resource)
            for logical_id, resource in self.resources("AWS::Lambda::Function").items()
            if resource["Properties"].get("Handler") == handler
        ]
        assert len(matches) == 1, f"expected one function with handler {handler}"
        return matches[0]

    def role_statements(self, function_name: str) -> list[dict[str, Any]]:
        """Every IAM statement attached to the role of one function."""
        _, function = self.function(function_name)
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        statements: list[dict[str, Any]] = []
        for policy in self.resources("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        return statements

    def grants(self, function_name: str) -> list[tuple[str, str]]:
        """Allowed (action, resource) pairs of a function; resources as compact JSON."""
        pairs = []
        for statement in self.role_statements(function_name):
            if statement.get("Effect") != "Allow":
                continue
            for action in _as_list(statement["Action"]):
                for resource in _as_list(statement.get("Resource", "*")):
                    rendered = resource if isinstance(resource, str) else json.dumps(resource)
                    pairs.append((action, rendered))
        return pairs

    def actions_on(self, function_name: str, logical_id: str) -> set[str]:
        """Actions a function may take on resources that reference ``logical_id``."""
        return {a for a, resource in self.grants(function_name) if logical_id in resource}

    def services(self, function_name: str) -> set[str]:
        """Service prefixes ("s3", "dynamodb", ...) of the actions a function may take."""
        return {action.split(":", 1)[0] for action, _ in self.grants(function_name)}

    def logical_id(self, resource_type: str, path_fragment: str) -> str:
        """The logical id of the one resource of a type whose id contains path_fragment."""
        ids = [i for i in self.resources(resource_type) if path_fragment in i]
        assert len(ids) == 1, f"{resource_type} matching {path_fragment}: {ids}"
        return ids[0]

    def validation_report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads((self.outdir / "validation-report.json").read_text())
        return report


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def synthesize(outdir: Path, mlops: dict[str, Any]) -> Synth:
    """Synthesize with cdk-nag enabled: unacknowledged findings make this raise."""
    app, _ = build_app({**SKIP_BUNDLING, "mlops": mlops}, outdir=str(outdir))
    app.synth()
    template = json.loads((outdir / f"{STACK_NAME}.template.json").read_text())
    return Synth(outdir=outdir, template=template)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-default"), TEST_CONFIG)


@pytest.fixture(scope="session")
def api_key_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The same stack with API keys, CORS and SnapStart switched on by configuration."""
    config = {
        **TEST_CONFIG,
        "serving": {**TEST_CONFIG["serving"], "snap_start": True},
        "api": {
            "auth": "api_key",
            "cors_origins": ["https://app.example.com"],
            "throttle_rate_limit": 5,
            "throttle_burst_limit": 10,
        },
    }
    return synthesize(tmp_path_factory.mktemp("cdk-api-key"), config)
