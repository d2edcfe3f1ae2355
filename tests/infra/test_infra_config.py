"""PlatformConfig: defaults for an empty context, clear errors naming the field at fault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.config import ConfigError, PlatformConfig, load_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_empty_context_gives_a_working_default_config() -> None:
    config = load_config(None)
    assert config.models == []
    assert config.api.auth == "iam"
    assert config.api.cors_origins == []
    assert config.training.timeout_minutes == 15
    assert config.code_version  # git's short commit, or "unknown" outside a checkout


def test_cdk_json_context_is_a_valid_config() -> None:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["mlops"]
    assert isinstance(load_config(context), PlatformConfig)


def test_models_with_schedules_are_parsed() -> None:
    config = load_config(
        {"models": [{"name": "churn", "schedule": "cron(0 3 * * ? *)"}, {"name": "price"}]}
    )
    assert [(m.name, m.schedule) for m in config.models] == [
        ("churn", "cron(0 3 * * ? *)"),
        ("price", None),
    ]


@pytest.mark.parametrize(
    ("context", "field"),
    [
        ({"models": [{"name": "churn", "schedule": "every day"}]}, "mlops.models.0.schedule"),
        ({"models": [{"name": "Bad Name"}]}, "mlops.models.0.name"),
        ({"models": [{"name": "a"}, {"name": "a"}]}, "mlops.models"),
        ({"api": {"auth": "cognito"}}, "mlops.api.auth"),
        ({"serving": {"capture_sample_rate": 2}}, "mlops.serving.capture_sample_rate"),
        ({"training": {"timeout_minutes": 16}}, "mlops.training.timeout_minutes"),
        ({"notification_emails": ["not-an-address"]}, "mlops.notification_emails"),
        ({"unknown_key": 1}, "mlops.unknown_key"),
    ],
)
def test_invalid_context_names_the_field_at_fault(context: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_config(context)


def test_context_given_on_the_command_line_as_json_is_parsed() -> None:
    config = load_config('{"api": {"auth": "api_key"}}')
    assert config.api.auth == "api_key"
    with pytest.raises(ConfigError, match="mlops: not JSON"):
        load_config("{auth: api_key}")
