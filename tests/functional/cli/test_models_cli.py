"""`mlops models ...` run through the real entry point against moto's DynamoDB."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops import aws, settings
from mlops.cli import main
from mlops.local.cloud import FAKE_CREDENTIALS
from mlops.local.tables import create_registry_table
from mlops.registry import (
    ArtifactRef,
    DynamoDBRegistryStore,
    NewVersion,
    RegistryStore,
    Trigger,
    TriggerKind,
    VersionStatus,
)

TABLE = "cli-registry"
ACTOR = f"cli:{getpass.getuser()}"


@pytest.fixture
def aws_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for variable, value in {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(variable, value)
    for variable in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "MLOPS_REGISTRY_TABLE"):
        monkeypatch.delenv(variable, raising=False)
    with mock_aws():
        settings.reset_settings()
        aws.reset_clients()
        yield
    settings.reset_settings()
    aws.reset_clients()


@pytest.fixture
def registry(aws_account: None, monkeypatch: pytest.MonkeyPatch) -> RegistryStore:
    """A registry table named by the environment, as `mlops local up` would export it."""
    create_registry_table(boto3.client("dynamodb"), TABLE)
    monkeypatch.setenv("MLOPS_REGISTRY_TABLE", TABLE)
    settings.reset_settings()
    return DynamoDBRegistryStore(TABLE, boto3.client("dynamodb"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def fields_of(out: str) -> dict[str, str]:
    """The `key:  value` lines of a command's output."""
    pairs = (line.split(":", 1) for line in out.splitlines() if ":  " in line)
    return {key: value.strip() for key, value in pairs}


def version(status: VersionStatus = VersionStatus.REGISTERED, **fields: Any) -> NewVersion:
    return NewVersion(
        task="binary",
        estimator="logistic_regression",
        metrics={"roc_auc": 0.875},
        trigger=Trigger(kind=TriggerKind.S3_UPLOAD, source_id="s3://data/training/churn/a.csv"),
        artifact=ArtifactRef(uri="s3://art/models/churn/1/model.onnx", sha256="f" * 64, size=9),
        status=status,
        **fields,
    )


@pytest.fixture
def churn(registry: RegistryStore) -> str:
    """churn with v1 (registered), v2 (registered) and v3 (rejected with a reason)."""
    registry.create_model("churn", actor="setup", description="who leaves")
    registry.register_version("churn", version(), actor="setup")
    registry.register_version("churn", version(), actor="setup")
    registry.register_version(
        "churn", version(VersionStatus.REJECTED, status_reason="auc below floor"), actor="setup"
    )
    return "churn"


def test_create_then_list(registry: RegistryStore, capsys: pytest.CaptureFixture[str]) -> None:
    # When a user creates a model
    code, out, _ = run(capsys, "models", "create", "fraud", "--description", "card fraud")
    assert (code, out.strip()) == (0, "created model fraud")
    # Then it is listed in a table and as JSON
    code, out, _ = run(capsys, "models", "list")
    header, row = out.strip().splitlines()
    assert header.split()[:4] == ["MODEL", "LATEST", "PRODUCTION", "CANDIDATE"]
    assert row.split()[:4] == ["fraud", "0", "-", "-"]
    assert row.endswith("card fraud")
    code, out, _ = run(capsys, "models", "list", "--json")
    [listed] = json.loads(out)
    assert (listed["name"], listed["aliases"]) == ("fraud", {})
    # And the creation is audited with the CLI user as actor
    assert registry.history("fraud")[0].actor == ACTOR


def test_promote_canary_and_show(churn: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models", "promote", churn, "1", "--reason", "first")
    assert (code, out.strip()) == (0, "churn: production is now v1")
    code, out, _ = run(capsys, "models", "promote", churn, "2", "--canary", "0.1")
    assert code == 0
    assert out.strip() == "churn: candidate is now v2, canary: 10% of traffic"

    code, out, _ = run(capsys, "models", "list")
    assert out.strip().splitlines()[1].split()[:5] == ["churn", "3", "v1", "v2", "(10%)"]

    code, out, _ = run(capsys, "models", "show", churn)
    assert fields_of(out)["production"] == "v1"
    assert fields_of(out)["candidate"] == "v2 (10%)"
    rows = [line.split()[:2] for line in out.splitlines() if line[:2] in {"v1", "v2", "v3"}]
    assert rows == [["v3", "rejected"], ["v2", "candidate"], ["v1", "production"]]
    assert "auc below floor" in out

    code, out, _ = run(capsys, "models", "show", churn, "--alias", "candidate", "--json")
    shown = json.loads(out)
    assert (shown["version"], shown["status"], shown["metrics"]) == (
        2,
        "candidate",
        {"roc_auc": 0.875},
    )
    code, out, _ = run(capsys, "models", "show", churn, "--version", "1")
    assert fields_of(out)["status"] == "production (first)"
    assert fields_of(out)["metrics"] == "roc_auc=0.875"


def test_shadow_then_promote_the_candidate(
    churn: str, registry: RegistryStore, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "models", "promote", churn, "1")
    code, out, _ = run(capsys, "models", "promote", churn, "2", "--shadow")
    assert code == 0
    assert out.strip().endswith("shadow: scores every request, answers none")
    _, out, _ = run(capsys, "models", "promote", churn, "2", "--json")
    event = json.loads(out)
    assert (event["from_version"], event["to_version"], event["detail"]) == (
        1,
        2,
        {"candidate_cleared": True},
    )
    assert registry.resolve(churn).version == 2


def test_history_and_rollback(churn: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "models", "promote", churn, "1")
    run(capsys, "models", "promote", churn, "2")
    code, out, _ = run(capsys, "models", "rollback", churn, "--reason", "latency")
    assert (code, out.strip()) == (0, "churn: production rolled back to v1 (was v2)")
    code, out, _ = run(capsys, "models", "history", churn)
    lines = out.strip().splitlines()
    assert lines[0].split() == ["TIME", "ACTION", "ALIAS", "FROM", "TO", "ACTOR", "REASON"]
    actions = [line.split()[2] for line in lines[1:]]
    assert actions == [
        "model-created",
        *["version-registered"] * 3,
        "alias-moved",
        "alias-moved",
        "rollback",
    ]
    assert lines[-1].split()[3:] == ["production", "v2", "v1", ACTOR, "latency"]
    code, out, _ = run(capsys, "models", "history", churn, "--limit", "1", "--json")
    [event] = json.loads(out)
    assert (event["action"], event["actor"], event["reason"]) == ("rollback", ACTOR, "latency")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["models", "show", "ghost"], "error: model 'ghost' not found"),
        (["models", "show", "churn", "--version", "9"], "error: model 'churn' has no version 9"),
        (["models", "show", "churn"], None),
        (["models", "promote", "churn", "9"], "error: model 'churn' has no version 9"),
        (["models", "promote", "ghost", "1"], "error: model 'ghost' not found"),
        (
            ["models", "promote", "churn", "3"],
            "error: version 3 of 'churn' is rejected (auc below floor) and cannot be promoted",
        ),
        (
            ["models", "rollback", "churn"],
            "error: model 'churn' has no previous production version to roll back to",
        ),
        (
            ["models", "show", "churn", "--alias", "production"],
            "error: model 'churn' has no production version",
        ),
        (["models", "create", "Bad_Name"], "error: invalid model name 'Bad_Name'"),
        (["models", "create", "churn"], "error: model 'churn' already exists"),
        (["models", "promote", "churn", "1", "--canary", "2"], "error: --canary must be"),
        (["models", "clear-candidate", "churn"], "error: model 'churn' has no candidate version"),
    ],
)
def test_errors_are_one_line_and_exit_1(
    churn: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str | None
) -> None:
    code, out, err = run(capsys, *argv)
    if message is None:  # a control: the command works
        assert (code, err) == (0, "")
        return
    assert code == 1
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert out == ""


def test_a_lost_promotion_race_is_one_line(
    churn: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a promoter whose view of production is stale (another promotion landed after it read)
    stale = DynamoDBRegistryStore.get_alias
    run(capsys, "models", "promote", churn, "1")
    monkeypatch.setattr(DynamoDBRegistryStore, "get_alias", lambda self, name, alias: None)
    # When it promotes
    code, _, err = run(capsys, "models", "promote", churn, "2")
    monkeypatch.setattr(DynamoDBRegistryStore, "get_alias", stale)
    # Then it is told in one line and production did not move
    assert code == 1
    assert (
        err.strip()
        == "error: the registry of 'churn' changed while moving an alias; nothing was changed"
    )
    code, out, _ = run(capsys, "models", "show", churn, "--json")
    assert json.loads(out)["aliases"]["production"]["version"] == 1


# ---- targets: environment or stack outputs ------------------------------------------------
STACK_TEMPLATE = {
    "Resources": {
        "Registry": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
            },
        },
        "Artifacts": {"Type": "AWS::S3::Bucket"},
        "Data": {"Type": "AWS::S3::Bucket"},
    },
    "Outputs": {
        "RegistryTableName": {"Value": {"Ref": "Registry"}},
        "ArtifactBucketName": {"Value": {"Ref": "Artifacts"}},
        "DataBucketName": {"Value": {"Ref": "Data"}},
    },
}


def test_without_the_environment_the_stack_outputs_are_used(
    aws_account: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployed stack (and no MLOPS_REGISTRY_TABLE)
    boto3.client("cloudformation").create_stack(
        StackName="Staging", TemplateBody=json.dumps(STACK_TEMPLATE)
    )
    # When the user works against it by name
    code, _, err = run(capsys, "models", "create", "churn", "--stack", "Staging")
    assert (code, err) == (0, "")
    # Then the model lands in the stack's table
    outputs = boto3.client("cloudformation").describe_stacks(StackName="Staging")["Stacks"][0]
    table = next(
        o["OutputValue"] for o in outputs["Outputs"] if o["OutputKey"] == "RegistryTableName"
    )
    store = DynamoDBRegistryStore(table, boto3.client("dynamodb"))
    assert [record.name for record in store.list_models()] == ["churn"]


def test_a_missing_stack_is_one_line(aws_account: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "models", "list")
    assert code == 1
    assert err.startswith("error: stack 'Mlops' not found")
    assert err.count("\n") == 1


def test_clearing_the_candidate(churn: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "models", "promote", churn, "2", "--canary", "0.5")
    code, out, _ = run(capsys, "models", "clear-candidate", churn, "--reason", "errors")
    assert (code, out.strip()) == (0, "churn: candidate cleared (was v2)")
    _, out, _ = run(capsys, "models", "show", churn, "--version", "2")
    assert fields_of(out)["status"] == "archived (candidate cleared: errors)"


@pytest.mark.parametrize(
    "command",
    [("models", "list"), ("runs", "list", "churn"), ("runs", "show", "r1"), ("specs", "show", "x")],
)
def test_a_missing_table_is_one_line_for_every_command_group(
    aws_account: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
) -> None:
    monkeypatch.setenv("MLOPS_REGISTRY_TABLE", "no-such-table")
    settings.reset_settings()
    code, _, err = run(capsys, *command)
    assert code == 1
    assert (
        err == "error: the registry table does not exist: check MLOPS_REGISTRY_TABLE or --stack\n"
    )


def test_invalid_settings_are_one_line(
    aws_account: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_REGISTRY_TABLE", "x")
    settings.reset_settings()
    code, _, err = run(capsys, "models", "list")
    assert code == 1
    assert err.startswith("error: invalid settings: MLOPS_REGISTRY_TABLE:")
    assert err.count("\n") == 1
