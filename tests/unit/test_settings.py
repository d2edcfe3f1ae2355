"""Settings from the environment: defaults, bounds, strict parsing, every problem at once."""

from __future__ import annotations

import dataclasses

import pytest

from mlops import settings
from mlops.settings import Settings, SettingsError

DEFAULTS = {
    "registry_table": "mlops-registry",
    "artifact_bucket": "mlops-artifacts",
    "data_bucket": "mlops-data",
    "notification_topic_arn": None,
    "training_state_machine_arn": None,
    "batch_state_machine_arn": None,
    "code_version": "unknown",
    "alias_refresh_seconds": 30.0,
    "max_records_per_request": 100,
    "max_body_bytes": 1_048_576,
    "capture_sample_rate": 0.0,
}


def problems(environ: dict[str, str]) -> list[tuple[str, str]]:
    with pytest.raises(SettingsError) as caught:
        Settings.from_environment(environ)
    return caught.value.problems


def test_an_empty_environment_gives_the_defaults_and_no_fields_set() -> None:
    empty = Settings.from_environment({})
    assert empty.as_dict() == DEFAULTS
    assert empty.fields_set == frozenset()
    assert empty == Settings()


def test_values_from_the_environment_are_parsed_and_marked_as_set() -> None:
    environ = {
        "MLOPS_REGISTRY_TABLE": "registry-x",
        "MLOPS_NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:topic",
        "MLOPS_CODE_VERSION": "",
        "MLOPS_ALIAS_REFRESH_SECONDS": "15.0",
        "MLOPS_MAX_RECORDS_PER_REQUEST": " 50 ",
        "MLOPS_MAX_BODY_BYTES": "262144",
        "MLOPS_CAPTURE_SAMPLE_RATE": "2.5e-1",
    }
    configured = Settings.from_environment(environ)
    assert configured.as_dict() == {
        **DEFAULTS,
        "registry_table": "registry-x",
        "notification_topic_arn": "arn:aws:sns:us-east-1:123456789012:topic",
        "code_version": "",
        "alias_refresh_seconds": 15.0,
        "max_records_per_request": 50,
        "max_body_bytes": 262_144,
        "capture_sample_rate": 0.25,
    }
    assert configured.fields_set == {
        "registry_table",
        "notification_topic_arn",
        "code_version",
        "alias_refresh_seconds",
        "max_records_per_request",
        "max_body_bytes",
        "capture_sample_rate",
    }
    assert isinstance(configured.max_body_bytes, int)
    assert isinstance(configured.alias_refresh_seconds, float)


def test_a_default_value_given_explicitly_is_still_set() -> None:
    configured = Settings.from_environment({"MLOPS_REGISTRY_TABLE": "mlops-registry"})
    assert configured == Settings()
    assert configured.fields_set == {"registry_table"}


def test_unknown_and_unprefixed_variables_are_ignored() -> None:
    environ = {
        "MLOPS_NO_SUCH_SETTING": "x",
        "MLOPS_FIELDS_SET": "registry_table",
        "MLOPS_registry_table": "lowercase-is-not-read",
        "REGISTRY_TABLE": "unprefixed",
        "MAX_BODY_BYTES": "1",
    }
    configured = Settings.from_environment(environ)
    assert configured.as_dict() == DEFAULTS
    assert configured.fields_set == frozenset()


def test_the_process_environment_is_read_once_until_reset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLOPS_DATA_BUCKET", "first-bucket")
    settings.reset_settings()
    first = settings.get_settings()
    monkeypatch.setenv("MLOPS_DATA_BUCKET", "second-bucket")
    assert settings.get_settings() is first
    settings.reset_settings()
    assert settings.get_settings().data_bucket == "second-bucket"
    monkeypatch.delenv("MLOPS_DATA_BUCKET")
    settings.reset_settings()


@pytest.mark.parametrize(
    ("variable", "inside", "outside", "problem"),
    [
        ("MLOPS_REGISTRY_TABLE", "abc", "ab", "must be at least 3 characters long"),
        ("MLOPS_ARTIFACT_BUCKET", "abc", "ab", "must be at least 3 characters long"),
        ("MLOPS_DATA_BUCKET", "abc", "", "must be at least 3 characters long"),
        ("MLOPS_ALIAS_REFRESH_SECONDS", "0", "-0.001", "must be at least 0"),
        ("MLOPS_MAX_RECORDS_PER_REQUEST", "1", "0", "must be at least 1"),
        ("MLOPS_MAX_RECORDS_PER_REQUEST", "10000", "10001", "must be at most 10000"),
        ("MLOPS_MAX_BODY_BYTES", "1024", "1023", "must be at least 1024"),
        ("MLOPS_MAX_BODY_BYTES", "6291456", "6291457", "must be at most 6291456"),
        ("MLOPS_CAPTURE_SAMPLE_RATE", "0", "-0.01", "must be at least 0"),
        ("MLOPS_CAPTURE_SAMPLE_RATE", "1", "1.01", "must be at most 1"),
    ],
)
def test_every_bound_is_inclusive(variable: str, inside: str, outside: str, problem: str) -> None:
    name = variable.removeprefix("MLOPS_").lower()
    accepted = Settings.from_environment({variable: inside})
    value = accepted.as_dict()[name]
    assert value == (inside if isinstance(value, str) else float(inside))
    assert accepted.fields_set == {name}
    assert problems({variable: outside}) == [(name, problem)]


def test_unbounded_settings_take_any_finite_value() -> None:
    configured = Settings.from_environment({"MLOPS_ALIAS_REFRESH_SECONDS": "1e9"})
    assert configured.alias_refresh_seconds == 1e9


@pytest.mark.parametrize(
    "text",
    ["abc", "", " ", "1.5", "1.0", "1e3", "1_000", "0x10", "true", "+-5", "\uff11\uff12", "\u0663"],
)
def test_integers_are_parsed_strictly(text: str) -> None:
    assert problems({"MLOPS_MAX_RECORDS_PER_REQUEST": text}) == [
        ("max_records_per_request", "must be an integer")
    ]


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "1e400",
        "1_0",
        "0x1p-2",
        "true",
        "\u0660",
    ],
)
def test_floats_must_be_finite_decimal_numbers(text: str) -> None:
    assert problems({"MLOPS_CAPTURE_SAMPLE_RATE": text}) == [
        ("capture_sample_rate", "must be a finite number")
    ]


@pytest.mark.parametrize(("text", "number"), [("+7", 7), (" 42\n", 42), ("0010", 10)])
def test_integers_may_have_a_sign_and_surrounding_space(text: str, number: int) -> None:
    environ = {"MLOPS_MAX_RECORDS_PER_REQUEST": text}
    assert Settings.from_environment(environ).max_records_per_request == number
    assert problems({"MLOPS_MAX_RECORDS_PER_REQUEST": "-5"}) == [
        ("max_records_per_request", "must be at least 1")
    ]


def test_every_bad_setting_is_reported_at_once_by_its_variable() -> None:
    environ = {
        "MLOPS_REGISTRY_TABLE": "x",
        "MLOPS_DATA_BUCKET": "fine-bucket",
        "MLOPS_MAX_RECORDS_PER_REQUEST": "1.5",
        "MLOPS_MAX_BODY_BYTES": "1",
        "MLOPS_CAPTURE_SAMPLE_RATE": "nan",
    }
    with pytest.raises(SettingsError) as caught:
        Settings.from_environment(environ)
    assert caught.value.problems == [
        ("registry_table", "must be at least 3 characters long"),
        ("max_records_per_request", "must be an integer"),
        ("max_body_bytes", "must be at least 1024"),
        ("capture_sample_rate", "must be a finite number"),
    ]
    assert str(caught.value) == (
        "MLOPS_REGISTRY_TABLE: must be at least 3 characters long; "
        "MLOPS_MAX_RECORDS_PER_REQUEST: must be an integer; "
        "MLOPS_MAX_BODY_BYTES: must be at least 1024; "
        "MLOPS_CAPTURE_SAMPLE_RATE: must be a finite number"
    )
    assert isinstance(caught.value, ValueError)


def test_typed_values_are_checked_too() -> None:
    values = {
        "registry_table": 123,
        "notification_topic_arn": 5,
        "code_version": None,
        "max_records_per_request": True,
        "max_body_bytes": 2048.0,
        "alias_refresh_seconds": float("inf"),
        "ignored": object(),
    }
    with pytest.raises(SettingsError) as caught:
        Settings.from_values(values)
    assert caught.value.problems == [
        ("registry_table", "must be a string"),
        ("notification_topic_arn", "must be a string"),
        ("code_version", "must be a string"),
        ("alias_refresh_seconds", "must be a finite number"),
        ("max_records_per_request", "must be an integer"),
        ("max_body_bytes", "must be an integer"),
    ]
    good = Settings.from_values({"max_body_bytes": 2048, "capture_sample_rate": 1, "x": 1})
    assert good.capture_sample_rate == 1.0
    assert isinstance(good.capture_sample_rate, float)
    assert good.fields_set == {"max_body_bytes", "capture_sample_rate"}


def test_direct_construction_validates() -> None:
    assert Settings(max_body_bytes=4096).max_body_bytes == 4096
    with pytest.raises(SettingsError, match=r"^MLOPS_MAX_BODY_BYTES: must be at least 1024$"):
        Settings(max_body_bytes=1)


def test_replace_validates_and_adds_to_the_fields_set() -> None:
    configured = Settings.from_environment({"MLOPS_CODE_VERSION": "abc1234"})
    updated = configured.replace(registry_table="from-stack", data_bucket="data-from-stack")
    assert updated.registry_table == "from-stack"
    assert updated.code_version == "abc1234"
    assert updated.fields_set == {"code_version", "registry_table", "data_bucket"}
    assert configured.registry_table == "mlops-registry"
    assert configured.replace(max_body_bytes="2048").max_body_bytes == 2048
    with pytest.raises(SettingsError) as caught:
        configured.replace(registry_table="x", max_body_bytes="big")
    assert caught.value.problems == [
        ("registry_table", "must be at least 3 characters long"),
        ("max_body_bytes", "must be an integer"),
    ]
    with pytest.raises(TypeError):
        configured.replace(no_such_field="x")


def test_settings_are_frozen_slotted_and_hashable() -> None:
    configured = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        configured.registry_table = "other"  # type: ignore[misc]
    assert not hasattr(configured, "__dict__")
    assert hash(configured) == hash(Settings.from_environment({"MLOPS_CODE_VERSION": "unknown"}))


def test_as_dict_round_trips_through_the_environment() -> None:
    configured = Settings(
        registry_table="reg", notification_topic_arn="arn:x", capture_sample_rate=0.5
    )
    environ = {
        f"MLOPS_{name.upper()}": str(value)
        for name, value in configured.as_dict().items()
        if value is not None
    }
    assert Settings.from_environment(environ) == configured
